#!/usr/bin/env bash
# make bench-latency: commit → delivery report latency of `outboxd serve` (embedded Kafka) at a steady
# request rate: from the commit of the API's transaction (track_commit_timestamp) to the row's
# published_at (set when the relay records the delivery, just after the report); also from the row's
# created_at (set inside the transaction, so it adds the commit's own WAL flush).
#
#   bench/latency.sh                  (after `swift build -c release`; `make bench-latency` does both)
#   RATE=5000 DURATION=30s bench/latency.sh
#
# Steps: cluster (durable) → outboxd serve → wrk at RATE requests/s (CONNECTIONS connections each
# pausing CONNECTIONS*1000/RATE ms between requests) → wait until nothing is pending → percentiles in
# SQL over the rows written during the run. Summary appended to bench/results/latency.txt.
#
# Environment: RATE (default 2000), DURATION (default 20s), CONNECTIONS (default 40),
# PGBIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
name=latency.sh
source "$(dirname "$0")/lib.sh"

RATE=${RATE:-2000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-40}
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 1 ] || die "RATE must be a positive integer (got '$RATE')"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && [ "$CONNECTIONS" -ge 2 ] || die "CONNECTIONS must be an integer >= 2 (got '$CONNECTIONS')"
seconds=$(seconds_of DURATION "$DURATION")
pause_ms=$(( CONNECTIONS * 1000 / RATE ))
[ "$pause_ms" -ge 1 ] || die "RATE $RATE is too high for $CONNECTIONS connections (pause below 1 ms): raise CONNECTIONS"
command -v wrk >/dev/null || die "wrk is not installed"

# track_commit_timestamp: the commit time of each task's transaction, for commit → report latency.
PG_SETTINGS="-c track_commit_timestamp=on" bench_start_cluster
http_port=$("$root/scripts/pg.sh" free-port)
CONSUMERS=none bench_start_daemon "$dir/outboxd.log" "$bin" serve --http-listen "127.0.0.1:$http_port"
wait_http_ready "$http_port" "$dir/outboxd.log"

wrk_cmd="wrk -t2 -c$CONNECTIONS -d$DURATION -s bench/latency.lua URL/tasks -- $pause_ms"
echo "\$ $wrk_cmd" >&2
run_child wrk -t2 "-c$CONNECTIONS" "-d$DURATION" -s bench/latency.lua "http://127.0.0.1:$http_port/tasks" -- "$pause_ms" \
  >"$dir/wrk.out" 2>&1 || { cat "$dir/wrk.out" >&2; die "wrk failed"; }
cat "$dir/wrk.out" >&2
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" "$dir/wrk.out" | tail -n 1; }
requests=$(field requests); non2xx=$(field non2xx); socket_errors=$(field socket_errors)
api_p50=$(field p50_us); api_p99=$(field p99_us); duration_us=$(field duration_us)
[ -n "$requests" ] && [ -n "$duration_us" ] || die "could not parse wrk's output"

for _ in $(seq 1 300); do
  [ "$(sql_value "SELECT count(*) FROM outbox WHERE published_at IS NULL")" = 0 ] && break
  sleep 0.1
done
stop_daemon

# created_at is set inside the API's transaction, before its commit; the task row's xmin is that
# transaction (the task is never updated here), so pg_xact_commit_timestamp gives the commit itself.
read -r rows pending p50 p99 max c50 c99 < <(sql_value "
  SELECT count(*), count(*) FILTER (WHERE published_at IS NULL),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY commit_ms))::numeric, 2),
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY commit_ms))::numeric, 2), round(max(commit_ms)::numeric, 2),
         round((percentile_cont(0.5) WITHIN GROUP (ORDER BY created_ms))::numeric, 2),
         round((percentile_cont(0.99) WITHIN GROUP (ORDER BY created_ms))::numeric, 2)
  FROM (SELECT o.published_at,
               extract(epoch FROM o.published_at - pg_xact_commit_timestamp(t.xmin)) * 1000 AS commit_ms,
               extract(epoch FROM o.published_at - o.created_at) * 1000 AS created_ms
        FROM outbox o JOIN tasks t ON t.id::text = o.aggregate_id) x" | tr '|' ' ')
tasks=$(sql_value "SELECT count(*) FROM tasks")

rate=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
line1="commit → delivery report at $rate tasks/s (target $RATE): p50=${p50}ms p99=${p99}ms max=${max}ms over $rows events (from created_at, before the commit: p50=${c50}ms p99=${c99}ms)"
line2="API at that rate: p50=$(ms "$api_p50")ms p99=$(ms "$api_p99")ms non-2xx=$non2xx socket_errors=$socket_errors; tasks=$tasks outbox=$rows pending=$pending"
problems=()
[ "$pending" = 0 ] || problems+=("$pending events still pending 30 s after the load")
[ "$tasks" = "$rows" ] || problems+=("tasks=$tasks but outbox=$rows")
[ "$non2xx" = 0 ] && [ "$socket_errors" = 0 ] || problems+=("non-2xx=$non2xx socket errors=$socket_errors")
mkdir -p bench/results
{
  bench_header "RATE=$RATE DURATION=$DURATION CONNECTIONS=$CONNECTIONS"
  echo "$line1"
  echo "$line2"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: CONSUMERS=none outboxd serve --http-listen 127.0.0.1:PORT (embedded Kafka, OUTBOX_RETENTION=1h)"
  echo "cmd: $wrk_cmd"
  echo
} >>bench/results/latency.txt
echo
echo "$line1"
echo "$line2"
echo "(appended to bench/results/latency.txt)"
if [ "${#problems[@]}" -gt 0 ]; then
  for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
  exit 1
fi
