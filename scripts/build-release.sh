#!/usr/bin/env bash
# The release build (make build, scripts/test.sh): outboxd and outboxd-bench in .build/release,
# linked statically against the Swift runtime, Dispatch and Foundation, and dynamically only
# against Debian's libraries (libpq5, librdkafka1, libmicrohttpd12, libc6, libstdc++6, libgcc-s1),
# so the binary runs on a host without the Swift toolchain (README "Installing it").
#   --static-swift-stdlib  the toolchain's usr/lib/swift_static instead of usr/lib/swift/linux
#   --disable-local-rpath  no RUNPATH ($ORIGIN): nothing is loaded from beside the binary
#   -z now                 relocations resolved at start-up, then read-only (full RELRO)
#   scripts/build-release.sh [more swift build arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --disable-local-rpath -Xlinker -z -Xlinker now "$@"
