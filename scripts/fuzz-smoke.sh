#!/usr/bin/env bash
# Runs every Go fuzz target in the repository for a few seconds each, so that
# the parsers are fuzzed on every `make test` (the seed corpora also run as
# ordinary tests under `go test`).
#
# The budget is a number of executions (a few seconds per target here), not
# a duration: with a duration, the go command can report a spurious
# "context deadline exceeded" failure when time runs out while a worker is
# busy on a loaded machine.
set -euo pipefail
FUZZTIME="${FUZZTIME:-30000x}"
cd "$(dirname "$0")/.."
found=0
while IFS= read -r file; do
  dir="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    found=$((found + 1))
    echo "fuzz: $dir $target for $FUZZTIME"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$dir"
  done
done < <(git ls-files '*_test.go' 2>/dev/null | xargs -r grep -l '^func Fuzz' || true)
echo "fuzz: $found target(s) ran"
