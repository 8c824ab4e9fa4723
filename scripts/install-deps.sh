#!/usr/bin/env bash
# Installs the Debian packages outboxd needs, only those missing. Safe to run again.
#   scripts/install-deps.sh           (make run, make test, make deb)
#   scripts/install-deps.sh --bench   (make bench: also gnuplot, for the plots in BENCHMARKS.md)
set -euo pipefail

packages=(
  postgresql-15        # the server, initdb, pg_ctl, pgbench
  postgresql-client-15 # psql
  libpq-dev            # CLibPQ
  librdkafka-dev       # CRdKafka (librdkafka 2.0.2 and its mock cluster)
  libmicrohttpd-dev    # CMicroHTTPD, the HTTP server
  pkg-config           # SwiftPM finds the C libraries through it
  kcat                 # read the embedded Kafka from the shell
  python3-venv         # scripts/kafka-tier.sh: the real-broker tier's pinned PyPI packages in .venv
  wrk                  # HTTP load for bench/
  binutils             # scripts/deb.sh: strip and readelf the release binary
  dpkg-dev             # scripts/deb.sh: dpkg-shlibdeps computes the package's Depends from the binary
  lintian              # scripts/deb.sh: checks the built .deb against Debian policy
)
[ "${1:-}" = --bench ] && packages+=(gnuplot-nox) # bench/report.sh draws the PNG plots

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && { echo "swift is at $d; add it to PATH" >&2; exit 1; }
  done
  echo "the Swift 6 toolchain is missing: install it (swift.org) and put swift on PATH" >&2
  exit 1
fi
