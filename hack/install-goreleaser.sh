#!/usr/bin/env bash
# Builds goreleaser from the Go module proxy at a pinned version, cached, and prints its path.
set -euo pipefail
GORELEASER_VERSION=v2.13.3
cache_root=${ROBUSTA_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/robusta-tools}
dir=$cache_root/goreleaser-$GORELEASER_VERSION
if [ ! -x "$dir/goreleaser" ]; then
  echo "install-goreleaser: building goreleaser $GORELEASER_VERSION (a few minutes the first time)" >&2
  mkdir -p "$dir"
  (cd "$(mktemp -d)" && GOBIN=$dir GOFLAGS=-buildvcs=false go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION")
fi
echo "$dir/goreleaser"
