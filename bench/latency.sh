#!/usr/bin/env bash
# make bench-latency: end-to-end latency of `outboxd serve` (audit consumer on) at
# steady request rates, from the commit of the API's transaction (track_commit_timestamp) to
#   - the delivery report: the row's published_at (the time the report reached the relay);
#   - the record of it: the commit of the relay's transaction that marked the row published
#     (pg_xact_commit_timestamp of the outbox row's xmin), a round trip or more after the report;
#   - the consumer's effect: the commit of the audit consumer's transaction that wrote the event's
#     audit_log row (pg_xact_commit_timestamp of that row).
#
#   bench/latency.sh                      (after `make build`; `make bench-latency` does both)
#   RATES="1000 2000 5000" DURATION=10s bench/latency.sh
#   CONSUMERS=all KAFKA=tansu RATES=2000 DURATION=10s bench/latency.sh   (issue #17: all three consumers, real broker)
#
# Steps: cluster (durable) → outboxd serve → per rate: wrk at RATE requests/s (each wrk thread
# hands out a request slot every 2000/RATE ms, bench/latency.lua) → wait until every event is
# published and applied → percentiles in SQL over that run's rows. One summary line per rate; appended to bench/results/latency.txt, data
# points in bench/results/latency.tsv (for bench/report.sh's plot).
#
# Environment: RATES (default "1000 2000 5000"; 2000 is the target rate of issue #3), DURATION
# (per rate, default 10s; with the audit consumer RATE × DURATION may not pass 60,000 events: the
# embedded mock cluster keeps ~5 MB per partition and drops older records a lagging consumer has
# not read yet), CONSUMERS (default audit; all: audit, notifications and reminders, as issue #17
# asks; none measures the relay alone, as issue #3 asks, and reports no effect latency), KAFKA
# (default process: librdkafka's mock cluster in its own process, `outboxd-bench mock-cluster`, so
# that outboxd's RSS and CPU are its own; embedded: the mock cluster inside outboxd,
# KAFKA_BOOTSTRAP_SERVERS=embedded; tansu: the real-broker tier, Tansu in its own process with
# librdkafka 2.16.1, scripts/kafka-tier.sh), PGBIN, BENCH_KEEP_LOGS. Each rate's line also says how
# many of its events each consumer had not applied when the load ended, and how long after the end
# every event was published and applied by every consumer (polled every 0.1 s).
set -euo pipefail
name=latency.sh
source "$(dirname "$0")/lib.sh"

RATES=${RATES:-1000 2000 5000}
consumers_mode=${CONSUMERS:-audit}
case $consumers_mode in
  audit|none) consumer_list=$consumers_mode ;;
  all) consumer_list=audit,notifications,reminders ;;
  *) die "CONSUMERS must be audit, all or none (got '$consumers_mode')" ;;
esac
export CONSUMERS=$consumer_list # what outboxd (also its migrate) reads
KAFKA=${KAFKA:-process}
case $KAFKA in process|embedded|tansu) ;; *) die "KAFKA must be process, embedded or tansu (got '$KAFKA')" ;; esac
DURATION=${DURATION:-10s}
seconds=$(seconds_of DURATION "$DURATION")
for rate in $RATES; do
  [[ $rate =~ ^[0-9]+$ ]] && [ "$rate" -ge 1 ] || die "RATES must be positive integers (got '$RATES')"
  [ "$consumers_mode" = none ] || [ $(( rate * seconds )) -le 60000 ] \
    || die "RATE $rate × DURATION $DURATION is more than 60000 events, which the mock cluster would not all keep for the audit consumer; lower DURATION"
done
command -v wrk >/dev/null || die "wrk is not installed"

PG_SETTINGS="-c track_commit_timestamp=on" bench_start_cluster
http_port=$("$root/scripts/pg.sh" free-port)
if [ "$KAFKA" = process ]; then
  bench_start_broker 6
  bootstrap=$broker_bootstrap
  rss_target=48 rss_issue="#15, the broker in another process"
  daemon_cmd="CONSUMERS=$consumer_list KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd serve --http-listen 127.0.0.1:PORT (OUTBOX_RETENTION=1h; outboxd-bench mock-cluster --brokers 3 --partitions 6 in another process)"
elif [ "$KAFKA" = tansu ]; then
  bench_start_tansu
  bootstrap=$tansu_bootstrap
  rss_target=48 rss_issue="#15, the broker in another process"
  daemon_cmd="CONSUMERS=$consumer_list KAFKA_BOOTSTRAP_SERVERS=BOOTSTRAP outboxd serve --http-listen 127.0.0.1:PORT (OUTBOX_RETENTION=1h; Tansu in another process, librdkafka 2.16.1, scripts/kafka-tier.sh)"
else
  bootstrap=embedded
  rss_target=64 rss_issue="#6, the embedded cluster included"
  daemon_cmd="CONSUMERS=$consumer_list outboxd serve --http-listen 127.0.0.1:PORT (embedded Kafka, OUTBOX_RETENTION=1h)"
fi
KAFKA_BOOTSTRAP_SERVERS=$bootstrap bench_start_daemon "$dir/outboxd.log" "$bin" serve --http-listen "127.0.0.1:$http_port"
wait_http_ready "$http_port" "$dir/outboxd.log"
# Warm-up: the audit consumer joins its group within a few seconds of start-up; the measured runs
# begin once a first event is published (and has its audit row).
curl -sf -o /dev/null -XPOST -H 'content-type: application/json' -d '{"title":"warm-up"}' "http://127.0.0.1:$http_port/tasks" \
  || die "the warm-up POST failed"
# Events of this run still to publish (or, with consumers, to apply by any of them) since $1.
unfinished() {
  local applied="TRUE"
  [ "$consumers_mode" = none ] || applied="EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)
    AND NOT EXISTS (SELECT 1 FROM unnest(string_to_array('$consumer_list', ',')) c
                    WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.consumer = c AND i.event_id = o.event_id))"
  sql_value "SELECT count(*) FROM outbox o WHERE o.created_at >= '$1' AND (o.published_at IS NULL OR NOT ($applied))"
}
# Per consumer, events of this run since $1 it has not applied yet: "audit=0 notifications=3 …".
behind() {
  sql_value "SELECT string_agg(c || '=' || (SELECT count(*) FROM outbox o WHERE o.created_at >= '$1'
               AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.consumer = c AND i.event_id = o.event_id)), ' ')
             FROM unnest(string_to_array('$consumer_list', ',')) c"
}
for _ in $(seq 1 300); do
  [ "$(unfinished -infinity)" = 0 ] && break
  sleep 0.1
done
[ "$(unfinished -infinity)" = 0 ] || die "the warm-up event was not published (and applied) within 30 s"

lines=() problems=() cmds=() tsv=()
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
for RATE in $RATES; do
  # Two wrk threads, each handing out a request slot every 2000/RATE ms; enough connections that
  # slow responses (up to ~50 ms each) do not hold the rate back.
  connections=$(( RATE / 20 > 40 ? RATE / 20 : 40 ))
  interval_ms=$(awk -v r="$RATE" 'BEGIN { printf "%.4f", 2000 / r }')
  since=$(sql_value "SELECT clock_timestamp()")
  # The relay's own PostgreSQL sessions (application_name outboxd-relay): their CPU per event, and
  # its rows per claim, over the run (issue #25).
  relay_pids=$(relay_backends)
  claims() { curl -fsS "http://127.0.0.1:$http_port/metrics" | histogram_sum_count outboxd_relay_batch_rows; }
  # shellcheck disable=SC2086 # one PID per word
  ticks_before=$(backend_cpu_ticks $relay_pids)
  read -r claimed_before claims_before < <(claims)
  wrk_cmd="wrk -t2 -c$connections -d$DURATION -s bench/latency.lua URL/tasks -- $interval_ms"
  cmds+=("$wrk_cmd")
  echo "\$ $wrk_cmd" >&2
  run_child wrk -t2 "-c$connections" "-d$DURATION" -s bench/latency.lua "http://127.0.0.1:$http_port/tasks" -- "$interval_ms" \
    >"$dir/wrk.out" 2>&1 || { cat "$dir/wrk.out" >&2; die "wrk failed"; }
  cat "$dir/wrk.out" >&2
  field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" "$dir/wrk.out" | tail -n 1; }
  requests=$(field requests); non2xx=$(field non2xx); socket_errors=$(field socket_errors)
  api_p50=$(field p50_us); api_p99=$(field p99_us); duration_us=$(field duration_us)
  [ -n "$requests" ] && [ -n "$duration_us" ] || die "could not parse wrk's output"

  load_end=$(date +%s.%N)
  behind_at_end=
  [ "$consumers_mode" = none ] || behind_at_end=$(behind "$since")
  for _ in $(seq 1 600); do
    [ "$(unfinished "$since")" = 0 ] && break
    sleep 0.1
  done
  caught_up_s=$(awk -v a="$load_end" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  read -r claimed_after claims_after < <(claims)
  # shellcheck disable=SC2086
  relay_pg=$(awk -v a="$ticks_before" -v b="$(backend_cpu_ticks $relay_pids)" -v hz="$(getconf CLK_TCK)" -v n="$(( ${claimed_after%.*} - ${claimed_before%.*} ))" \
    -v c="$(( ${claims_after%.*} - ${claims_before%.*} ))" \
    'BEGIN { printf "relay: %.1f rows per claim, its PostgreSQL sessions %.1f µs per event", (c > 0 ? n / c : 0), (n > 0 ? (b - a) / hz * 1e6 / n : 0) }')

  # The task row's xmin is the API's transaction (tasks are not updated here), the audit_log row's
  # xmin the consumer's, the outbox row's the relay's mark; track_commit_timestamp gives the commits.
  # IFS='|': a percentile of no rows is an empty field, which must stay in its place.
  IFS='|' read -r rows pending unapplied p50 p99 max r50 r99 e50 e99 emax < <(sql_value "
    WITH x AS (
      SELECT o.published_at, a.xmin AS audit_xmin,
             extract(epoch FROM o.published_at - pg_xact_commit_timestamp(t.xmin)) * 1000 AS report_ms,
             extract(epoch FROM pg_xact_commit_timestamp(o.xmin) - pg_xact_commit_timestamp(t.xmin)) * 1000 AS recorded_ms,
             extract(epoch FROM pg_xact_commit_timestamp(a.xmin) - pg_xact_commit_timestamp(t.xmin)) * 1000 AS effect_ms
      FROM outbox o JOIN tasks t ON t.id::text = o.aggregate_id LEFT JOIN audit_log a ON a.event_id = o.event_id
      WHERE o.created_at >= '$since')
    SELECT count(*), count(*) FILTER (WHERE published_at IS NULL), count(*) FILTER (WHERE audit_xmin IS NULL),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY report_ms))::numeric, 2),
           round((percentile_cont(0.99) WITHIN GROUP (ORDER BY report_ms))::numeric, 2), round(max(report_ms)::numeric, 2),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY recorded_ms))::numeric, 2),
           round((percentile_cont(0.99) WITHIN GROUP (ORDER BY recorded_ms))::numeric, 2),
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY effect_ms))::numeric, 2),
           round((percentile_cont(0.99) WITHIN GROUP (ORDER BY effect_ms))::numeric, 2), round(max(effect_ms)::numeric, 2)
    FROM x")
  achieved=$(awk -v n="$requests" -v us="$duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
  effect="commit → audit effect p50=${e50}ms p99=${e99}ms max=${emax}ms; not applied when the load ended: $behind_at_end; every event published and applied by all ${caught_up_s} s after it"
  [ "$consumers_mode" != none ] || effect="no consumer running"
  lines+=("at $achieved tasks/s (target $RATE): commit → delivery report p50=${p50}ms p99=${p99}ms max=${max}ms; commit → recorded p50=${r50}ms p99=${r99}ms; $effect; API p50=$(ms "$api_p50")ms p99=$(ms "$api_p99")ms; $relay_pg; events=$rows")
  tsv+=("$RATE	$achieved	$p50	$p99	$max	$e50	$e99	$emax")
  [ "$pending" = 0 ] || problems+=("rate $RATE: $pending events still pending 60 s after the load")
  if [ "$KAFKA" = tansu ] && ! kill -0 "$(cat "$tansu_dir/pid")" 2>/dev/null; then
    problems+=("rate $RATE: Tansu exited during the run; later rates not run")
    break
  fi
  if [ "$KAFKA" = process ] && ! kill -0 "$broker_pid" 2>/dev/null; then
    problems+=("rate $RATE: the mock cluster (outboxd-bench mock-cluster) exited during the run; later rates not run")
    break
  fi
  [ "$consumers_mode" = none ] || [ "$unapplied" = 0 ] || problems+=("rate $RATE: $unapplied events without their audit row 60 s after the load")
  [ "$consumers_mode" = none ] || [ "$(unfinished "$since")" = 0 ] || problems+=("rate $RATE: events not applied by every consumer 60 s after the load: $(behind "$since")")
  [ "$non2xx" = 0 ] && [ "$socket_errors" = 0 ] || problems+=("rate $RATE: non-2xx=$non2xx socket errors=$socket_errors")
done
stop_daemon
# Results kept apart by kind (the plot shows the audit runs on the mock cluster, latency.*):
# CONSUMERS=none latency-relay.*, CONSUMERS=all latency-all.*, and -tansu after either for KAFKA=tansu.
record=latency
[ "$consumers_mode" != none ] || record=latency-relay
[ "$consumers_mode" != all ] || record=latency-all
[ "$KAFKA" != tansu ] || record=$record-tansu
cp "$dir/outboxd.log" "$root/bench/results/$record-outboxd.log" # kept for a look at any warning
rss_met=$(awk -v r="$peak_rss_mb" -v t="$rss_target" 'BEGIN { print (r != "" && r < t ? "met" : "not met") }')
lines+=("outboxd serve peak RSS over all rates (CONSUMERS=$consumers_mode, KAFKA=$KAFKA): $peak_rss_mb MB (target < $rss_target MB, $rss_issue: $rss_met)")
tasks=$(sql_value "SELECT count(*) FROM tasks"); outbox=$(sql_value "SELECT count(*) FROM outbox")
[ "$tasks" = "$outbox" ] || problems+=("tasks=$tasks but outbox=$outbox")

{
  bench_header "RATES=\"$RATES\" DURATION=$DURATION CONSUMERS=$consumers_mode KAFKA=$KAFKA"
  printf '%s\n' "${lines[@]}"
  for p in "${problems[@]}"; do echo "FAILED: $p"; done
  echo "cmd: $daemon_cmd"
  for c in "${cmds[@]}"; do echo "cmd: $c"; done
  echo
} | bench_record "$record"
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(bench_commit): rate achieved report_p50 report_p99 report_max effect_p50 effect_p99 effect_max (ms)"
  printf '%s\n' "${tsv[@]}"
} >"$root/bench/results/$record.tsv"
bench_finish "$record"
