#!/usr/bin/env bash
# Installs the sandbox components (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, kwokctl) into a cache dir and prints that dir's bin path.
# Everything comes from Debian packages or the Go module proxy; nothing is committed.
# Safe to run again: cached binaries are reused.
set -euo pipefail

K8S_VERSION=v1.31.4
KWOK_VERSION=v0.7.0
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ROBUSTA_SANDBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/robusta-sandbox}
bin=$cache_root/k8s-$K8S_VERSION-kwok-$KWOK_VERSION/bin
mkdir -p "$bin"

log() { echo "sandbox-install: $*" >&2; }

# etcd from Debian. The package starts no service we need; we run our own etcd per cluster.
if [ ! -x "$bin/etcd" ]; then
  if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
    log "installing etcd-server with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
    # The package may start a system etcd on 2379; kwok picks free ports, but stop it anyway.
    (systemctl stop etcd 2>/dev/null || service etcd stop 2>/dev/null || pkill -x etcd) >/dev/null 2>&1 || true
  fi
  ln -sf "$(command -v etcd || echo /usr/bin/etcd)" "$bin/etcd"
fi

# kwok and kwokctl from the Go module proxy.
for tool in kwok kwokctl; do
  if [ ! -x "$bin/$tool" ]; then
    log "building $tool $KWOK_VERSION"
    GOBIN=$bin GOFLAGS=-buildvcs=false go install "sigs.k8s.io/kwok/cmd/$tool@$KWOK_VERSION"
  fi
done

# Stamp the version as the release build does: clients (Helm's kubeVersion checks, kwokctl)
# read it from /version.
pkg=k8s.io/component-base/version
minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
version_ldflags="-X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"

# The control plane from k8s.io/kubernetes, through the tools module beside this script.
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  # A binary from an older recipe (unstamped version) is rebuilt; the link step is cheap.
  if [ -x "$bin/$c" ] && ! "$bin/$c" --version 2>/dev/null | grep -q "Kubernetes $K8S_VERSION"; then
    rm -f "$bin/$c"
  fi
  if [ ! -x "$bin/$c" ]; then
    log "building $c $K8S_VERSION (several minutes the first time)"
    (cd "$here/tools" && GOFLAGS=-buildvcs=false CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $version_ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$bin/$c.tmp" "$bin/$c"
  fi
done

echo "$bin"
