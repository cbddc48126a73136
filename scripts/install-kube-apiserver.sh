#!/usr/bin/env bash
# Builds kube-apiserver (for the Kubernetes actuator's tests against a real
# API server) and links it into .tools/bin, with etcd beside it.
#
# kube-apiserver is built from k8s.io/kubernetes at KUBE_VERSION in a scratch
# module outside the project (its dependencies must not enter Vane's go.mod):
# k8s.io/kubernetes' own go.mod replaces its staging modules by ./staging/...,
# so the scratch module replaces each of them by the published v0.x release.
# The binary is cached outside the clone, in
# ${XDG_CACHE_HOME:-$HOME/.cache}/vane-tools/kube-apiserver-$KUBE_VERSION, so a
# fresh clone on the same machine reuses it; a second run is a no-op.
#
# etcd comes from Debian's etcd-server package (apt-get, as root).
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vane-tools"
mkdir -p "$bin" "$cache"

apiserver="$cache/kube-apiserver-$KUBE_VERSION"
if [ -x "$apiserver" ]; then
  echo "test-tools: kube-apiserver $KUBE_VERSION already built ($apiserver)"
else
  echo "test-tools: building kube-apiserver $KUBE_VERSION from k8s.io/kubernetes (7-20 minutes the first time)..."
  start=$SECONDS
  # A scratch directory of its own, so that two clones building at once
  # do not share one; the binary is moved into place atomically.
  scratch="$(mktemp -d "$cache/kube-apiserver-build-$KUBE_VERSION.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
  (
    cd "$scratch"
    export GOFLAGS="-mod=mod"
    go mod init vane.local/kube-apiserver-build >/dev/null 2>&1
    staging_minor="v0.${KUBE_VERSION#v1.}"
    # The staging modules kubernetes' go.mod replaces by ./staging/...
    gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    if [ ! -f "$gomod" ]; then
      echo "test-tools: could not find the go.mod of k8s.io/kubernetes@$KUBE_VERSION" >&2
      exit 1
    fi
    mods="$(sed -n 's/^[[:space:]]*\(k8s\.io\/[^ ]*\) => \.\/staging\/.*$/\1/p' "$gomod")"
    if [ -z "$mods" ]; then
      echo "test-tools: no staging replacements found in $gomod" >&2
      exit 1
    fi
    args=()
    for m in $mods; do args+=("-replace=$m=$m@$staging_minor"); done
    go mod edit "${args[@]}"
    go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
    printf 'package tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' > tools.go
    go mod tidy
    go build -o kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
    mv kube-apiserver "$apiserver"
  )
  rm -rf "$scratch"
  trap - EXIT
  echo "test-tools: kube-apiserver ready in $((SECONDS - start))s"
fi
ln -sf "$apiserver" "$bin/kube-apiserver"

ETCD_BIN=/usr/bin/etcd
if [ ! -x "$ETCD_BIN" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "test-tools: etcd is missing and installing it needs root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends etcd-server" >&2
    echo "then run make test-tools again." >&2
    exit 1
  fi
  echo "test-tools: installing etcd from the Debian package etcd-server (apt-get)..."
  # The package's postinst may start a daemon on :2379; a policy-rc.d
  # answering 101 keeps invoke-rc.d from starting it.
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
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
  remove_policy
  trap - EXIT
  # Leave no etcd service running or enabled: tests start their own etcd
  # on free ports.
  if command -v systemctl >/dev/null 2>&1; then
    if [ -d /run/systemd/system ]; then
      "${as_root[@]}" systemctl disable --now etcd.service >/dev/null 2>&1 || true
    else # no systemd running (containers): disable the unit offline
      "${as_root[@]}" systemctl disable etcd.service >/dev/null 2>&1 || true
    fi
  fi
  if [ -x /etc/init.d/etcd ]; then
    "${as_root[@]}" /etc/init.d/etcd stop >/dev/null 2>&1 || true
    "${as_root[@]}" update-rc.d etcd disable >/dev/null 2>&1 || true
  fi
  if [ ! -x "$ETCD_BIN" ]; then
    echo "test-tools: apt-get installed etcd-server but $ETCD_BIN is missing" >&2
    exit 1
  fi
else
  echo "test-tools: etcd already installed ($ETCD_BIN)"
fi
ln -sf "$ETCD_BIN" "$bin/etcd"
