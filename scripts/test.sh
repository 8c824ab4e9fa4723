#!/usr/bin/env bash
# make test: a fresh throwaway cluster on a free port, then both tiers, then the cluster is stopped
# and removed, also when tests fail.
#   mock tier: the whole suite against librdkafka's in-process mock cluster, with Debian's
#              librdkafka 2.0.2 (what the package builds and links against);
#   package:   the .deb (scripts/deb.sh) installed, upgraded and removed on a scratch host
#              (scripts/test-deb.sh);
#   real-broker tier: the RealBroker* suites against a Tansu broker (scripts/kafka-tier.sh) with
#              librdkafka 2.16.1 on LD_LIBRARY_PATH (Debian's 2.0.2 cannot talk to Tansu).
# With arguments (e.g. --filter Name) only the mock tier runs, with those arguments;
# scripts/test-real-broker.sh [arguments] runs the real-broker tier alone.
set -euo pipefail
source "$(dirname "$0")/test-env.sh"
if (($#)); then
  swift test --skip-build "$@"
  exit
fi
# The static release build and its package, what operators install: the installed-units test
# (real-broker tier) runs the units from it, scripts/test-deb.sh installs, upgrades and removes it.
scripts/build-release.sh
export OUTBOXD_TEST_DEB
OUTBOXD_TEST_DEB=$(scripts/deb.sh)
swift test --skip-build --skip RealBroker
newer_deb=$(scripts/deb.sh --rebuild 1 --fast --out "$OUTBOXD_TEST_SCRATCH")
scripts/test-deb.sh "$OUTBOXD_TEST_DEB" "$newer_deb"
scripts/test-real-broker.sh --no-env
