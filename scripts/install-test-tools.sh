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

# use_root TOOL PACKAGE sets as_root to the prefix that runs apt-get as root
# (nothing when root, "sudo -n" when allowed), or fails saying what to run.
use_root() {
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "test-tools: $1 is missing and installing it needs root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $2" >&2
    echo "then run make test-tools again." >&2
    exit 1
  fi
}

# Alertmanager, for the prom package's client tests. Debian's package ships
# /usr/bin/prometheus-alertmanager; tests find it as .tools/bin/alertmanager.
AM_PACKAGE=prometheus-alertmanager
AM_BIN=/usr/bin/prometheus-alertmanager
if [ ! -x "$AM_BIN" ]; then
  use_root alertmanager "$AM_PACKAGE"
  echo "test-tools: installing alertmanager from the Debian package $AM_PACKAGE (apt-get)..."
  start=$SECONDS
  # The package's postinst starts its daemon on :9093 through invoke-rc.d
  # (and enables the systemd unit). A policy-rc.d answering 101 ("action
  # forbidden") keeps invoke-rc.d from starting it; an existing policy is
  # left as it is.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  remove_policy() { if [ "$made_policy" = 1 ]; then "${as_root[@]}" rm -f "$policy"; made_policy=0; fi; }
  trap remove_policy EXIT
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$AM_PACKAGE" >/dev/null
  remove_policy
  trap - EXIT
  # Whatever the policy was, leave no service running or enabled: tests
  # start their own Alertmanager on free ports.
  if command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl disable --now "$AM_PACKAGE.service" >/dev/null 2>&1 || true
    else # no systemd running (containers): disable the unit offline
      "${as_root[@]}" systemctl disable "$AM_PACKAGE.service" >/dev/null 2>&1 || true
    fi
  fi
  if [ -x "/etc/init.d/$AM_PACKAGE" ]; then
    "${as_root[@]}" "/etc/init.d/$AM_PACKAGE" stop >/dev/null 2>&1 || true
    "${as_root[@]}" update-rc.d "$AM_PACKAGE" disable >/dev/null 2>&1 || true
  fi
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
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
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

"$bin/promtool" --version | head -1
"$bin/alertmanager" --version 2>&1 | head -1
"$bin/chromium" --version 2>/dev/null | head -1
"$bin/kube-apiserver" --version 2>/dev/null | head -1
"$bin/etcd" --version 2>/dev/null | head -1
