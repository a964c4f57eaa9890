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

# The push script's swap is tested through perl and python3 (internal/playbooks), and
# in CI a missing one fails that test: install them from Debian when absent.
missing=""
for tool in perl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "==> installing$missing with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

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

echo "==> go test" >&2
go test -count=1 -timeout 40m ./...
