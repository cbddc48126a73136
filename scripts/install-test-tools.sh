#!/usr/bin/env bash
# Installs the pinned external tools that Vane's tests run for real:
# promtool and the Prometheus server, built from their Go modules.
# Binaries are cached in .tools/bin (git-ignored); a second run is a no-op.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"

stamp() { echo "$bin/.$1.$PROMETHEUS_VERSION"; }

install_prom_cmd() {
  local name="$1"
  if [ -x "$bin/$name" ] && [ -f "$(stamp "$name")" ]; then
    echo "test-tools: $name $PROMETHEUS_VERSION already in .tools/bin"
    return
  fi
  echo "test-tools: building $name from github.com/prometheus/prometheus/cmd/$name@$PROMETHEUS_VERSION (a few minutes the first time)..."
  local start=$SECONDS
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "github.com/prometheus/prometheus/cmd/$name@$PROMETHEUS_VERSION"
  touch "$(stamp "$name")"
  echo "test-tools: $name ready in $((SECONDS - start))s"
}

install_prom_cmd promtool
install_prom_cmd prometheus

# Sloth's CLI, for the test that compares its alerts with Vane's.
SLOTH_VERSION="${SLOTH_VERSION:-v0.16.0}"
if [ -x "$bin/sloth" ] && [ -f "$bin/.sloth.$SLOTH_VERSION" ]; then
  echo "test-tools: sloth $SLOTH_VERSION already in .tools/bin"
else
  echo "test-tools: building sloth from github.com/slok/sloth/cmd/sloth@$SLOTH_VERSION..."
  start=$SECONDS
  GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "github.com/slok/sloth/cmd/sloth@$SLOTH_VERSION"
  touch "$bin/.sloth.$SLOTH_VERSION"
  echo "test-tools: sloth ready in $((SECONDS - start))s"
fi
"$bin/promtool" --version | head -1
