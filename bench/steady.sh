#!/usr/bin/env bash
# make bench-steady: what keeping history costs PostgreSQL in a steady state (issue #24), the purge
# included, against retention 0 in the same run.
#
#   bench/steady.sh                          (after `make build`; `make bench-steady` does both)
#   RATE=5000 DURATION=180s KEEP=2m bench/steady.sh
#
# For each mode, `outboxd relay` alone with a fresh mock cluster in another process, while pgbench
# writes one event per transaction at RATE/s (bench/steady_insert.pgbench.sql: the row another
# service writes, the API's payload shape; 4 clients, asynchronous commit): retention 0
# (OUTBOX_RETENTION=0s: rows deleted on publish), then kept history (OUTBOX_RETENTION=KEEP: rows
# marked, and the purge, every 10 s, deletes those published more than KEEP ago). Measured over the
# window from WARMUP after the load starts (default KEEP + 20 s, so the purge runs all through it)
# to the load's end: the CPU of PostgreSQL (every process of the cluster: the writers' inserts, the
# relay's claim and record, the purge, WAL and background work) and of the relay (all its threads)
# per event the relay published in the window (its own count, from /readyz). Checks: nothing pending
# a few seconds after the load; in the kept run the purge kept up (no published row older than
# KEEP + 15 s at the end).
# Target (issue #24): PostgreSQL CPU per event with history kept ≤ 1.3× retention 0.
# Summary appended to bench/results/steady.txt.
#
# Environment: RATE (default 2000), DURATION (default 150s), KEEP (default 1m), WARMUP (seconds;
# default KEEP + 20), PGBIN.
set -euo pipefail
name=steady.sh
source "$(dirname "$0")/lib.sh"

RATE=${RATE:-2000}
DURATION=${DURATION:-150s}
KEEP=${KEEP:-1m}
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 1 ] || die "RATE must be a positive integer (got '$RATE')"
duration_s=$(seconds_of DURATION "$DURATION")
keep_s=$(seconds_of KEEP "$KEEP")
WARMUP=${WARMUP:-$(( keep_s + 20 ))}
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be whole seconds (got '$WARMUP')"
[ $(( duration_s - WARMUP )) -ge 20 ] || die "DURATION ($duration_s s) must be at least WARMUP ($WARMUP s) + 20 s"

bench_start_cluster
declare -A pg_us relay_us events window_rate checks
problems=()
load_cmd="PGOPTIONS='-c synchronous_commit=off' pgbench -n -M prepared -c 4 -j 2 --rate=$RATE -T $duration_s -f bench/steady_insert.pgbench.sql"
published() {
  { curl -s "http://127.0.0.1:$metrics_port/readyz" 2>/dev/null || true; } \
    | { grep -o '"published":[0-9]*' || true; } | awk -F: '{ n += $2 } END { printf "%d", n }'
}

for mode in delete keep; do
  retention=$([ $mode = delete ] && echo 0s || echo "$KEEP")
  sql_value "TRUNCATE outbox" >/dev/null
  sql_value "CHECKPOINT" >/dev/null
  bench_start_broker 6
  metrics_port=$("$root/scripts/pg.sh" free-port)
  echo "\$ OUTBOX_RETENTION=$retention KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd relay --metrics-listen 127.0.0.1:PORT; $load_cmd" >&2
  OUTBOX_RETENTION=$retention KAFKA_BOOTSTRAP_SERVERS=$broker_bootstrap \
    bench_start_daemon "$dir/relay-$mode.log" "$bin" relay --metrics-listen "127.0.0.1:$metrics_port"
  wait_http_ready "$metrics_port" "$dir/relay-$mode.log"

  PGOPTIONS='-c synchronous_commit=off' "$pgbench" -n -M prepared -c 4 -j 2 --rate="$RATE" -T "$duration_s" \
    -f bench/steady_insert.pgbench.sql "$DATABASE_URL" >"$dir/load-$mode.out" 2>&1 &
  child_pid=$!
  sleep "$WARMUP"
  t0=$(now) n0=$(published) pg0=$(pg_cpu_seconds) relay0=$(cpu_seconds "$daemon_pid")
  wait "$child_pid" || { cat "$dir/load-$mode.out" >&2; die "pgbench failed"; }
  child_pid=
  t1=$(now) n1=$(published) pg1=$(pg_cpu_seconds) relay1=$(cpu_seconds "$daemon_pid")
  n=$(( n1 - n0 ))
  [ "$n" -gt 0 ] || die "$mode: nothing published in the measured window"
  events[$mode]=$n
  window_rate[$mode]=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
  pg_us[$mode]=$(awk -v a="$pg0" -v b="$pg1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
  relay_us[$mode]=$(awk -v a="$relay0" -v b="$relay1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')

  pending=
  for _ in $(seq 1 100); do
    pending=$(sql_value "SELECT count(*) FROM outbox_pending")
    [ "$pending" = 0 ] && break
    sleep 0.1
  done
  [ "$pending" = 0 ] || problems+=("$mode: $pending rows still pending 10 s after the load")
  if [ $mode = keep ]; then
    read -r kept oldest < <(sql_value "SELECT count(*), coalesce(round(extract(epoch FROM now() - min(published_at))), 0) FROM outbox" | tr '|' ' ')
    checks[$mode]="rows kept at the end $kept, oldest published ${oldest} s ago"
    [ "$oldest" -le $(( keep_s + 15 )) ] || problems+=("keep: the purge fell behind (a row published $oldest s ago, KEEP $keep_s s)")
  else
    checks[$mode]="rows left $(sql_value "SELECT count(*) FROM outbox")"
  fi
  echo "$mode: ${window_rate[$mode]} events/s published over the window, PostgreSQL ${pg_us[$mode]} µs and the relay ${relay_us[$mode]} µs of CPU per event; ${checks[$mode]}" >&2
  stop_daemon
  stop_broker
done

ratio=$(awk -v a="${pg_us[keep]}" -v b="${pg_us[delete]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.3 ? "met" : "not met") }')
lines=(
  "steady state at $RATE events/s written by pgbench (outboxd relay, brokers in their own process), CPU per published event over ${WARMUP}s–${duration_s}s of the load:"
  "retention 0: PostgreSQL ${pg_us[delete]} µs, outboxd relay ${relay_us[delete]} µs (${events[delete]} events, ${window_rate[delete]}/s); ${checks[delete]}"
  "kept history (OUTBOX_RETENTION=$KEEP, the purge running): PostgreSQL ${pg_us[keep]} µs, outboxd relay ${relay_us[keep]} µs (${events[keep]} events, ${window_rate[keep]}/s); ${checks[keep]}"
  "PostgreSQL CPU per event, kept / retention 0: $ratio (target <= 1.3: $met)"
)
mkdir -p bench/results
{
  bench_header "RATE=$RATE DURATION=$DURATION KEEP=$KEEP WARMUP=$WARMUP"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: OUTBOX_RETENTION=0s|$KEEP KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd relay --metrics-listen 127.0.0.1:PORT"
  echo "cmd: $load_cmd"
  echo
} | bench_record steady
bench_finish steady
