#!/usr/bin/env bash
# make bench-api: throughput of POST /tasks (outboxd serve: API and relay on the embedded Kafka, no consumers) with
# group commit on and off, and the same INSERT … outbox statement driven straight by pgbench as the
# baseline, on one throwaway durable PostgreSQL cluster, in one run.
#
#   bench/api.sh                      (after `make build`; `make bench-api` does both)
#   DURATION=60s CONNECTIONS=128 bench/api.sh
#
# Steps: cluster (scripts/pg.sh, fsync on) → outboxd migrate → for GROUP_COMMIT in on, off: outboxd
# serve → wrk POST /tasks → stop outboxd; then outboxd api alone (group commit, no relay) → pgbench with bench/task_insert.pgbench.sql → check that every
# task has its event and every event was published → summary, appended to bench/results/api.txt.
# Everything started here is stopped and removed on exit, failure or Ctrl-C.
#
# Environment: DURATION (default 20s; N, Ns, Nm or Nh), CONNECTIONS (default 64),
# PGBIN (default /usr/lib/postgresql/15/bin), PERF (set: `perf record -a` over every run, the
# machine's CPU by thread name written to bench/results/api-perf-{on,off,alone,pgbench}.txt), KAFKA
# (default embedded: the mock cluster inside outboxd, as the targets were first measured; process:
# `outboxd-bench mock-cluster` in its own process, so that outboxd's peak RSS is its own), OUTBOXD_BIN
# (another build to measure, e.g. an older commit's, for an A/B in the same hour).
# Each run also reports the machine's CPU per request, split into outboxd, PostgreSQL and the rest
# (wrk or pgbench's client, the brokers), and how busy the two cores were.
set -euo pipefail
name=api.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
seconds=$(seconds_of DURATION "$DURATION")
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && [ "$CONNECTIONS" -ge 2 ] || die "CONNECTIONS must be an integer >= 2 (got '$CONNECTIONS')"
for tool in wrk curl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
lua=$root/bench/api.lua
sql=$root/bench/task_insert.pgbench.sql

KAFKA=${KAFKA:-embedded}
case $KAFKA in embedded|process) ;; *) die "KAFKA must be embedded or process (got '$KAFKA')" ;; esac
bench_start_cluster
kafka_env=()
if [ "$KAFKA" = process ]; then
  bench_start_broker 6
  kafka_env=("KAFKA_BOOTSTRAP_SERVERS=$broker_bootstrap")
fi
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
problems=()
declare -A api_rps api_line api_rss pg_us relay_pg_us cpu_line

# cpu_split N START BUSY0 PG0 OUTBOXD0 OUTBOXD1: the machine's CPU per task over the N tasks since
# START, as µs of outboxd (OUTBOXD1 - OUTBOXD0 s; 0 0 for none), PostgreSQL and the rest, and how
# busy both cores were from START (the load, then the relay publishing what it left): what bounds
# a run on two shared cores.
cpu_split() {
  awk -v n="$1" -v t0="$2" -v t1="$(now)" -v b0="$3" -v b1="$(machine_busy_seconds)" -v p0="$4" -v p1="$(pg_cpu_seconds)" \
      -v o0="$5" -v o1="$6" -v cores="$(nproc)" 'BEGIN {
    if (n <= 0) { printf "no task written"; exit }
    busy = b1 - b0; pg = p1 - p0; o = o1 - o0; rest = busy - pg - o; if (rest < 0) rest = 0
    printf "%.0f µs per task (outboxd %.0f, PostgreSQL %.0f, the rest %.0f), cores %.0f%% busy",
      busy * 1e6 / n, o * 1e6 / n, pg * 1e6 / n, rest * 1e6 / n, 100 * busy / ((t1 - t0) * cores) }'
}

# perf_start NAME, perf_finish NAME (with PERF set): `perf record -a` of the whole machine over the
# next $seconds (issue #25: where the relay's cost goes), then the CPU by thread name in
# bench/results/api-perf-NAME.txt and by thread and library in api-perf-dso-NAME.txt.
perf_pid=
perf_start() {
  perf_pid=
  [ -n "${PERF:-}" ] || return 0
  mkdir -p bench/results
  perf record -a -g -F 499 -o "bench/results/api-perf-$1.data" -- sleep "$seconds" >/dev/null 2>&1 &
  perf_pid=$!
}
perf_finish() {
  [ -n "$perf_pid" ] || return 0
  wait "$perf_pid" || true
  perf report -i "bench/results/api-perf-$1.data" --no-children --sort comm --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25 \
    >"bench/results/api-perf-$1.txt" || true
  perf report -i "bench/results/api-perf-$1.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 40 \
    >"bench/results/api-perf-dso-$1.txt" || true
  echo "perf ($1): CPU by thread in bench/results/api-perf-$1.txt, samples in bench/results/api-perf-$1.data" >&2
}

# --- API runs: group commit on, then off (outboxd serve), then on with `outboxd api` alone --------------
for mode in on off alone; do
  http_port=$("$root/scripts/pg.sh" free-port)
  # API and relay, as the issues' targets state them; the consumers are measured by bench/consumers.sh.
  # "alone": the API without the relay, for what the relay in the same process costs it (issue #25).
  group_commit=$mode part=serve
  if [ "$mode" = alone ]; then group_commit=on part=api; fi
  GROUP_COMMIT=$group_commit CONSUMERS=none bench_start_daemon "$dir/outboxd-$mode.log" env "${kafka_env[@]}" "$bin" "$part" --http-listen "127.0.0.1:$http_port"
  wait_http_ready "$http_port" "$dir/outboxd-$mode.log"
  echo "outboxd (GROUP_COMMIT=$mode): ready on 127.0.0.1:$http_port (pid $daemon_pid)" >&2
  api_cmd="wrk -t2 -c$CONNECTIONS -d$DURATION --latency -s bench/api.lua http://127.0.0.1:PORT/tasks"
  sql_value "CHECKPOINT" >/dev/null
  echo "\$ GROUP_COMMIT=$mode outboxd serve; $api_cmd" >&2
  # PostgreSQL's CPU over the run: all of it, and the relay's own sessions (application_name outboxd-relay).
  relay_pids=$(relay_backends)
  # shellcheck disable=SC2086 # one PID per word
  pg_before=$(pg_cpu_seconds) relay_before=$(backend_cpu_ticks $relay_pids) tasks_before=$(sql_value "SELECT count(*) FROM tasks")
  busy_before=$(machine_busy_seconds) daemon_before=$(cpu_seconds "$daemon_pid") started=$(now)
  wrk_rc=0
  perf_start "$mode"
  run_child wrk -t2 "-c$CONNECTIONS" "-d$DURATION" --latency -s "$lua" "http://127.0.0.1:$http_port/tasks" \
    >"$dir/wrk-$mode.out" 2>&1 || wrk_rc=$?
  perf_finish "$mode"
  cat "$dir/wrk-$mode.out" >&2
  [ "$wrk_rc" -eq 0 ] || die "wrk failed (exit $wrk_rc)"
  # Let the relay publish the run's events before the daemon stops (it would finish them anyway).
  if [ "$mode" != alone ]; then
    for _ in $(seq 1 300); do
      [ "$(sql_value "SELECT count(*) FROM outbox WHERE published_at IS NULL")" = 0 ] && break
      sleep 0.1
    done
    unpublished=$(sql_value "SELECT count(*) FROM outbox WHERE published_at IS NULL")
  fi
  # Measured once the run's events are published: the relay's work for them is in.
  run_tasks=$(( $(sql_value "SELECT count(*) FROM tasks") - tasks_before ))
  pg_us[$mode]=$(awk -v a="$pg_before" -v b="$(pg_cpu_seconds)" -v n="$run_tasks" 'BEGIN { printf "%.1f", (n > 0 ? (b - a) * 1e6 / n : 0) }')
  # shellcheck disable=SC2086
  relay_pg_us[$mode]=$(awk -v a="$relay_before" -v b="$(backend_cpu_ticks $relay_pids)" -v hz="$(getconf CLK_TCK)" -v n="$run_tasks" \
    'BEGIN { printf "%.1f", (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')
  cpu_line[$mode]="$(cpu_split "$run_tasks" "$started" "$busy_before" "$pg_before" "$daemon_before" "$(cpu_seconds "$daemon_pid")")"
  [ "$mode" = alone ] || cpu_line[$mode]+="; of PostgreSQL's, the relay's sessions ${relay_pg_us[$mode]} µs"
  if [ "$mode" = on ]; then
    # Tasks per group-commit transaction over the run (issue #25), from the daemon's own histogram.
    metrics=$(curl -fsS "http://127.0.0.1:$http_port/metrics" || true)
    mean() { histogram_sum_count "$1" <<<"$metrics" | awk '{ printf "%.1f", ($2 > 0 ? $1 / $2 : 0) }'; }
    tasks_per_commit=$(mean outboxd_group_commit_batch_tasks)
    # Rows per relay claim under the same load (RELAY_CLAIM_LINGER, issue #25).
    rows_per_claim=$(mean outboxd_relay_batch_rows)
  fi
  stop_daemon # before the next run and the baseline, so they do not share the cores
  api_rss[$mode]=$peak_rss_mb
  mkdir -p bench/results && cp "$dir/outboxd-$mode.log" "bench/results/api-outboxd-$mode.log" # kept for a look at any error
  # Log lines are "<time> <level> <component>: …"; warnings (retries) are not failures.
  if grep -qE '^[^ ]+ (error|critical) ' "$dir/outboxd-$mode.log"; then
    problems+=("GROUP_COMMIT=$mode: outboxd logged errors: $(grep -E '^[^ ]+ (error|critical) ' "$dir/outboxd-$mode.log" | head -n 1)")
  fi
  field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" "$dir/wrk-$mode.out" | tail -n 1; }
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk-$mode.out")
  [ -n "$rps" ] && [ -n "$(field p99_us)" ] || die "could not parse wrk's output (see above)"
  errors=$(( $(field non2xx) + $(field connect) + $(field read) + $(field write) + $(field timeout) ))
  api_rps[$mode]=$rps
  label="GROUP_COMMIT=$mode, relay running"
  [ "$mode" = alone ] && label="outboxd api alone, GROUP_COMMIT=on, no relay"
  api_line[$mode]="api ($label): $(printf '%.0f' "$rps") req/s p50=$(ms "$(field p50_us)")ms p99=$(ms "$(field p99_us)")ms avg=$(ms "$(field mean_us)")ms errors=$errors"
  [ "$errors" -eq 0 ] || problems+=("GROUP_COMMIT=$mode: $errors errors (non-2xx or socket)")
done
[ "$unpublished" = 0 ] || problems+=("$unpublished events of the serve runs were not published")

# --- pgbench baseline ---------------------------------------------------------------------------------
pgbench_cmd="pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $seconds -f bench/task_insert.pgbench.sql -l --log-prefix=\$TMP/txlog \$DATABASE_URL"
sql_value "CHECKPOINT" >/dev/null
echo "\$ $pgbench_cmd" >&2
pg_before=$(pg_cpu_seconds) busy_before=$(machine_busy_seconds) started=$(now) tasks_before=$(sql_value "SELECT count(*) FROM tasks")
perf_start pgbench
run_child "$pgbench" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$seconds" -f "$sql" -l --log-prefix="$dir/txlog" "$DATABASE_URL" \
  >"$dir/pgbench.out" 2>"$dir/pgbench.err" || { cat "$dir/pgbench.out" "$dir/pgbench.err" >&2; die "pgbench failed"; }
cpu_line[pgbench]=$(cpu_split "$(( $(sql_value "SELECT count(*) FROM tasks") - tasks_before ))" "$started" "$busy_before" "$pg_before" 0 0)
perf_finish pgbench
cat "$dir/pgbench.out" >&2
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/pgbench.out")
pg_avg_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$dir/pgbench.out")
pg_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
pg_failed=${pg_failed:-0}
[ -n "$pg_tps" ] && [ -n "$pg_avg_ms" ] || die "could not parse pgbench's output (see above)"
# Per-transaction log lines: client_id transaction_no latency_us script_no epoch epoch_us.
read -r pg_p50_us pg_p99_us < <(cat "$dir"/txlog.* | awk '{ print $3 }' | sort -n | awk '
  { v[NR] = $1 }
  END { if (NR == 0) { print 0, 0; exit }
        i50 = int(NR * 0.50 + 0.999999); i99 = int(NR * 0.99 + 0.999999); print v[i50], v[i99] }')
[ "$pg_failed" = 0 ] || problems+=("pgbench had $pg_failed failed transactions")

# --- checks: every task has exactly its event ---------------------------------------------------------
tasks=$(sql_value "SELECT count(*) FROM tasks")
outbox=$(sql_value "SELECT count(*) FROM outbox")
mismatched=$(sql_value "SELECT count(*) FROM outbox o LEFT JOIN tasks t ON t.id::text = o.aggregate_id
  WHERE t.id IS NULL OR o.payload->>'event_id' IS DISTINCT FROM o.event_id::text
     OR o.payload->'task'->>'id' IS DISTINCT FROM o.aggregate_id")
[ "$tasks" = "$outbox" ] || problems+=("ROWS MISMATCH: tasks=$tasks outbox=$outbox")
[ "$mismatched" = 0 ] || problems+=("$mismatched outbox rows do not match their task or event id")

# --- summary ------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
lines=(
  "${api_line[on]}"
  "${api_line[off]}"
  "${api_line[alone]}"
  "pgbench (same statement, $CONNECTIONS connections): $(printf '%.0f' "$pg_tps") tps p50=$(ms "$pg_p50_us")ms p99=$(ms "$pg_p99_us")ms avg=${pg_avg_ms}ms failed=$pg_failed"
  "ratio api/pgbench: group commit $(ratio "${api_rps[on]}" "$pg_tps"); per request $(ratio "${api_rps[off]}" "$pg_tps")"
  "PostgreSQL CPU per task during the run: serve ${pg_us[on]} µs (the relay's sessions ${relay_pg_us[on]} µs of it), api alone ${pg_us[alone]} µs"
  "group commit: ${tasks_per_commit:-0} tasks per transaction (mean of outboxd_group_commit_batch_tasks); relay: ${rows_per_claim:-0} rows per claim (outboxd_relay_batch_rows, RELAY_CLAIM_LINGER=${RELAY_CLAIM_LINGER:-10ms})"
  "ratio serve/api alone (group commit; the relay's cost to the API): $(ratio "${api_rps[on]}" "${api_rps[alone]}")"
  "rows: tasks=$tasks outbox=$outbox unpublished=$unpublished"
  "outboxd peak RSS: GROUP_COMMIT=on ${api_rss[on]} MB, GROUP_COMMIT=off ${api_rss[off]} MB, api alone ${api_rss[alone]} MB (target < 64 MB; KAFKA=$KAFKA)"
  "CPU, group commit: ${cpu_line[on]}"
  "CPU, one transaction per request: ${cpu_line[off]}"
  "CPU, api alone: ${cpu_line[alone]}"
  "CPU, pgbench: ${cpu_line[pgbench]}"
)
mkdir -p bench/results
{
  bench_header "DURATION=$DURATION CONNECTIONS=$CONNECTIONS"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  kafka_text="embedded Kafka"
  [ "$KAFKA" = process ] && kafka_text="KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP: outboxd-bench mock-cluster --brokers 3 --partitions 6 in another process"
  [ -z "${OUTBOXD_BIN:-}" ] || echo "binary: OUTBOXD_BIN=$OUTBOXD_BIN"
  echo "cmd: GROUP_COMMIT=on|off CONSUMERS=none outboxd serve --http-listen 127.0.0.1:PORT ($kafka_text); GROUP_COMMIT=on outboxd api --http-listen 127.0.0.1:PORT"
  echo "cmd: $api_cmd"
  echo "cmd: $pgbench_cmd"
  echo
} | bench_record api
bench_finish api
