#!/usr/bin/env bash
# make test-faults: the fault suite (Tests/FaultTests) at the issue's scale (OUTBOXD_FAULTS=long)
# on a fresh throwaway cluster, its output kept in .build/test-faults.log, then RELIABILITY.md
# written from the FAULT lines. Exits with the suite's status (RELIABILITY.md says it too).
set -euo pipefail
export OUTBOXD_FAULTS=${OUTBOXD_FAULTS:-long}
source "$(dirname "$0")/test-env.sh"
log=.build/test-faults.log
command="OUTBOXD_FAULTS=$OUTBOXD_FAULTS swift test --skip-build --filter FaultTests"
started=$(date +%s)
status=0
swift test --skip-build --filter FaultTests 2>&1 | tee "$log" || status=$?
# The real-broker scenarios at the same scale: Tansu with librdkafka 2.16.1 (scripts/test-real-broker.sh).
wal_log=.build/test-faults-wal.log
wal_command="OUTBOXD_TEST_RELAY_SOURCE=wal OUTBOXD_FAULTS=$OUTBOXD_FAULTS swift test --skip-build --filter FaultScenarios"
wal_status=0
OUTBOXD_TEST_RELAY_SOURCE=wal swift test --skip-build --filter FaultScenarios 2>&1 | tee "$wal_log" || wal_status=$?
[ "$wal_status" -eq 0 ] || status=$wal_status
real_log=.build/test-faults-real-broker.log
real_command="OUTBOXD_FAULTS=$OUTBOXD_FAULTS scripts/test-real-broker.sh --filter RealBrokerScenarios"
real_status=0
scripts/test-real-broker.sh --no-env --filter RealBrokerScenarios 2>&1 | tee "$real_log" || real_status=$?
[ "$real_status" -eq 0 ] || status=$real_status
elapsed=$(( $(date +%s) - started ))

# Bad input, longer: the randomized fuzz targets with a random seed (printed, replayable), then
# libFuzzer on the JSON and config parsers. FUZZ_SECONDS per target (default 60).
fuzz_seconds=${FUZZ_SECONDS:-60}
fuzz_log=.build/test-faults-fuzz.log
fuzz_command="OUTBOXD_FUZZ_SECONDS=$fuzz_seconds OUTBOXD_FUZZ_SEED=random swift test --skip-build --filter 'BadInputTests|Fuzz'; scripts/fuzz.sh json|config $fuzz_seconds"
fuzz_status=0
{
  OUTBOXD_FUZZ_SECONDS=$fuzz_seconds OUTBOXD_FUZZ_SEED=random swift test --skip-build --filter 'BadInputTests|Fuzz' \
    && scripts/fuzz.sh json "$fuzz_seconds" && scripts/fuzz.sh config "$fuzz_seconds"
} >"$fuzz_log" 2>&1 || fuzz_status=$?
tail -n 5 "$fuzz_log" >&2
[ "$fuzz_status" -eq 0 ] || status=$fuzz_status

{
  echo "# Reliability: the fault suite"
  echo
  echo "Produced by \`make test-faults\` (\`scripts/test-faults.sh\`): \`$command\` on a throwaway"
  echo "cluster, $(date -u +%Y-%m-%d) at $(date -u +%H:%M) UTC, commit \`$(git rev-parse --short HEAD)\`,"
  echo "$(nproc) cores ($(uname -sm)), debug build, every process on one machine with librdkafka's mock"
  echo "cluster in the test process. Result: **$([ "$status" -eq 0 ] && echo passed || echo "FAILED (exit $status)")** in ${elapsed} s."
  echo
  echo "Each scenario runs load (clients creating tasks and PATCHing each a few times) against the"
  echo "\`outboxd\` binary, injects its fault, lets the system recover, then counts: \`acked\` 2xx"
  echo "responses, \`tasks\` and \`outbox\` rows in PostgreSQL, \`events\` = distinct event ids read back"
  echo "from Kafka, \`lost\` = acknowledged changes or outbox rows missing from PostgreSQL or Kafka,"
  echo "\`duplicates\` = Kafka records beyond the first of an event id, \`order_violations\` = tasks whose"
  echo "events reached Kafka (first occurrences) out of commit order, \`effects\` = audit-log rows of the"
  echo "audit consumer (\`effect_dupes\`, \`effects_missing\`). Latencies (\`*_ms\`) are reported, not"
  echo "asserted. The scenarios are in \`Tests/FaultTests\`."
  echo
  echo "| scenario | result |"
  echo "|---|---|"
  grep '^FAULT ' "$log" | sed -E 's/^FAULT ([^ ]+) (.*)$/| \1 | `\2` |/' || echo "| (none) | no FAULT line was printed |"
  echo
  echo "## WAL mode"
  echo
  echo "\`$wal_command\`: **$([ "$wal_status" -eq 0 ] && echo passed || echo "FAILED (exit $wal_status)")**."
  echo "The same scenarios with every relay at \`RELAY_SOURCE=wal\` (a replication slot of the rig's own;"
  echo "the private clusters of the PostgreSQL restarts with \`wal_level=logical\`)."
  echo
  echo "| scenario | result |"
  echo "|---|---|"
  grep '^FAULT ' "$wal_log" | sed -E 's/^FAULT ([^ ]+) relay_source=wal (.*)$/| \1 | `\2` |/' || echo "| (none) | no FAULT line was printed |"
  echo
  echo "## Real broker"
  echo
  echo "\`$real_command\`: **$([ "$real_status" -eq 0 ] && echo passed || echo "FAILED (exit $real_status)")**."
  echo "The same counts against Tansu 0.6.0 (a Kafka-protocol broker in its own process, memory storage)"
  echo "with librdkafka 2.16.1 for the test and every outboxd process; the stall is a SIGSTOP of the"
  echo "broker process, the oversized event a 2 MB row another writer inserted with SQL."
  echo
  echo "| scenario | result |"
  echo "|---|---|"
  grep '^FAULT real-' "$real_log" | sed -E 's/^FAULT ([^ ]+) (.*)$/| \1 | `\2` |/' || echo "| (none) | no FAULT line was printed |"
  echo
  echo "## Bad input"
  echo
  echo "\`$fuzz_command\`: **$([ "$fuzz_status" -eq 0 ] && echo passed || echo "FAILED (exit $fuzz_status)")**."
  echo "The corpus (\`BadInputTests\`) and the randomized targets (task input, config, raw HTTP) must"
  echo "never see a 5xx, a crash or a row written by a refused request; libFuzzer runs the parsers"
  echo "under AddressSanitizer. Summary lines:"
  echo
  grep -E '^fuzz [a-z-]+: |stat::number_of_executed_units|Done [0-9]+ runs' "$fuzz_log" | sed 's/^/    /' || echo "    (no summary lines)"
} > RELIABILITY.md
echo "wrote RELIABILITY.md ($(grep -c '^FAULT ' "$log" || true) FAULT lines)" >&2
exit "$status"
