package slo

import (
	"fmt"
	"sort"
	"strings"
)

// UnknownFieldMsg is the message for a field name that is not one of
// allowed: the allowed fields and, when one is close (a typo), the closest.
// Config files use it too, so every unknown field in Vane reads the same.
func UnknownFieldMsg(name string, allowed []string) string {
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	msg := fmt.Sprintf("unknown field (allowed: %s)", strings.Join(sorted, ", "))
	if c := Closest(name, allowed); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return msg
}

// Closest returns the candidate nearest to name by edit distance, when it
// is near enough to be a typo of it (at most a third of its letters, and at
// least one, differ); "" otherwise.
func Closest(name string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(name)/3) {
		return ""
	}
	return best
}

// editDistance is the optimal-string-alignment distance of a and b, in
// bytes: insertions, deletions, substitutions and swaps of two neighbours
// ("xsd" for "xds") cost 1 each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
