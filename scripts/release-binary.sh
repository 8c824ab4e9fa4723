#!/usr/bin/env bash
# Prints the path of the release binary after checking that it runs without the Swift toolchain:
# no RUNPATH, and no Swift runtime, Dispatch or Foundation library among its NEEDED entries (a
# plain `swift build -c release` links them from the toolchain). scripts/install.sh and
# scripts/deb.sh install only such a binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/outboxd
fail() { echo "$bin: $1: run 'make build' (scripts/build-release.sh) first" >&2; exit 1; }
[ -x "$bin" ] || fail "not found"
dynamic=$(readelf --dynamic "$bin")
if grep -qE '\((RPATH|RUNPATH)\)' <<<"$dynamic"; then
  fail "it has a RUNPATH ($(grep -E '\((RPATH|RUNPATH)\)' <<<"$dynamic" | sed 's/.*: //' | paste -sd ' '))"
fi
toolchain=$(grep -oE '\[(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime)[^]]*\]' <<<"$dynamic" | tr -d '[]' | paste -sd ' ' || true)
[ -z "$toolchain" ] || fail "it links the Swift toolchain's $toolchain"
echo "$PWD/$bin"
