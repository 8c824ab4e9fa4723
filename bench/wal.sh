#!/usr/bin/env bash
# make bench-wal: commit → delivery report for events another service writes with outbox_emit (no
# NOTIFY), `outboxd relay` with RELAY_SOURCE=poll beside RELAY_SOURCE=wal (issue #27), at RATE
# events/s for DURATION each, same run, on one throwaway durable cluster (wal_level=logical,
# track_commit_timestamp=on) and the mock cluster in another process (outboxd-bench mock-cluster).
# Each writer transaction keeps its event id in bench_emits, whose commit timestamp is the event's
# commit time; the report's time is the row's published_at.
#
#   bench/wal.sh                      (after `make build`; `make bench-wal` does both)
#   RATE=1000 DURATION=10s bench/wal.sh
#
# Summary appended to bench/results/wal.txt. Environment: RATE (default 1000), DURATION (default
# 10s), RELAY_POLL_INTERVAL (default 1s, the default of outboxd), PGBIN.
set -euo pipefail
name=wal.sh
source "$(dirname "$0")/lib.sh"

RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
seconds=$(seconds_of DURATION "$DURATION")
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 1 ] || die "RATE must be a positive integer (got '$RATE')"
export RELAY_POLL_INTERVAL=${RELAY_POLL_INTERVAL:-1s}

PG_SETTINGS="-c track_commit_timestamp=on -c wal_level=logical" bench_start_cluster
sql_value "CREATE TABLE bench_emits (event_id uuid PRIMARY KEY)" >/dev/null
bench_start_broker 6
problems=()
declare -A line
for mode in poll wal; do
  metrics_port=$("$root/scripts/pg.sh" free-port)
  RELAY_SOURCE=$mode RELAY_WAL_SLOT=outboxd_bench KAFKA_BOOTSTRAP_SERVERS=$broker_bootstrap \
    bench_start_daemon "$dir/relay-$mode.log" "$bin" relay --metrics-listen "127.0.0.1:$metrics_port"
  wait_http_ready "$metrics_port" "$dir/relay-$mode.log"
  if [ "$mode" = wal ]; then
    for _ in $(seq 1 100); do
      [ "$(sql_value "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'outboxd_bench' AND active")" = 1 ] && break
      sleep 0.1
    done
    [ "$(sql_value "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'outboxd_bench' AND active")" = 1 ] \
      || { tail -n 20 "$dir/relay-$mode.log" >&2; die "the WAL source did not start streaming"; }
  fi
  since=$(sql_value "SELECT now()")
  load_cmd="pgbench -n -M prepared -c 4 -j 2 --rate=$RATE -T $seconds -f bench/emit_commit.pgbench.sql"
  echo "\$ RELAY_SOURCE=$mode outboxd relay; $load_cmd" >&2
  run_child "$pgbench" -n -M prepared -c 4 -j 2 --rate="$RATE" -T "$seconds" -f "$root/bench/emit_commit.pgbench.sql" "$DATABASE_URL" \
    >"$dir/pgbench-$mode.out" 2>"$dir/pgbench-$mode.err" || { cat "$dir/pgbench-$mode.out" "$dir/pgbench-$mode.err" >&2; die "pgbench failed"; }
  for _ in $(seq 1 300); do
    [ "$(sql_value "SELECT count(*) FROM outbox WHERE created_at >= '$since' AND published_at IS NULL")" = 0 ] && break
    sleep 0.1
  done
  unpublished=$(sql_value "SELECT count(*) FROM outbox WHERE created_at >= '$since' AND published_at IS NULL")
  [ "$unpublished" = 0 ] || problems+=("RELAY_SOURCE=$mode: $unpublished events not published 30 s after the load")
  stats=$(sql_value "WITH l AS (
      SELECT extract(epoch FROM o.published_at - pg_xact_commit_timestamp(b.xmin)) * 1000 AS ms
      FROM bench_emits b JOIN outbox o USING (event_id) WHERE o.created_at >= '$since' AND o.published_at IS NOT NULL)
    SELECT count(*) || ' ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' '
        || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' || round(max(ms)::numeric, 2) FROM l")
  read -r events p50 p99 max <<<"$stats"
  achieved=$(awk -v n="$events" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')
  line[$mode]="RELAY_SOURCE=$mode: commit → delivery report p50=${p50}ms p99=${p99}ms max=${max}ms; events=$events (${achieved}/s)"
  echo "${line[$mode]}" >&2
  stop_daemon
  if grep -qE '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log"; then
    problems+=("RELAY_SOURCE=$mode: the relay logged errors: $(grep -E '^[^ ]+ (error|critical) ' "$dir/relay-$mode.log" | head -n 1)")
  fi
done
sql_value "SELECT pg_drop_replication_slot('outboxd_bench')" >/dev/null

target=$(awk -v l="${line[wal]}" 'BEGIN { match(l, /p50=[0-9.]+/); p50 = substr(l, RSTART + 4, RLENGTH - 4) + 0
  match(l, /p99=[0-9.]+/); p99 = substr(l, RSTART + 4, RLENGTH - 4) + 0; print (p50 < 5 && p99 < 20 ? "met" : "not met") }')
lines=(
  "another service's outbox_emit at $RATE/s for $DURATION, no NOTIFY, RELAY_POLL_INTERVAL=$RELAY_POLL_INTERVAL, outboxd relay with the mock cluster in another process:"
  "${line[poll]}"
  "${line[wal]}"
  "target (issue #27, wal): p50 < 5 ms and p99 < 20 ms: $target"
)
mkdir -p bench/results
{
  bench_header "RATE=$RATE DURATION=$DURATION"
  printf '%s\n' "${lines[@]}"
  echo "cmd: RELAY_SOURCE=poll|wal RELAY_WAL_SLOT=outboxd_bench KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd relay --metrics-listen 127.0.0.1:PORT"
  echo "cmd: $load_cmd"
  for p in "${problems[@]}"; do echo "PROBLEM: $p"; done
} | tee -a bench/results/wal.txt > bench/results/wal.latest
echo "(appended to bench/results/wal.txt)" >&2
[ ${#problems[@]} -eq 0 ] || exit 1
