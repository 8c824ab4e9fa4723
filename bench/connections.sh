#!/usr/bin/env bash
# make bench-connections: what held connections cost. `outboxd serve` (API and relay, embedded Kafka,
# no consumers) under wrk POST /tasks at 64 connections: alone, then while IDLE keep-alive connections
# (default 10,000) and TRICKLE connections that send a byte every 10 s (default 1,000) are held, then
# alone again (the ratio takes the mean of the two runs alone); GET /healthz probed every 50 ms
# throughout (from another address); systemd's watchdog pings timed on a notify socket
# (WATCHDOG_USEC=2 s).
#
#   bench/connections.sh              (after `make build`; `make bench-connections` does both)
#   DURATION=30s IDLE=10000 TRICKLE=1000 bench/connections.sh
#
# Targets (issue #14): req/s with the connections held >= 0.9x the same run without them; /healthz
# p99 < 50 ms throughout; RSS per held connection < 16 KB; no watchdog ping missed (no gap longer
# than the watchdog interval).
set -euo pipefail
name=connections.sh
source "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-20s}
IDLE=${IDLE:-10000}
TRICKLE=${TRICKLE:-1000}
CONNECTIONS=${CONNECTIONS:-64}
seconds=$(seconds_of DURATION "$DURATION")
for variable in IDLE TRICKLE CONNECTIONS; do
  [[ ${!variable} =~ ^[0-9]+$ ]] || die "$variable must be a whole number (got '${!variable}')"
done
for tool in wrk curl python3; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
held=$(( IDLE + TRICKLE ))
# The load generator holds the connections too; each side needs a descriptor per connection.
ulimit -n "$(( held + 4096 ))" 2>/dev/null || die "cannot raise the open-files limit to $(( held + 4096 )) (ulimit -Hn is $(ulimit -Hn))"

bench_start_cluster
http_port=$("$root/scripts/pg.sh" free-port)
notify=$dir/notify.sock
watchdog_usec=2000000
CONSUMERS=none NOTIFY_SOCKET=$notify WATCHDOG_USEC=$watchdog_usec \
  HTTP_MAX_CONNECTIONS=$(( held + 1000 )) HTTP_MAX_CONNECTIONS_PER_ADDRESS=0 \
  HTTP_IDLE_TIMEOUT=3600s HTTP_REQUEST_TIMEOUT=3600s \
  bench_start_daemon "$dir/outboxd.log" "$bin" serve --http-listen "127.0.0.1:$http_port"
wait_http_ready "$http_port" "$dir/outboxd.log"
echo "outboxd: ready on 127.0.0.1:$http_port (pid $daemon_pid)" >&2
run_child python3 "$root/bench/connections.py" "$http_port" "$notify" "$daemon_pid" 2 "$seconds" "$CONNECTIONS" "$IDLE" "$TRICKLE" \
  >"$dir/connections.out" 2>"$dir/connections.err" || { cat "$dir/connections.err" >&2; die "connections.py failed"; }
cat "$dir/connections.err" >&2
stop_daemon
v() { sed -n "s/^$1=//p" "$dir/connections.out"; }
problems=()
if grep -qE '^[^ ]+ (error|critical) ' "$dir/outboxd.log"; then
  problems+=("outboxd logged errors: $(grep -E '^[^ ]+ (error|critical) ' "$dir/outboxd.log" | head -n 1)")
fi
grep -q "watchdog pings withheld" "$dir/outboxd.log" && problems+=("the watchdog withheld pings")
[ "$(v held)" = "$held" ] || problems+=("held $(v held) connections, not $held")
for run in base held after; do
  [ "$(v ${run}_errors)" = 0 ] || problems+=("$run: $(v ${run}_errors) wrk errors")
  [ "$(v ${run}_healthz_failures)" = 0 ] || problems+=("$run: $(v ${run}_healthz_failures) /healthz probes failed")
done
met() { awk -v a="$1" -v b="$2" -v op="$3" 'BEGIN { print ((op == ">=" ? a >= b : a < b) ? "met" : "NOT met") }'; }
per_kb=$(awk -v b="$(v rss_per_connection_bytes)" 'BEGIN { printf "%.1f", b / 1024 }')
interval_s=$(awk -v u="$watchdog_usec" 'BEGIN { print u / 1000000 }')
lines=(
  "api alone (before): $(v base_rps) req/s p99=$(v base_p99_ms)ms; /healthz p99=$(v base_healthz_p99_ms)ms max=$(v base_healthz_max_ms)ms"
  "api with $IDLE idle + $TRICKLE trickling connections held: $(v held_rps) req/s p99=$(v held_p99_ms)ms; /healthz p99=$(v held_healthz_p99_ms)ms max=$(v held_healthz_max_ms)ms"
  "api alone (after): $(v after_rps) req/s p99=$(v after_p99_ms)ms; /healthz p99=$(v after_healthz_p99_ms)ms max=$(v after_healthz_max_ms)ms"
  "ratio held / mean of alone: $(v ratio) (target >= 0.9: $(met "$(v ratio)" 0.9 ">="))"
  "/healthz p99 < 50 ms: before $(met "$(v base_healthz_p99_ms)" 50 "<"), held $(met "$(v held_healthz_p99_ms)" 50 "<"), after $(met "$(v after_healthz_p99_ms)" 50 "<")"
  "RSS: $(( $(v rss_before_kb) / 1024 )) MB before, $(( $(v rss_after_kb) / 1024 )) MB with $held held: ${per_kb} KB per connection (target < 16 KB: $(met "$per_kb" 16 "<"))"
  "watchdog (WATCHDOG_USEC=$watchdog_usec): $(v pings) pings in $(v run_s) s, longest gap $(v max_ping_gap_s) s (no ping missed: $(met "$(v max_ping_gap_s)" "$interval_s" "<"))"
)
{
  bench_header "DURATION=$DURATION IDLE=$IDLE TRICKLE=$TRICKLE CONNECTIONS=$CONNECTIONS"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: bench/connections.sh (DURATION=$DURATION IDLE=$IDLE TRICKLE=$TRICKLE CONNECTIONS=$CONNECTIONS)"
  echo
} | bench_record connections
bench_finish connections
