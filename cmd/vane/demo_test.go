package main

import (
	"bytes"
	"strings"
	"testing"
)

// The demo's end-to-end run is tested once, in package demo
// (TestRunRollsBackTheBadCanaryAndPromotesTheGoodOne, which also checks
// the narration `vane demo` prints); here only the command's own flag
// checks are: TestDemoRejectsBadFlags checks that bad flag values are
// refused, each error naming its flag.
func TestDemoRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--bad-error-ratio", "1.5"},
		{"demo", "--bad-latency", "-1s"},
		{"demo", "--rate", "-3"},
	} {
		var out, errOut bytes.Buffer
		root := newRootCmd(&out, &errOut)
		root.SetArgs(args)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[1], "")) {
			t.Errorf("%v: error %v does not name %s", args, err, args[1])
		}
	}
}
