#!/usr/bin/env bash
# make bench-consumers: each consumer's throughput on a preloaded topic (audit, notifications,
# reminders, one after the other, each its own group), against the raw consume rate of the same
# topic in the same run (outboxd-bench consume: COUNT events, each a new task with a due time).
#
#   bench/consumers.sh                (after `make build`; `make bench-consumers` does both)
#   COUNT=20000 bench/consumers.sh
#   KAFKA=tansu COUNT=20000 bench/consumers.sh     (the real-broker tier: Tansu, librdkafka 2.16.1)
#
# Summary appended to bench/results/consumers.txt. Environment: COUNT (default 50000; the mock
# cluster keeps about 5 MB per partition and drops older records, so more would not all be read),
# KAFKA (default mock: librdkafka's mock cluster inside outboxd-bench; tansu: the Tansu broker of
# scripts/kafka-tier.sh in its own process, with the .venv's librdkafka on LD_LIBRARY_PATH),
# PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=consumers.sh
source "$(dirname "$0")/lib.sh"

COUNT=${COUNT:-50000}
[[ $COUNT =~ ^[0-9]+$ ]] && [ "$COUNT" -ge 1000 ] && [ "$COUNT" -le 60000 ] || die "COUNT must be an integer from 1000 to 60000 (got '$COUNT'; the mock cluster keeps ~5 MB per partition)"
KAFKA=${KAFKA:-mock}
case $KAFKA in mock|tansu) ;; *) die "KAFKA must be mock or tansu (got '$KAFKA')" ;; esac
bench_bin=$root/.build/release/outboxd-bench
[ -x "$bench_bin" ] || die "$bench_bin not found: run 'make build' first"

bench_start_cluster
args=(consume --count "$COUNT")
if [ "$KAFKA" = tansu ]; then
  bench_start_tansu
  args+=(--bootstrap "$tansu_bootstrap")
fi
cmd="outboxd-bench consume --count $COUNT"
[ "$KAFKA" = mock ] || cmd="$cmd --bootstrap BOOTSTRAP (Tansu in another process, librdkafka 2.16.1, scripts/kafka-tier.sh)"
echo "\$ outboxd-bench ${args[*]}" >&2
run_child "$bench_bin" "${args[@]}" >"$dir/consume.out" 2>"$dir/consume.err" \
  || { cat "$dir/consume.out" "$dir/consume.err" >&2; die "outboxd-bench consume failed"; }
cat "$dir/consume.out" >&2
rate() { sed -n "s/^BENCH consume mode=$1 .*events_per_s=\([0-9]*\).*/\1/p" "$dir/consume.out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
raw=$(rate raw); audit=$(rate audit); notifications=$(rate notifications); reminders=$(rate reminders)
[ -n "$raw" ] && [ -n "$audit" ] && [ -n "$notifications" ] && [ -n "$reminders" ] || die "could not parse outboxd-bench's output"
problems=()
for table in audit_log notifications reminders; do
  n=$(sql_value "SELECT count(*) FROM $table")
  [ "$n" = "$COUNT" ] || problems+=("$table has $n rows for $COUNT events")
done
for consumer in audit notifications reminders; do
  n=$(sql_value "SELECT count(*) FROM inbox WHERE consumer = '$consumer'")
  [ "$n" = "$COUNT" ] || problems+=("the $consumer inbox has $n rows for $COUNT events")
done
line="KAFKA=$KAFKA: audit consumer $audit events/s, notifications $notifications, reminders $reminders; raw consume of the same topic $raw events/s (audit ratio $(ratio "$audit" "$raw"), notifications $(ratio "$notifications" "$raw"), reminders $(ratio "$reminders" "$raw")); rows and inbox rows complete: $([ "${#problems[@]}" = 0 ] && echo yes || echo no)"
mkdir -p bench/results
{
  bench_header "COUNT=$COUNT KAFKA=$KAFKA"
  echo "$line"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: DATABASE_URL=\$URL $cmd"
  echo
} | bench_record "$([ "$KAFKA" = tansu ] && echo consumers-tansu || echo consumers)"
echo
echo "$line"
echo "(appended to bench/results/consumers.txt)"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
