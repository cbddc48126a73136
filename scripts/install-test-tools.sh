#!/usr/bin/env bash
# Installs the pinned external tools that Vane's tests run for real:
# promtool and the Prometheus server, built from their Go modules, Sloth's
# CLI, Alertmanager from Debian's prometheus-alertmanager package (its
# Go module does not build without the web UI's assets), and kube-apiserver
# with etcd (scripts/install-kube-apiserver.sh).
# Binaries are cached in .tools/bin (git-ignored); a second run is a no-op.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

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

# Alertmanager, for the prom package's client tests. Debian's package ships
# /usr/bin/prometheus-alertmanager; tests find it as .tools/bin/alertmanager.
AM_PACKAGE=prometheus-alertmanager
AM_BIN=/usr/bin/prometheus-alertmanager
if [ ! -x "$AM_BIN" ]; then
  use_root alertmanager "$AM_PACKAGE"
  echo "test-tools: installing alertmanager from the Debian package $AM_PACKAGE (apt-get)..."
  start=$SECONDS
  # The package's postinst would start its daemon on :9093 (and enable
  # the systemd unit).
  apt_install_service "$AM_PACKAGE" "$AM_PACKAGE"
  if pgrep -f "^$AM_BIN" >/dev/null 2>&1; then
    echo "test-tools: warning: a $AM_PACKAGE daemon is still running; stop it (it listens on :9093)" >&2
  fi
  if [ ! -x "$AM_BIN" ]; then
    echo "test-tools: apt-get installed $AM_PACKAGE but $AM_BIN is missing" >&2
    exit 1
  fi
  echo "test-tools: alertmanager ready in $((SECONDS - start))s"
else
  echo "test-tools: alertmanager already installed ($AM_BIN)"
fi
ln -sf "$AM_BIN" "$bin/alertmanager"

# Chromium, for the test that renders the web UI in a real browser. Debian's
# package ships /usr/bin/chromium; tests find it as .tools/bin/chromium.
CHROMIUM_BIN=/usr/bin/chromium
if [ ! -x "$CHROMIUM_BIN" ]; then
  use_root chromium chromium
  echo "test-tools: installing chromium from the Debian package chromium (apt-get; a minute or two)..."
  start=$SECONDS
  apt_install chromium
  if [ ! -x "$CHROMIUM_BIN" ]; then
    echo "test-tools: apt-get installed chromium but $CHROMIUM_BIN is missing" >&2
    exit 1
  fi
  echo "test-tools: chromium ready in $((SECONDS - start))s"
else
  echo "test-tools: chromium already installed ($CHROMIUM_BIN)"
fi
ln -sf "$CHROMIUM_BIN" "$bin/chromium"

# kube-apiserver and etcd, for the Kubernetes actuator's tests (the
# binary is cached outside the clone; see the script).
bash "$root/scripts/install-kube-apiserver.sh"

# The first line of each tool's version (read whole: with pipefail, head
# closing the pipe early would fail the script with SIGPIPE).
# A tool that prints its version on stderr (alertmanager) is read there.
first_line() {
  local out
  out="$("$@" 2>/dev/null || true)"
  [ -n "$out" ] || out="$("$@" 2>&1 || true)"
  printf '%s\n' "${out%%$'\n'*}"
}
first_line "$bin/promtool" --version
first_line "$bin/alertmanager" --version
first_line "$bin/chromium" --version
first_line "$bin/kube-apiserver" --version
first_line "$bin/etcd" --version
