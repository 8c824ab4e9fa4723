#!/usr/bin/env bash
# make bench (last step): writes BENCHMARKS.md from the latest entry of each benchmark
# (bench/results/*.latest) and draws bench/plots/latency.png and throughput.png with gnuplot.
#   bench/report.sh        (after bench/api.sh, relay.sh, latency.sh, consumers.sh, connections.sh and emit.sh have run)
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/results
out=BENCHMARKS.md
for name in api relay steady latency consumers connections emit; do
  [ -f "$results/$name.latest" ] || { echo "bench/report.sh: $results/$name.latest is missing: run bench/$name.sh first" >&2; exit 1; }
done

# value FILE REGEX: the first number captured by REGEX (sed -E, one group) in FILE.
value() { sed -nE "s/$2/\1/p" "$1" | head -n 1; }
api_on=$(value $results/api.latest '^api \(GROUP_COMMIT=on.*: ([0-9]+) req\/s.*')
api_off=$(value $results/api.latest '^api \(GROUP_COMMIT=off.*: ([0-9]+) req\/s.*')
pg_tps=$(value $results/api.latest '^pgbench .*: ([0-9]+) tps.*')
drain0=$(value $results/relay.latest '^relay drain \(retention 0\): ([0-9]+) events.*')
claim0=$(value $results/relay.latest '^relay drain \(retention 0\).*SQL alone ([0-9]+) rows.*')
drain_keep=$(value $results/relay.latest '^relay drain \(kept history\): ([0-9]+) events.*')
produce=$(value $results/relay.latest '^produce ceiling[^:]*: .* ([0-9]+) events\/s; pipelined.*')

mkdir -p bench/plots
if command -v gnuplot >/dev/null; then
  gnuplot <<GP
set terminal pngcairo size 900,500 font ",11"
set output "bench/plots/latency.png"
set title "outboxd: end-to-end latency at steady load (bench/latency.sh)"
set xlabel "tasks/s achieved"
set ylabel "ms (log scale)"
set logscale y
set key top left
set grid
plot "$results/latency.tsv" using 2:3 with linespoints title "commit → delivery report p50", \
     "" using 2:4 with linespoints title "commit → delivery report p99", \
     "" using 2:6 with linespoints title "commit → audit effect p50", \
     "" using 2:7 with linespoints title "commit → audit effect p99"
GP
  cat >"$results/throughput.dat" <<DAT
"API, group commit" $api_on
"API, per request" $api_off
"pgbench, same INSERT" $pg_tps
"relay drain, retention 0" $drain0
"relay drain, kept history" $drain_keep
"claim+mark SQL alone" $claim0
"produce ceiling (batched)" $produce
DAT
  gnuplot <<GP
set terminal pngcairo size 900,500 font ",11"
set output "bench/plots/throughput.png"
set title "outboxd throughput against its baselines, same run (bench/api.sh, bench/relay.sh)"
set ylabel "per second"
set style fill solid 0.6
set boxwidth 0.6
set xtics rotate by -25
set grid ytics
set yrange [0:*]
plot "$results/throughput.dat" using 0:2:xtic(1) with boxes notitle, "" using 0:2:(sprintf("%d",\$2)) with labels offset 0,0.8 notitle
GP
  plots=1
else
  echo "bench/report.sh: gnuplot is not installed (scripts/install-deps.sh --bench); BENCHMARKS.md without plots" >&2
  plots=0
fi

block() { sed -e 's/^/    /' "$results/$1.latest"; }
{
  cat <<MD
# Benchmarks

Written by \`make bench\` (\`bench/report.sh\` after \`bench/api.sh\`, \`bench/relay.sh\`,
\`bench/latency.sh\`, \`bench/consumers.sh\`, \`bench/connections.sh\` and \`bench/emit.sh\`); every figure is from one run on one machine, next to
the baseline measured in the same run. Each block starts with the date, the commit and the
machine, and ends with the commands that produced it. History: \`bench/results/*.txt\`.
Reliability (the fault suite, \`make test-faults\`) is in [RELIABILITY.md](RELIABILITY.md).

MD
  if [ "$plots" = 1 ]; then
    echo '![throughput](bench/plots/throughput.png)'
    echo
    echo '![latency](bench/plots/latency.png)'
    echo
  fi
  echo "## API: POST /tasks at 64 connections with the relay running, against pgbench"
  echo
  block api
  echo
  echo "## Held connections: 10,000 idle and 1,000 trickling, against the same load without them"
  echo
  block connections
  echo
  echo "## Relay: draining a 1M-row backlog, against the claim SQL and the produce ceiling"
  echo
  block relay
  echo
  echo "## Steady state: PostgreSQL's CPU per event with history kept (the purge running) against retention 0"
  echo
  block steady
  echo
  echo "## Publishing from another service: outbox_emit against the plain INSERT"
  echo
  block emit
  echo
  echo "## End-to-end latency at steady rates (commit → delivery report, commit → consumer effect)"
  echo
  echo "| target rate | achieved | report p50 | report p99 | report max | effect p50 | effect p99 | effect max |"
  echo "|---|---|---|---|---|---|---|---|"
  grep -v '^#' "$results/latency.tsv" | awk -F'\t' '{ printf "| %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms |\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
  echo
  block latency
  if [ -f "$results/latency-relay.latest" ]; then
    echo
    echo "The relay alone (\`CONSUMERS=none\`), as issue #3 measures it:"
    echo
    block latency-relay
  fi
  for kind in latency-all latency-all-tansu; do
    if [ -f "$results/$kind.latest" ]; then
      echo
      echo "All three consumers (\`CONSUMERS=all\`)$([ "$kind" = latency-all-tansu ] && echo ", on the real-broker tier (Tansu)"), as issue #17 measures it:"
      echo
      block "$kind"
    fi
  done
  echo
  echo "## Consumers (audit, notifications, reminders), against raw consumption of the same topic"
  echo
  block consumers
  if [ -f "$results/consumers-tansu.latest" ]; then
    echo
    echo "On the real-broker tier (Tansu):"
    echo
    block consumers-tansu
  fi
  echo
  sed -n '/^## Targets/,$p' bench/TARGETS.md
} >"$out"
echo "wrote $out"
