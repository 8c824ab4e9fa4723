#!/usr/bin/env bash
# make bench-api: throughput of POST /tasks against a throwaway durable PostgreSQL cluster, and the
# same INSERT … outbox statement driven straight by pgbench as the baseline, in one run.
#
#   bench/api.sh                      (after `swift build -c release`; `make bench-api` does both)
#   DURATION=60s CONNECTIONS=128 bench/api.sh
#
# Steps: start a cluster (scripts/pg.sh, fsync on) → outboxd migrate → outboxd serve → wrk POST /tasks
# → stop outboxd → pgbench with bench/task_insert.pgbench.sql → check tasks == outbox → summary,
# appended to bench/results/api.txt. Everything started here is stopped and removed on exit,
# failure or Ctrl-C.
#
# Environment: DURATION (default 20s; N, Ns, Nm or Nh), CONNECTIONS (default 64),
# PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN

die() { echo "bench/api.sh: $*" >&2; exit 1; }

[[ $DURATION =~ ^([0-9]+)([smh]?)$ ]] || die "DURATION must look like 20, 20s, 2m or 1h (got '$DURATION')"
case ${BASH_REMATCH[2]} in
  m) seconds=$(( 10#${BASH_REMATCH[1]} * 60 )) ;;
  h) seconds=$(( 10#${BASH_REMATCH[1]} * 3600 )) ;;
  *) seconds=$(( 10#${BASH_REMATCH[1]} )) ;;
esac
[ "$seconds" -gt 0 ] || die "DURATION must be positive (got '$DURATION')"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && [ "$CONNECTIONS" -ge 2 ] || die "CONNECTIONS must be an integer >= 2 (got '$CONNECTIONS')"

bin=$root/.build/release/outboxd
[ -x "$bin" ] || die "$bin not found: run 'swift build -c release' first (or 'make bench-api')"
for tool in wrk curl; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
pgbench=$PGBIN/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || die "pgbench is not installed"
psql=$PGBIN/psql
[ -x "$psql" ] || psql=$(command -v psql) || die "psql is not installed"

lua=$root/bench/api.lua
sql=$root/bench/task_insert.pgbench.sql

# --- throwaway cluster and cleanup -------------------------------------------------------------
dir=$(mktemp -d /tmp/outboxd-bench.XXXXXX)
chmod 755 "$dir" # the server runs as postgres when we are root
daemon_pid=
child_pid=

# Runs a load generator in the background and waits for it, so that Ctrl-C ends the script even though
# wrk catches SIGINT itself and exits 0 (bash would then ignore the signal); cleanup kills it.
run_child() {
  "$@" &
  child_pid=$!
  local rc=0
  wait "$child_pid" || rc=$?
  child_pid=
  return "$rc"
}

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 1 250); do # up to 25 s (SHUTDOWN_TIMEOUT defaults to 20s)
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$daemon_pid" 2>/dev/null || true
  fi
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$child_pid" ]; then
    kill -TERM "$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
  fi
  stop_daemon
  "$root/scripts/pg.sh" stop "$dir/pg" immediate || true
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DATABASE_URL=$("$root/scripts/pg.sh" start "$dir/pg")
export DATABASE_URL
echo "cluster: $DATABASE_URL (durable: fsync on, synchronous_commit on)" >&2

sql_value() { "$psql" "$DATABASE_URL" -XAtqc "$1"; }

# --- outboxd ------------------------------------------------------------------------------------
"$bin" migrate 2>"$dir/migrate.log" || { cat "$dir/migrate.log" >&2; die "outboxd migrate failed"; }

http_port=$("$root/scripts/pg.sh" free-port)
"$bin" serve --http-listen "127.0.0.1:$http_port" 2>"$dir/outboxd.log" &
daemon_pid=$!

ready=
for _ in $(seq 1 300); do # ~30 s
  if curl -sf -o /dev/null "http://127.0.0.1:$http_port/readyz"; then ready=1; break; fi
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  tail -n 30 "$dir/outboxd.log" >&2
  die "outboxd did not become ready on 127.0.0.1:$http_port"
fi
echo "outboxd: ready on 127.0.0.1:$http_port (pid $daemon_pid)" >&2

# --- API run ------------------------------------------------------------------------------------
api_cmd="wrk -t2 -c$CONNECTIONS -d$DURATION --latency -s bench/api.lua http://127.0.0.1:$http_port/tasks"
sql_value "CHECKPOINT" >/dev/null
echo "\$ $api_cmd" >&2
wrk_rc=0
run_child wrk -t2 "-c$CONNECTIONS" "-d$DURATION" --latency -s "$lua" "http://127.0.0.1:$http_port/tasks" \
  >"$dir/wrk.out" 2>&1 || wrk_rc=$?
cat "$dir/wrk.out" >&2
[ "$wrk_rc" -eq 0 ] || die "wrk failed (exit $wrk_rc)"

# Stop the daemon before the baseline so the two do not share the cores.
stop_daemon
if grep -qiE 'error|fatal|panic' "$dir/outboxd.log"; then
  echo "outboxd log has errors (first 10 lines):" >&2
  grep -iE 'error|fatal|panic' "$dir/outboxd.log" | head -n 10 >&2
fi

bench_field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" "$dir/wrk.out" | tail -n 1; }
api_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$dir/wrk.out")
api_requests=$(bench_field requests)
api_non2xx=$(bench_field non2xx)
api_p50_us=$(bench_field p50_us)
api_p99_us=$(bench_field p99_us)
api_mean_us=$(bench_field mean_us)
[ -n "$api_rps" ] && [ -n "$api_p99_us" ] && [ -n "$api_non2xx" ] || die "could not parse wrk's output (see above)"
api_socket_errors=$(( $(bench_field connect) + $(bench_field read) + $(bench_field write) + $(bench_field timeout) ))
api_errors=$(( api_non2xx + api_socket_errors ))

# --- pgbench baseline ---------------------------------------------------------------------------
pgbench_cmd="pgbench -n -M prepared -c $CONNECTIONS -j 2 -T $seconds -f bench/task_insert.pgbench.sql -l --log-prefix=\$TMP/txlog \$DATABASE_URL"
sql_value "CHECKPOINT" >/dev/null
echo "\$ $pgbench_cmd" >&2
pgbench_rc=0
run_child "$pgbench" -n -M prepared -c "$CONNECTIONS" -j 2 -T "$seconds" -f "$sql" -l --log-prefix="$dir/txlog" "$DATABASE_URL" \
  >"$dir/pgbench.out" 2>"$dir/pgbench.err" || pgbench_rc=$?
cat "$dir/pgbench.out" >&2
# pgbench writes progress and per-client errors to stderr; show errors, not the connection chatter.
grep -v '^pgbench (' "$dir/pgbench.err" | head -n 20 >&2 || true
[ "$pgbench_rc" -eq 0 ] || die "pgbench failed (exit $pgbench_rc)"

pg_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$dir/pgbench.out")
pg_avg_ms=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$dir/pgbench.out")
pg_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
pg_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/pgbench.out")
pg_failed=${pg_failed:-0}
[ -n "$pg_tps" ] && [ -n "$pg_avg_ms" ] || die "could not parse pgbench's output (see above)"

# Per-transaction log lines: client_id transaction_no latency_us script_no epoch epoch_us.
shopt -s nullglob
logs=("$dir"/txlog.*)
shopt -u nullglob
[ "${#logs[@]}" -gt 0 ] || die "pgbench wrote no transaction log"
read -r pg_logged pg_p50_us pg_p99_us < <(
  cat "${logs[@]}" | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print 0, 0, 0; exit }
      i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++; if (i99 < 1) i99 = 1
      print NR, v[i50], v[i99]
    }')

# --- checks -------------------------------------------------------------------------------------
tasks=$(sql_value "SELECT count(*) FROM tasks")
outbox=$(sql_value "SELECT count(*) FROM outbox")
mismatched=$(sql_value "SELECT count(*) FROM outbox o LEFT JOIN tasks t ON t.id::text = o.aggregate_id
  WHERE t.id IS NULL OR o.payload->>'event_id' IS DISTINCT FROM o.event_id::text
     OR o.payload->'task'->>'id' IS DISTINCT FROM o.aggregate_id")
api_ok=$(( api_requests - api_non2xx ))
echo "rows: tasks=$tasks outbox=$outbox (api 2xx=$api_ok + pgbench tx=${pg_tx:-?}; outbox rows not matching their task/event id: $mismatched)" >&2

# --- summary ------------------------------------------------------------------------------------
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
api_line="api: $(printf '%.0f' "$api_rps") req/s p50=$(ms "$api_p50_us")ms p99=$(ms "$api_p99_us")ms avg=$(ms "$api_mean_us")ms errors=$api_errors"
[ "$api_errors" -eq 0 ] || api_line="$api_line (non-2xx=$api_non2xx socket=$api_socket_errors)"
pg_line="pgbench: $(printf '%.0f' "$pg_tps") tps p50=$(ms "$pg_p50_us")ms p99=$(ms "$pg_p99_us")ms avg=${pg_avg_ms}ms failed=$pg_failed"
ratio_line="ratio api/pgbench: $(awk -v a="$api_rps" -v b="$pg_tps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
rows_line="rows: tasks=$tasks outbox=$outbox"

problems=()
[ "$tasks" = "$outbox" ] || problems+=("ROWS MISMATCH: tasks=$tasks outbox=$outbox")
[ "$mismatched" = 0 ] || problems+=("$mismatched outbox rows do not match their task or event id")
[ "$api_errors" -eq 0 ] || problems+=("API run had $api_errors errors (non-2xx=$api_non2xx socket=$api_socket_errors)")
[ "$pg_failed" = 0 ] || problems+=("pgbench had $pg_failed failed transactions")

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no -- Sources Package.swift migrations 2>/dev/null)" ]; then
  commit="$commit+dirty"
fi
mkdir -p bench/results
{
  echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit host $(hostname) cores $(nproc) DURATION=$DURATION CONNECTIONS=$CONNECTIONS"
  echo "$api_line"
  echo "$pg_line"
  echo "$ratio_line"
  echo "$rows_line"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: DATABASE_URL=\$URL .build/release/outboxd serve --http-listen 127.0.0.1:$http_port"
  echo "cmd: $api_cmd"
  echo "cmd: $pgbench_cmd"
  echo
} >>bench/results/api.txt

echo
echo "$api_line"
echo "$pg_line"
echo "$ratio_line"
echo "$rows_line"
echo "(appended to bench/results/api.txt)"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
