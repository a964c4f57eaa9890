#!/usr/bin/env bash
# Builds a local snapshot release into dist/ (nothing is published) and checks what
# users of the packages get: archives, checksums, the krew manifest, the Homebrew
# formula, and the binary answering as kubectl-robusta. Signing (cosign), SBOMs (syft)
# and the container image (ko, which pulls the distroless base) need those tools and the
# network, so they are skipped here; `goreleaser check` (in hack/test.sh) validates
# their configuration.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
goreleaser=$(bash hack/install-goreleaser.sh)
"$goreleaser" release --snapshot --clean --skip=publish,sign,sbom,ko >&2

fail() { echo "release-snapshot: $*" >&2; exit 1; }
[ -s dist/checksums.txt ] || fail "no dist/checksums.txt"
n=$(grep -c '_\(linux\|darwin\|windows\)_' dist/checksums.txt || true)
[ "$n" -eq 6 ] || fail "checksums list $n archives, want 6"
krew=dist/krew/robusta.yaml
[ -s "$krew" ] || fail "no krew manifest at $krew"
grep -q 'kind: Plugin' "$krew" || fail "$krew is not a krew Plugin"
grep -q 'bin: robusta' "$krew" || fail "$krew does not name the robusta binary"
formula=dist/homebrew/Formula/robusta.rb
[ -s "$formula" ] || fail "no Homebrew formula at $formula"
grep -q 'class Robusta < Formula' "$formula" || fail "$formula is not a formula"

# The linux binary of this machine's architecture, run under its kubectl plugin name.
arch=$(go env GOARCH)
bin=$(find dist -path "*linux_${arch}*" -name robusta -type f | head -1)
[ -n "$bin" ] || fail "no linux/$arch binary in dist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$bin" "$tmp/kubectl-robusta"
"$tmp/kubectl-robusta" --help | grep -q 'kubectl robusta \[command\]' || fail "kubectl-robusta does not answer as kubectl robusta"
echo "release-snapshot: ok ($n archives, krew manifest, Homebrew formula, kubectl-robusta)" >&2
