#!/usr/bin/env bash
# The one test command (make test; CI runs it through .ci/run). It installs what it
# needs on a fresh machine: the sandbox components (Debian etcd, Kubernetes and kwok
# built from the Go module proxy) and goreleaser, all cached between runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "==> installing sandbox components" >&2
ROBUSTA_SANDBOX_BIN=$(bash hack/sandbox/install.sh)
export ROBUSTA_SANDBOX_BIN
goreleaser=$(bash hack/install-goreleaser.sh)

echo "==> gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './hack/sandbox/tools/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on: $unformatted" >&2
  exit 1
fi

echo "==> go vet" >&2
go vet ./...

echo "==> goreleaser check" >&2
"$goreleaser" check

echo "==> go test -race" >&2
# The race detector needs cgo (gcc). The e2e tests build the binary themselves, without
# -race; the packages' own tests (local serve, the kube factory) run under it.
CGO_ENABLED=1 go test -race -count=1 -timeout 60m ./...
