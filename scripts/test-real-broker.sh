#!/usr/bin/env bash
# The real-broker tier (run by scripts/test.sh): Tansu on a free port, librdkafka 2.16.1 from the
# project's .venv on LD_LIBRARY_PATH for the test process and every outboxd it starts, then the
# RealBroker* suites (FaultTests). Extra arguments narrow it (--filter …).
#   scripts/test-real-broker.sh [--filter Name]
# RealBrokerInstalledUnitsTests runs the units from the package named by OUTBOXD_TEST_DEB, which
# scripts/test.sh builds; alone it is skipped unless given, e.g.
#   make deb && OUTBOXD_TEST_DEB=$PWD/dist/outboxd_0.13.0_amd64.deb scripts/test-real-broker.sh --filter RealBrokerInstalledUnits
set -euo pipefail
cd "$(dirname "$0")/.."
own_env=1
if [ "${1:-}" = --no-env ]; then
  own_env=0 # called from scripts/test.sh, which has the cluster and the build ready
  shift
else
  source scripts/test-env.sh
fi
scripts/kafka-tier.sh install
broker_dir=$OUTBOXD_TEST_SCRATCH/tansu
export OUTBOXD_TEST_KAFKA
OUTBOXD_TEST_KAFKA=$(scripts/kafka-tier.sh start "$broker_dir")
export OUTBOXD_TEST_KAFKA_PID
OUTBOXD_TEST_KAFKA_PID=$(cat "$broker_dir/pid")
trap 'scripts/kafka-tier.sh stop "$broker_dir"; [ "$own_env" = 0 ] || cleanup' EXIT
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(scripts/kafka-tier.sh libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "real-broker tier: Tansu at $OUTBOXD_TEST_KAFKA (pid $OUTBOXD_TEST_KAFKA_PID), $("$OUTBOXD_BIN" --version | tr '\n' ' ')" >&2
if (($#)); then
  swift test --skip-build "$@"
else
  swift test --skip-build --filter RealBroker
fi
