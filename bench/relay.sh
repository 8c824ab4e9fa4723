#!/usr/bin/env bash
# make bench-relay: how fast `outboxd relay` drains a preloaded outbox into the embedded Kafka cluster,
# against the raw ceilings measured in the same run: the claim-and-mark SQL alone (pgbench) and
# librdkafka producing to the same kind of cluster (outboxd-bench produce).
#
#   bench/relay.sh                    (after `swift build -c release`; `make bench-relay` does both)
#   ROWS=200000 BATCH=1000 bench/relay.sh
#
# For each mode (retention 0: rows deleted on publish; kept: rows marked with partition and offset):
# preload ROWS rows → pgbench claim-and-mark until the outbox is empty (SQL ceiling) → preload again →
# `outboxd relay` until it has published ROWS events (polling the relay's own count in its /readyz:
# counting the pending rows in PostgreSQL every 0.2 s, directly or through /metrics, took ~10% of the
# machine from the relay) → checks. Summary appended to
# bench/results/relay.txt. Everything started here is stopped and removed on exit, failure or Ctrl-C.
#
# Environment: ROWS (default 1000000), BATCH (RELAY_BATCH_SIZE, default 500), PRODUCE_COUNT (messages of
# the produce ceiling, default 300000), PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=relay.sh
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-1000000}
BATCH=${BATCH:-500}
PRODUCE_COUNT=${PRODUCE_COUNT:-300000}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1000 ] || die "ROWS must be an integer >= 1000 (got '$ROWS')"
[[ $BATCH =~ ^[0-9]+$ ]] && [ "$BATCH" -ge 1 ] && [ "$BATCH" -le 100000 ] || die "BATCH must be an integer in 1...100000 (got '$BATCH')"
[[ $PRODUCE_COUNT =~ ^[0-9]+$ ]] && [ "$PRODUCE_COUNT" -ge 1000 ] || die "PRODUCE_COUNT must be an integer >= 1000 (got '$PRODUCE_COUNT')"
bench_bin=$root/.build/release/outboxd-bench
[ -x "$bench_bin" ] || die "$bench_bin not found: run 'swift build -c release' first"

bench_start_cluster

now() { date +%s.%N; }
pending() { sql_value "SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL"; }
# Events the running relay has published, from its /readyz (0 until it serves them): the relay's own
# count, with one `SELECT 1`. Its /metrics would also count the backlog in PostgreSQL on every scrape,
# which at 5 scrapes/s over 300k-1M pending rows took PostgreSQL CPU from the drain it measures.
published() {
  { curl -s "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null || true; } \
    | { grep -o '"published":[0-9]*' || true; } | awk -F: '{ n += $2 } END { printf "%d", n }'
}
preload() {
  sql_value "TRUNCATE outbox" >/dev/null
  "$psql" "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -v rows="$ROWS" -f bench/outbox_preload.sql >/dev/null
  [ "$(pending)" = "$ROWS" ] || die "preload did not leave $ROWS pending rows"
}

declare -A claim_rate drain_rate checks relay_rss relay_cpu
problems=()
for mode in delete keep; do
  if [ $mode = delete ]; then keep=0 retention=0s; else keep=1 retention=1h; fi

  # --- SQL ceiling: claim and mark (or delete) with pgbench, one client, until the outbox is empty ----
  preload
  transactions=$(( (ROWS + BATCH - 1) / BATCH ))
  claim_cmd="PGOPTIONS='-c synchronous_commit=off' pgbench -n -M prepared -c 1 -t $transactions -D batch=$BATCH -D keep=$keep -f bench/outbox_claim.pgbench.sql"
  echo "\$ $claim_cmd" >&2
  PGOPTIONS='-c synchronous_commit=off' run_child "$pgbench" -n -M prepared -c 1 -t "$transactions" -D batch="$BATCH" -D keep="$keep" \
    -f bench/outbox_claim.pgbench.sql "$DATABASE_URL" >"$dir/claim.out" 2>"$dir/claim.err" \
    || { cat "$dir/claim.out" "$dir/claim.err" >&2; die "pgbench (claim) failed"; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/claim.out")
  [ -n "$tps" ] || { cat "$dir/claim.out" >&2; die "could not parse pgbench's output"; }
  [ "$(pending)" = 0 ] || problems+=("$mode: pgbench claim left $(pending) rows pending")
  claim_rate[$mode]=$(awk -v t="$tps" -v b="$BATCH" 'BEGIN { printf "%.0f", t * b }')
  echo "claim+mark SQL ($mode): ${claim_rate[$mode]} rows/s" >&2

  # --- outboxd relay: drain the same backlog into the embedded cluster -------------------------------
  preload
  relay_cmd="OUTBOX_RETENTION=$retention RELAY_BATCH_SIZE=$BATCH KAFKA_BOOTSTRAP_SERVERS=embedded outboxd relay --metrics-listen 127.0.0.1:PORT"
  echo "\$ $relay_cmd" >&2
  metrics_port=$("$root/scripts/pg.sh" free-port)
  OUTBOX_RETENTION=$retention RELAY_BATCH_SIZE=$BATCH KAFKA_BOOTSTRAP_SERVERS=embedded \
    bench_start_daemon "$dir/relay-$mode.log" "$bin" relay --metrics-listen "127.0.0.1:$metrics_port"
  start_t= start_pending=
  while :; do
    p=$(( ROWS - $(published) ))
    t=$(now)
    if [ -z "$start_t" ] && [ "$p" -lt "$ROWS" ]; then start_t=$t start_pending=$p; fi
    [ "$p" -gt 0 ] || break
    kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$dir/relay-$mode.log" >&2; die "outboxd relay exited"; }
    sleep 0.2
  done
  end_t=$t
  stop_daemon
  relay_rss[$mode]=$peak_rss_mb
  # CPU per event of the whole process (relay, producer and the embedded mock cluster): steadier
  # than events/s on a shared machine.
  relay_cpu[$mode]=$(awk -v s="$daemon_cpu_s" -v n="$ROWS" 'BEGIN { printf "%.1f", s * 1e6 / n }')
  drain_rate[$mode]=$(awk -v n="$start_pending" -v a="$start_t" -v b="$end_t" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')
  echo "relay drain ($mode): ${drain_rate[$mode]} events/s" >&2
  if grep -qE '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log"; then
    problems+=("$mode: relay log has errors: $(grep -E '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log" | head -n 1)")
  fi

  # --- checks: nothing parked; kept history has every row once, offsets dense per partition -------------
  parked=$(sql_value "SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL")
  [ "$parked" = 0 ] || problems+=("$mode: $parked rows parked")
  if [ $mode = keep ]; then
    read -r published offsets < <(sql_value "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL),
        (SELECT coalesce(sum(m + 1), 0) FROM (SELECT max(kafka_offset) AS m FROM outbox GROUP BY kafka_partition) x)" | tr '|' ' ')
    checks[$mode]="published=$published kafka_messages=$offsets"
    [ "$published" = "$ROWS" ] || problems+=("keep: $published of $ROWS rows published")
    [ "$offsets" = "$ROWS" ] || problems+=("keep: Kafka offsets say $offsets messages for $ROWS rows")
  else
    left=$(sql_value "SELECT count(*) FROM outbox")
    checks[$mode]="rows_left=$left"
    [ "$left" = 0 ] || problems+=("delete: $left rows left in the outbox")
  fi
done

# --- produce ceiling: the same producer settings and cluster shape, no PostgreSQL ----------------------
produce_cmd="outboxd-bench produce --count $PRODUCE_COUNT --batch $BATCH"
echo "\$ $produce_cmd" >&2
run_child "$bench_bin" produce --count "$PRODUCE_COUNT" --batch "$BATCH" >"$dir/produce.out" 2>"$dir/produce.err" \
  || { cat "$dir/produce.out" "$dir/produce.err" >&2; die "outboxd-bench produce failed"; }
cat "$dir/produce.out" >&2
produce_field() { sed -n "s/^BENCH produce mode=$1 .*events_per_s=\([0-9]*\).*/\1/p" "$dir/produce.out"; }
produce_batched=$(produce_field batched)
produce_pipelined=$(produce_field pipelined)
[ -n "$produce_batched" ] && [ -n "$produce_pipelined" ] || die "could not parse outboxd-bench's output"
grep -q "failed=0 " "$dir/produce.out" || problems+=("produce ceiling had failed deliveries")

# --- summary --------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
lines=()
for mode in delete keep; do
  label=$([ $mode = delete ] && echo "retention 0" || echo "kept history")
  lines+=("relay drain ($label): ${drain_rate[$mode]} events/s; claim+mark SQL alone ${claim_rate[$mode]} rows/s (ratio $(ratio "${drain_rate[$mode]}" "${claim_rate[$mode]}")); ${checks[$mode]}")
done
lines+=("produce ceiling: batches of $BATCH waiting for reports $produce_batched events/s; pipelined $produce_pipelined events/s")
lines+=("outboxd relay peak RSS: retention 0 ${relay_rss[delete]} MB, kept history ${relay_rss[keep]} MB")
lines+=("outboxd relay CPU (with the embedded cluster) per event: retention 0 ${relay_cpu[delete]} µs, kept history ${relay_cpu[keep]} µs")
lines+=("ratio relay(retention 0)/produce batched: $(ratio "${drain_rate[delete]}" "$produce_batched"); /pipelined: $(ratio "${drain_rate[delete]}" "$produce_pipelined")")
mkdir -p bench/results
{
  bench_header "ROWS=$ROWS BATCH=$BATCH"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: psql -v rows=$ROWS -f bench/outbox_preload.sql"
  echo "cmd: $claim_cmd (keep=0 and keep=1)"
  echo "cmd: $relay_cmd (and OUTBOX_RETENTION=1h)"
  echo "cmd: $produce_cmd"
  echo
} | bench_record relay
echo
printf '%s\n' "${lines[@]}"
echo "(appended to bench/results/relay.txt)"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
