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
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

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
  use_root etcd etcd-server
  echo "test-tools: installing etcd from the Debian package etcd-server (apt-get)..."
  # The package's postinst may start a daemon on :2379.
  apt_install_service etcd-server etcd
  if [ ! -x "$ETCD_BIN" ]; then
    echo "test-tools: apt-get installed etcd-server but $ETCD_BIN is missing" >&2
    exit 1
  fi
else
  echo "test-tools: etcd already installed ($ETCD_BIN)"
fi
ln -sf "$ETCD_BIN" "$bin/etcd"
