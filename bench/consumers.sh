#!/usr/bin/env bash
# make bench-consumers: the audit consumer's throughput on a preloaded topic, against the raw consume
# rate of the same topic in the same run (outboxd-bench consume: embedded cluster, COUNT events).
#
#   bench/consumers.sh                (after `swift build -c release`; `make bench-consumers` does both)
#   COUNT=20000 bench/consumers.sh
#
# Summary appended to bench/results/consumers.txt. Environment: COUNT (default 50000; the mock
# cluster keeps about 5 MB per partition and drops older records, so more would not all be read),
# PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=consumers.sh
source "$(dirname "$0")/lib.sh"

COUNT=${COUNT:-50000}
[[ $COUNT =~ ^[0-9]+$ ]] && [ "$COUNT" -ge 1000 ] && [ "$COUNT" -le 60000 ] || die "COUNT must be an integer from 1000 to 60000 (got '$COUNT'; the mock cluster keeps ~5 MB per partition)"
bench_bin=$root/.build/release/outboxd-bench
[ -x "$bench_bin" ] || die "$bench_bin not found: run 'swift build -c release' first"

bench_start_cluster
cmd="outboxd-bench consume --count $COUNT"
echo "\$ $cmd" >&2
run_child "$bench_bin" consume --count "$COUNT" >"$dir/consume.out" 2>"$dir/consume.err" \
  || { cat "$dir/consume.out" "$dir/consume.err" >&2; die "outboxd-bench consume failed"; }
cat "$dir/consume.out" >&2
rate() { sed -n "s/^BENCH consume mode=$1 .*events_per_s=\([0-9]*\).*/\1/p" "$dir/consume.out"; }
raw=$(rate raw); audit=$(rate audit)
[ -n "$raw" ] && [ -n "$audit" ] || die "could not parse outboxd-bench's output"
rows=$(sql_value "SELECT count(*) FROM audit_log")
inbox=$(sql_value "SELECT count(*) FROM inbox")
problems=()
[ "$rows" = "$COUNT" ] || problems+=("audit_log has $rows rows for $COUNT events")
[ "$inbox" = "$COUNT" ] || problems+=("inbox has $inbox rows for $COUNT events")
line="audit consumer: $audit events/s; raw consume of the same topic: $raw events/s (ratio $(awk -v a="$audit" -v b="$raw" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')); audit_log=$rows inbox=$inbox"
mkdir -p bench/results
{
  bench_header "COUNT=$COUNT"
  echo "$line"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: DATABASE_URL=\$URL $cmd"
  echo
} | bench_record consumers
echo
echo "$line"
echo "(appended to bench/results/consumers.txt)"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
