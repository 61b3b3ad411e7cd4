#!/usr/bin/env bash
# make repro: the release is rebuilt byte for byte. Two clones of this
# commit, at different paths, each run make dist; their SHA256SUMS must be
# identical, and equal to this tree's when it is clean.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/custos-repro.XXXXXX")
trap 'rm -rf "$work"' EXIT
rev=$(git rev-parse HEAD)
for d in a/first b/c/second; do
  git clone -q --no-hardlinks . "$work/$d"
  git -C "$work/$d" checkout -q "$rev"
  make -C "$work/$d" -s dist >/dev/null
done
if ! cmp -s "$work/a/first/dist/SHA256SUMS" "$work/b/c/second/dist/SHA256SUMS"; then
  echo "repro: two builds of $rev differ:" >&2
  diff "$work/a/first/dist/SHA256SUMS" "$work/b/c/second/dist/SHA256SUMS" >&2 || true
  exit 1
fi
echo "repro: two clones of $rev at different paths built byte-identical binaries:"
cat "$work/a/first/dist/SHA256SUMS"
