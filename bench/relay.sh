#!/usr/bin/env bash
# make bench-relay: how fast `outboxd relay` drains a preloaded outbox into a Kafka mock cluster in another
# process (`outboxd-bench mock-cluster`, the shape of the embedded one: 3 brokers, 6 partitions), against
# the raw ceilings measured in the same run: the claim-and-retire SQL alone (pgbench) and librdkafka
# producing to the same kind of cluster (outboxd-bench produce); then the commit → delivery report latency
# of `outboxd serve` with the relay alone (bench/latency.sh, CONSUMERS=none), three runs at LATENCY_RATE.
#
#   bench/relay.sh                    (after `make build`; `make bench-relay` does both)
#   ROWS=200000 BATCH=1000 bench/relay.sh
#
# For each mode (retention 0: rows deleted on publish; kept: rows marked with partition and offset):
# preload ROWS rows → pgbench claim-and-retire until the outbox is empty (SQL ceiling) → preload again →
# a fresh mock cluster → `outboxd relay` until it has published ROWS events (polling the relay's own
# count in its /readyz: counting the pending rows in PostgreSQL every 0.2 s, directly or through
# /metrics, took ~10% of the machine from the relay) → checks (every row published once: as many
# distinct partition/offset pairs as rows, dense from offset 0). The relay's CPU (all its threads,
# librdkafka's included) and peak RSS are its own: the brokers run in their process.
# Targets (issue #15): retention-0 drain ≥ 0.9× claim-and-delete SQL; kept-history drain ≥ 0.9× the
# retention-0 drain; relay CPU ≤ 5 µs per event; `outboxd serve` peak RSS < 48 MB (measured under
# bench/latency.sh's load); commit → delivery report p50 < 2 ms and p99 < 10 ms in 3 runs of 3.
# Summary appended to bench/results/relay.txt. Everything started here is stopped and removed on
# exit, failure or Ctrl-C.
#
# Environment: ROWS (default 1000000), BATCH (RELAY_BATCH_SIZE, default 500), PRODUCE_COUNT (messages of
# the produce ceiling, default 300000), LATENCY_RATE (tasks/s, default 2000; 0 skips the latency runs),
# LATENCY_DURATION (per run, default 10s), MODES (default "delete keep bytes": a subset for a quick A/B;
# the summary then reports only what was measured), PERF_DIR (a folder: each drain is profiled there
# with `perf record -g`, relay-MODE.data; PERF_CALLGRAPH=dwarf,16384 for call graphs through Swift
# frames; PERF_SYSTEM=1 profiles the whole machine instead: PostgreSQL's backends and the brokers too),
# RELAY_SOURCE (default poll; wal: the cluster runs with wal_level=logical, and the relay's slot and
# publication exist before each drain's backlog is written, so its WAL source reads every insert of
# the backlog while the relay drains it: issue #27's WAL drain against the poll mode's; the drain
# is followed until the slot has caught up with the backlog, reported apart), PRELOAD_TXN (rows per
# transaction of the backlog, default all of them in one; 1000: a backlog of writers' commits),
# PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=relay.sh
source "$(dirname "$0")/lib.sh"

ROWS=${ROWS:-1000000}
BATCH=${BATCH:-500}
PRODUCE_COUNT=${PRODUCE_COUNT:-300000}
LATENCY_RATE=${LATENCY_RATE:-2000}
LATENCY_DURATION=${LATENCY_DURATION:-10s}
[[ $ROWS =~ ^[0-9]+$ ]] && [ "$ROWS" -ge 1000 ] || die "ROWS must be an integer >= 1000 (got '$ROWS')"
[[ $BATCH =~ ^[0-9]+$ ]] && [ "$BATCH" -ge 1 ] && [ "$BATCH" -le 100000 ] || die "BATCH must be an integer in 1...100000 (got '$BATCH')"
[[ $PRODUCE_COUNT =~ ^[0-9]+$ ]] && [ "$PRODUCE_COUNT" -ge 1000 ] || die "PRODUCE_COUNT must be an integer >= 1000 (got '$PRODUCE_COUNT')"
[[ $LATENCY_RATE =~ ^[0-9]+$ ]] || die "LATENCY_RATE must be a non-negative integer (got '$LATENCY_RATE')"
seconds_of LATENCY_DURATION "$LATENCY_DURATION" >/dev/null
[ -z "${PRELOAD_TXN:-}" ] || { [[ $PRELOAD_TXN =~ ^[0-9]+$ ]] && [ "$PRELOAD_TXN" -ge 1 ]; } \
  || die "PRELOAD_TXN must be an integer >= 1 (got '$PRELOAD_TXN')"
bench_bin=$root/.build/release/outboxd-bench
[ -x "$bench_bin" ] || die "$bench_bin not found: run 'make build' first"
partitions=6

export RELAY_SOURCE=${RELAY_SOURCE:-poll}
case $RELAY_SOURCE in
  poll) bench_start_cluster ;;
  wal) PG_SETTINGS="-c wal_level=logical" bench_start_cluster ;;
  *) die "RELAY_SOURCE must be poll or wal (got '$RELAY_SOURCE')" ;;
esac
# With RELAY_SOURCE=wal, a fresh slot (and the publication, as WalSlot creates it) before a backlog
# is written, so the relay's WAL source streams all of it.
wal_slot() {
  [ "$RELAY_SOURCE" = wal ] || return 0
  sql_value "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = 'outboxd'" >/dev/null
  [ "$(sql_value "SELECT count(*) FROM pg_publication WHERE pubname = 'outboxd_outbox'")" = 1 ] \
    || sql_value "CREATE PUBLICATION outboxd_outbox FOR TABLE outbox (id) WITH (publish = 'insert')" >/dev/null
  sql_value "SELECT pg_create_logical_replication_slot('outboxd', 'pgoutput')" >/dev/null
  # A second slot over the same WAL, read after the drain by PostgreSQL's own client (pg_recvlogical).
  sql_value "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = 'bench_recv'" >/dev/null
  sql_value "SELECT pg_create_logical_replication_slot('bench_recv', 'pgoutput')" >/dev/null
}

# recvlogical_drain: pg_recvlogical (pgoutput, the relay's publication) reads bench_recv's WAL up to
# the end of the backlog into /dev/null; sets recv_rate (events/s), recv_pg_cpu and recv_client_cpu (µs per event).
children_cpu() { tail -n 1 "$1" | awk '{ gsub(/[ms]/, " "); print ($1 * 60 + $2) + ($3 * 60 + $4) }'; }
recvlogical_drain() {
  local end=$1 events=$2 pg_start t0 t1 c0 c1
  recv_cmd="pg_recvlogical -d DATABASE_URL -S bench_recv --start -E END -o proto_version=1 -o publication_names=outboxd_outbox --no-loop -f /dev/null"
  echo "\$ $recv_cmd" >&2
  pg_start=$(pg_cpu_seconds)
  # `times` in this shell (not in a command substitution, whose subshell has no children): CPU of reaped children.
  times >"$dir/times0"
  c0=$(children_cpu "$dir/times0")
  t0=$(now)
  run_child "$PGBIN/pg_recvlogical" -d "$DATABASE_URL" -S bench_recv --start -E "$end" -o proto_version=1 \
    -o publication_names=outboxd_outbox --no-loop -f /dev/null 2>"$dir/recvlogical.err" \
    || { cat "$dir/recvlogical.err" >&2; problems+=("pg_recvlogical failed"); }
  t1=$(now)
  times >"$dir/times1"
  c1=$(children_cpu "$dir/times1")
  recv_rate=$(awk -v n="$events" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')
  recv_pg_cpu=$(awk -v a="$pg_start" -v b="$(pg_cpu_seconds)" -v n="$events" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  recv_client_cpu=$(awk -v a="$c0" -v b="$c1" -v n="$events" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  echo "pg_recvlogical: $recv_rate events/s; CPU per event PostgreSQL $recv_pg_cpu µs, client $recv_client_cpu µs" >&2
}

# Through the views of migration 0006 (README "Inspecting the outbox"), as an operator would count.
pending() { sql_value "SELECT count(*) FROM outbox_pending"; }
# Events the running relay has published, from its /readyz (0 until it serves them): the relay's own
# count, with one `SELECT 1`. Its /metrics would also count the backlog in PostgreSQL on every scrape,
# which at 5 scrapes/s over 300k-1M pending rows took PostgreSQL CPU from the drain it measures.
published() {
  { curl -s "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null || true; } \
    | { grep -o '"published":[0-9]*' || true; } | awk -F: '{ n += $2 } END { printf "%d", n }'
}
# preload [BYTES]: ROWS pending rows; BYTES=1 gives them the same payloads as bytes (payload_bytes).
preload() {
  sql_value "TRUNCATE outbox" >/dev/null
  "$psql" "$DATABASE_URL" -Xq -v ON_ERROR_STOP=1 -v rows="$ROWS" -v bytes="${1:-0}" ${PRELOAD_TXN:+-v txn="$PRELOAD_TXN"} \
    -f bench/outbox_preload.sql >/dev/null
  [ "$(pending)" = "$ROWS" ] || die "preload did not leave $ROWS pending rows"
}

declare -A claim_rate drain_rate checks relay_rss relay_cpu broker_cpu pg_cpu claim_pg_cpu catchup_s catchup_pg_cpu
for mode in delete keep bytes; do
  claim_rate[$mode]= drain_rate[$mode]= checks[$mode]= relay_rss[$mode]= relay_cpu[$mode]= broker_cpu[$mode]= pg_cpu[$mode]= claim_pg_cpu[$mode]=
done
claim_cmd=
problems=()
# Modes: delete (retention 0), keep (kept history), bytes (retention 0, the same payloads as bytes:
# issue #16's target, bytes drain >= 1.0x the JSON one; no SQL ceiling of its own).
for mode in ${MODES:-delete keep bytes}; do
  case $mode in
    delete) keep=0 retention=0s bytes=0 ;;
    keep) keep=1 retention=1h bytes=0 ;;
    bytes) keep=0 retention=0s bytes=1 ;;
  esac

  # --- SQL ceiling: claim and retire (delete, or mark) with pgbench, one client, until the outbox is empty
  if [ $mode != bytes ]; then
  preload
  transactions=$(( (ROWS + BATCH - 1) / BATCH ))
  claim_cmd="PGOPTIONS='-c synchronous_commit=off -c outboxd.relay_session=on -c enable_seqscan=off -c enable_bitmapscan=off' pgbench -n -M prepared -c 1 -t $transactions -D batch=$BATCH -D keep=$keep -f bench/outbox_claim.pgbench.sql"
  echo "\$ $claim_cmd" >&2
  claim_pg_start=$(pg_cpu_seconds)
  PGOPTIONS='-c synchronous_commit=off -c outboxd.relay_session=on -c enable_seqscan=off -c enable_bitmapscan=off' run_child "$pgbench" -n -M prepared -c 1 -t "$transactions" -D batch="$BATCH" -D keep="$keep" \
    -f bench/outbox_claim.pgbench.sql "$DATABASE_URL" >"$dir/claim.out" 2>"$dir/claim.err" \
    || { cat "$dir/claim.out" "$dir/claim.err" >&2; die "pgbench (claim) failed"; }
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/claim.out")
  [ -n "$tps" ] || { cat "$dir/claim.out" >&2; die "could not parse pgbench's output"; }
  [ "$(pending)" = 0 ] || problems+=("$mode: pgbench claim left $(pending) rows pending")
  claim_pg_cpu[$mode]=$(awk -v a="$claim_pg_start" -v b="$(pg_cpu_seconds)" -v n="$ROWS" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  claim_rate[$mode]=$(awk -v t="$tps" -v b="$BATCH" 'BEGIN { printf "%.0f", t * b }')
  echo "claim+retire SQL ($mode): ${claim_rate[$mode]} rows/s" >&2
  fi

  # --- outboxd relay: drain the same backlog into a fresh mock cluster in another process -------------
  wal_slot
  preload "$bytes"
  backlog_end=$(sql_value "SELECT pg_current_wal_lsn()")
  bench_start_broker "$partitions"
  relay_cmd="RELAY_SOURCE=$RELAY_SOURCE OUTBOX_RETENTION=$retention RELAY_BATCH_SIZE=$BATCH KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd relay --metrics-listen 127.0.0.1:PORT"
  echo "\$ $relay_cmd" >&2
  metrics_port=$("$root/scripts/pg.sh" free-port)
  OUTBOX_RETENTION=$retention RELAY_BATCH_SIZE=$BATCH KAFKA_BOOTSTRAP_SERVERS=$broker_bootstrap \
    bench_start_daemon "$dir/relay-$mode.log" "$bin" relay --metrics-listen "127.0.0.1:$metrics_port"
  perf_pid=
  start_t= start_pending= start_cpu=
  while :; do
    p=$(( ROWS - $(published) ))
    t=$(now)
    if [ -z "$start_t" ] && [ "$p" -lt "$ROWS" ]; then
      start_t=$t start_pending=$p start_cpu=$(cpu_seconds "$daemon_pid") start_broker_cpu=$(cpu_seconds "$broker_pid") start_pg_cpu=$(pg_cpu_seconds)
      if [ -n "${PERF_DIR:-}" ]; then # attached once the drain runs: every thread of the relay exists by then
        mkdir -p "$PERF_DIR"
        perf_target=(-p "$daemon_pid")
        [ "${PERF_SYSTEM:-0}" != 1 ] || perf_target=(-a)
        perf record -F 1999 ${PERF_CALLGRAPH:+--call-graph $PERF_CALLGRAPH} -g "${perf_target[@]}" -o "$PERF_DIR/relay-$mode.data" >/dev/null 2>"$dir/perf-$mode.err" &
        perf_pid=$!
      fi
    fi
    [ "$p" -gt 0 ] || { end_cpu=$(cpu_seconds "$daemon_pid") end_broker_cpu=$(cpu_seconds "$broker_pid") end_pg_cpu=$(pg_cpu_seconds); break; }
    kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$dir/relay-$mode.log" >&2; die "outboxd relay exited"; }
    kill -0 "$broker_pid" 2>/dev/null || { cat "$dir/broker.log" >&2; die "outboxd-bench mock-cluster exited"; }
    sleep 0.2
  done
  end_t=$t
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; echo "perf profile: $PERF_DIR/relay-$mode.data" >&2; fi
  if [ "$RELAY_SOURCE" = wal ]; then
    # The relay's stream after the drain: until its slot is confirmed past the backlog's end (the
    # stream waits while the relay's claims come back full, and reads the backlog's WAL after).
    catchup_pg_start=$(pg_cpu_seconds)
    until [ "$(sql_value "SELECT coalesce(bool_and(confirmed_flush_lsn >= '$backlog_end'::pg_lsn), false) FROM pg_replication_slots WHERE slot_name = 'outboxd'")" = t ]; do
      kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$dir/relay-$mode.log" >&2; die "outboxd relay exited"; }
      [ "$(awk -v a="$end_t" -v b="$(now)" 'BEGIN { print (b - a > 600) }')" = 0 ] || die "the relay's slot did not catch up with the backlog in 600 s"
      sleep 0.2
    done
    catchup_s[$mode]=$(awk -v a="$end_t" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    catchup_pg_cpu[$mode]=$(awk -v a="$catchup_pg_start" -v b="$(pg_cpu_seconds)" -v n="$start_pending" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
    echo "the relay's slot caught up with the backlog ${catchup_s[$mode]} s after the drain; PostgreSQL CPU meanwhile ${catchup_pg_cpu[$mode]} µs per event" >&2
  fi
  stop_daemon
  stop_broker
  relay_rss[$mode]=$peak_rss_mb
  # CPU per event of the relay process (the relay thread, librdkafka's threads; not the brokers'),
  # over the drain (start-up excluded): steadier than events/s on a shared machine.
  relay_cpu[$mode]=$(awk -v a="$start_cpu" -v b="$end_cpu" -v n="$start_pending" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  broker_cpu[$mode]=$(awk -v a="$start_broker_cpu" -v b="$end_broker_cpu" -v n="$start_pending" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  pg_cpu[$mode]=$(awk -v a="$start_pg_cpu" -v b="$end_pg_cpu" -v n="$start_pending" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  drain_rate[$mode]=$(awk -v n="$start_pending" -v a="$start_t" -v b="$end_t" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')
  echo "relay drain ($mode): ${drain_rate[$mode]} events/s; CPU per event relay ${relay_cpu[$mode]} µs, brokers ${broker_cpu[$mode]}, PostgreSQL ${pg_cpu[$mode]}" >&2
  if grep -qE '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log"; then
    problems+=("$mode: relay log has errors: $(grep -E '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log" | head -n 1)")
  fi

  # --- checks: nothing parked; kept history has every row once, offsets dense per partition from 0 ----
  parked=$(sql_value "SELECT count(*) FROM outbox_parked")
  [ "$parked" = 0 ] || problems+=("$mode: $parked rows parked")
  if [ $mode = keep ]; then
    read -r published distinct offsets < <(sql_value "SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)),
        (SELECT coalesce(sum(m + 1), 0) FROM (SELECT max(kafka_offset) AS m FROM outbox_recent GROUP BY kafka_partition) x)
        FROM outbox_recent" | tr '|' ' ')
    checks[$mode]="published=$published distinct_offsets=$distinct kafka_messages=$offsets"
    [ "$published" = "$ROWS" ] || problems+=("keep: $published of $ROWS rows published")
    [ "$distinct" = "$ROWS" ] || problems+=("keep: $distinct distinct partition/offset pairs for $ROWS rows")
    [ "$offsets" = "$ROWS" ] || problems+=("keep: Kafka offsets say $offsets messages for $ROWS rows")
  else
    left=$(sql_value "SELECT count(*) FROM outbox")
    checks[$mode]="rows_left=$left"
    [ "$left" = 0 ] || problems+=("delete: $left rows left in the outbox")
  fi
  if [ "$RELAY_SOURCE" = wal ] && [ $mode = delete ]; then recvlogical_drain "$backlog_end" "$ROWS"; fi
done

# --- produce ceiling: the same producer settings and cluster shape, no PostgreSQL ----------------------
bench_start_broker "$partitions"
produce_cmd="outboxd-bench produce --count $PRODUCE_COUNT --batch $BATCH --bootstrap BOOTSTRAP"
echo "\$ $produce_cmd" >&2
run_child "$bench_bin" produce --count "$PRODUCE_COUNT" --batch "$BATCH" --bootstrap "$broker_bootstrap" >"$dir/produce.out" 2>"$dir/produce.err" \
  || { cat "$dir/produce.out" "$dir/produce.err" >&2; die "outboxd-bench produce failed"; }
stop_broker
cat "$dir/produce.out" >&2
produce_field() { sed -n "s/^BENCH produce mode=$1 .*events_per_s=\([0-9]*\).*/\1/p" "$dir/produce.out"; }
produce_batched=$(produce_field batched)
produce_pipelined=$(produce_field pipelined)
# CPU per message of the producer alone, batches waiting for their reports (the relay's way), all its
# threads, librdkafka's included: measured by outboxd-bench around the sends (messages built before).
produce_cpu=$(sed -n 's/^BENCH produce mode=batched .*cpu_us_per_msg=\([0-9.]*\).*/\1/p' "$dir/produce.out")
[ -n "$produce_batched" ] && [ -n "$produce_pipelined" ] || die "could not parse outboxd-bench's output"
grep -q "failed=0 " "$dir/produce.out" || problems+=("produce ceiling had failed deliveries")

# --- latency and serve's RSS: bench/latency.sh with the relay alone, the broker in another process --------
latency_lines=()
if [ "$LATENCY_RATE" -gt 0 ]; then
  # PostgreSQL of this script stopped first: latency.sh starts its own (track_commit_timestamp on).
  "$root/scripts/pg.sh" stop "$dir/pg" fast >/dev/null 2>&1 || true
  latency_cmd="CONSUMERS=none KAFKA=process RATES=\"$LATENCY_RATE $LATENCY_RATE $LATENCY_RATE\" DURATION=$LATENCY_DURATION bench/latency.sh"
  echo "\$ $latency_cmd" >&2
  latency_ok=yes
  CONSUMERS=none KAFKA=process RATES="$LATENCY_RATE $LATENCY_RATE $LATENCY_RATE" DURATION=$LATENCY_DURATION \
    run_child bench/latency.sh >"$dir/latency.out" 2>"$dir/latency.err" \
    || { latency_ok=no; cat "$dir/latency.out" "$dir/latency.err" >&2; problems+=("bench/latency.sh failed: $(grep -h '^FAILED' "$dir/latency.out" "$dir/latency.err" | head -n 1)"); }
  cat "$dir/latency.out" >&2
  mapfile -t latency_lines < <(grep -E '^at [0-9]+ tasks/s' "$dir/latency.out" || true)
  serve_rss=$(sed -n 's/^outboxd serve peak RSS[^:]*: \([0-9.]*\) MB.*/\1/p' "$dir/latency.out")
  [ "${#latency_lines[@]}" = 3 ] && [ -n "$serve_rss" ] || problems+=("could not parse bench/latency.sh's output")
fi

# --- summary: each target of issue #15 met or not, as ratios of this run ---------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# verdict VALUE OP LIMIT → "met" or "not met" (OP is ge, le or lt).
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "ge" ? v >= l : op == "le" ? v <= l : v < l); print (v != "" && ok ? "met" : "not met") }'; }
delete_ratio=$(ratio "${drain_rate[delete]}" "${claim_rate[delete]}")
keep_ratio=$(ratio "${drain_rate[keep]}" "${drain_rate[delete]}")
lines=()
lines+=("relay drain (retention 0): ${drain_rate[delete]} events/s; claim+delete SQL alone ${claim_rate[delete]} rows/s: ratio $delete_ratio (target >= 0.9: $(verdict "$delete_ratio" ge 0.9)); ${checks[delete]}")
lines+=("relay drain (kept history): ${drain_rate[keep]} events/s; vs the retention-0 drain: ratio $keep_ratio (target >= 0.9: $(verdict "$keep_ratio" ge 0.9)); claim+mark SQL alone ${claim_rate[keep]} rows/s (drain ratio $(ratio "${drain_rate[keep]}" "${claim_rate[keep]}"), claim+mark/claim+delete $(ratio "${claim_rate[keep]}" "${claim_rate[delete]}")); ${checks[keep]}")
bytes_ratio=$(ratio "${drain_rate[bytes]}" "${drain_rate[delete]}")
lines+=("relay drain (retention 0) of bytes payloads (payload_bytes, the JSON text's bytes: the same size): ${drain_rate[bytes]} events/s; vs JSON payloads: ratio $bytes_ratio (target >= 1.0: $(verdict "$bytes_ratio" ge 1.0)); CPU per event relay ${relay_cpu[bytes]} µs (JSON ${relay_cpu[delete]}), PostgreSQL ${pg_cpu[bytes]} µs (JSON ${pg_cpu[delete]}); ${checks[bytes]}")
if [ "$RELAY_SOURCE" = wal ] && [ -n "${recv_rate:-}" ]; then
  lines+=("PostgreSQL's own decoding of the same backlog's WAL (pg_recvlogical, pgoutput to /dev/null): $recv_rate events/s; CPU per event PostgreSQL $recv_pg_cpu µs + client $recv_client_cpu µs; the WAL relay's drain (retention 0) $(ratio "${drain_rate[delete]}" "$recv_rate")x of it")
  lines+=("the WAL relay's slot caught up with the backlog (retention 0) ${catchup_s[delete]:-?} s after the drain ended, PostgreSQL CPU meanwhile ${catchup_pg_cpu[delete]:-?} µs per event (the stream is not read while the relay's claims come back full)")
fi
lines+=("outboxd relay CPU per event, all its threads (brokers in their own process): retention 0 ${relay_cpu[delete]} µs (target <= 5: $(verdict "${relay_cpu[delete]}" le 5)), kept history ${relay_cpu[keep]} µs (target <= 5: $(verdict "${relay_cpu[keep]}" le 5))")
for mode in delete keep; do
  label=$([ $mode = delete ] && echo "retention 0" || echo "kept history")
  total=$(awk -v a="${relay_cpu[$mode]}" -v b="${broker_cpu[$mode]}" -v c="${pg_cpu[$mode]}" 'BEGIN { printf "%.1f", a + b + c }')
  lines+=("CPU per event over the drain ($label): relay ${relay_cpu[$mode]} + brokers ${broker_cpu[$mode]} + PostgreSQL ${pg_cpu[$mode]} = $total µs, so $(nproc) cores bound the drain at $(awk -v t="$total" -v c="$(nproc)" 'BEGIN { printf "%.0f", (t > 0 ? c * 1e6 / t : 0) }') events/s; the SQL alone used PostgreSQL ${claim_pg_cpu[$mode]} µs per row")
done
lines+=("producer alone (outboxd-bench produce, batches of $BATCH waiting for every report, librdkafka's threads included): $produce_cpu µs CPU per message (target <= 3: $(verdict "$produce_cpu" le 3)): the floor under the relay's CPU per event")
lines+=("outboxd relay peak RSS: retention 0 ${relay_rss[delete]} MB, kept history ${relay_rss[keep]} MB")
lines+=("produce ceiling (brokers in their own process): batches of $BATCH waiting for reports $produce_batched events/s; pipelined $produce_pipelined events/s; ratio relay(retention 0)/batched $(ratio "${drain_rate[delete]}" "$produce_batched"), /pipelined $(ratio "${drain_rate[delete]}" "$produce_pipelined")")
if [ "$LATENCY_RATE" -gt 0 ]; then
  met=0 runs=()
  for l in "${latency_lines[@]}"; do
    p50=$(sed -n 's/.*delivery report p50=\([0-9.]*\)ms p99=\([0-9.]*\)ms.*/\1/p' <<<"$l")
    p99=$(sed -n 's/.*delivery report p50=\([0-9.]*\)ms p99=\([0-9.]*\)ms.*/\2/p' <<<"$l")
    rate=$(sed -n 's/^at \([0-9]*\) tasks.*/\1/p' <<<"$l")
    runs+=("${rate}/s p50=${p50} p99=${p99}")
    # A run counts only when bench/latency.sh found every event published (p50 of no rows is empty).
    [ "$latency_ok" = yes ] && [ "$(verdict "$p50" lt 2)" = met ] && [ "$(verdict "$p99" lt 10)" = met ] && met=$(( met + 1 ))
  done
  lines+=("commit → delivery report at $LATENCY_RATE tasks/s, relay alone (outboxd serve CONSUMERS=none, brokers in their own process), ms: $(IFS=';'; echo "${runs[*]}"); p50 < 2 and p99 < 10 in $met of ${#latency_lines[@]} runs (target 3 of 3: $([ "$met" = 3 ] && echo met || echo not met))")
  lines+=("outboxd serve peak RSS under that load (3 × $LATENCY_DURATION at $LATENCY_RATE tasks/s, CONSUMERS=none): ${serve_rss:-?} MB (target < 48: $(verdict "${serve_rss:-}" lt 48))")
fi
mkdir -p bench/results
{
  bench_header "ROWS=$ROWS BATCH=$BATCH RELAY_SOURCE=$RELAY_SOURCE PRELOAD_TXN=${PRELOAD_TXN:-$ROWS}"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: psql -v rows=$ROWS [-v bytes=1] -f bench/outbox_preload.sql"
  echo "cmd: $claim_cmd (keep=0 and keep=1)"
  echo "cmd: $relay_cmd (and OUTBOX_RETENTION=1h)"
  echo "cmd: $produce_cmd"
  echo "cmd: outboxd-bench mock-cluster --brokers 3 --partitions $partitions (a fresh one for each drain and the produce ceiling; BOOTSTRAP is its address)"
  [ "$LATENCY_RATE" = 0 ] || echo "cmd: $latency_cmd"
  [ -z "${recv_cmd:-}" ] || echo "cmd: $recv_cmd (END: the WAL position after the backlog was written)"
  echo
} | bench_record relay
bench_finish relay
