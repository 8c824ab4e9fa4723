# Shared by the bench/*.sh scripts (sourced, not run): a throwaway durable PostgreSQL cluster, the
# processes a script starts, and cleanup of all of them on exit, failure or Ctrl-C.
#
# The sourcing script sets `name` (for messages) before sourcing, and then calls `bench_start_cluster`.
# It may start one daemon with `bench_start_daemon LOG CMD…`, one Kafka mock cluster in its own process
# with `bench_start_broker`, and run load generators with `run_child`.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN

die() { echo "bench/$name: $*" >&2; exit 1; }

# OUTBOXD_BIN: another build of outboxd to measure with these scripts (an A/B against an older commit).
bin=${OUTBOXD_BIN:-$root/.build/release/outboxd}
[ -x "$bin" ] || die "$bin not found: run 'make build' first (or 'make bench')"
psql=$PGBIN/psql
[ -x "$psql" ] || psql=$(command -v psql) || die "psql is not installed"
pgbench=$PGBIN/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || die "pgbench is not installed"

# seconds_of 20s|2m|1h|20 → seconds, or dies naming the variable.
seconds_of() {
  local variable=$1 value=$2
  [[ $value =~ ^([0-9]+)([smh]?)$ ]] || die "$variable must look like 20, 20s, 2m or 1h (got '$value')"
  local n=$(( 10#${BASH_REMATCH[1]} ))
  case ${BASH_REMATCH[2]} in m) n=$(( n * 60 )) ;; h) n=$(( n * 3600 )) ;; esac
  [ "$n" -gt 0 ] || die "$variable must be positive (got '$value')"
  echo "$n"
}

dir=$(mktemp -d "/tmp/outboxd-bench.XXXXXX")
chmod 755 "$dir" # the server runs as postgres when we are root
daemon_pid=
child_pid=
broker_pid=
tansu_dir=

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

# bench_start_daemon LOG CMD…: starts outboxd in the background, logging to LOG.
bench_start_daemon() {
  local log=$1
  shift
  "$@" 2>"$log" &
  daemon_pid=$!
}

# stop_daemon: SIGTERM, wait, then SIGKILL; first records the daemon's peak resident set size
# (VmHWM) in peak_rss_mb and the CPU time it used so far (user + system, all threads) in daemon_cpu_s.
peak_rss_mb= daemon_cpu_s=
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  peak_rss_mb=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$daemon_pid/status" 2>/dev/null || true)
  # Fields 14 and 15 of /proc/PID/stat (the command name in field 2 has no spaces here), in clock ticks.
  daemon_cpu_s=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$daemon_pid/stat" 2>/dev/null || true)
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

# bench_start_broker [PARTITIONS]: starts librdkafka's mock cluster in its own process (`outboxd-bench
# mock-cluster`, the shape of KAFKA_BOOTSTRAP_SERVERS=embedded: 3 brokers, task-events with PARTITIONS
# partitions, default 6, and task-events.dlq), so that the daemon's CPU and memory are its own; sets
# broker_bootstrap. A fresh cluster each time: its offsets start at 0.
bench_start_broker() {
  local partitions=${1:-6} bench_bin=$root/.build/release/outboxd-bench
  [ -x "$bench_bin" ] || die "$bench_bin not found: run 'make build' first"
  stop_broker
  "$bench_bin" mock-cluster --brokers 3 --partitions "$partitions" >"$dir/broker.out" 2>"$dir/broker.log" &
  broker_pid=$!
  broker_bootstrap=
  for _ in $(seq 1 100); do
    broker_bootstrap=$(sed -n 's/^BENCH mock-cluster bootstrap=\([^ ]*\) .*/\1/p' "$dir/broker.out")
    [ -z "$broker_bootstrap" ] || break
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$broker_bootstrap" ] || { cat "$dir/broker.log" >&2; die "outboxd-bench mock-cluster did not start"; }
  echo "broker: outboxd-bench mock-cluster --brokers 3 --partitions $partitions (pid $broker_pid) at $broker_bootstrap" >&2
}

stop_broker() {
  [ -n "$broker_pid" ] || return 0
  kill -TERM "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
}

# bench_start_tansu: the real-broker tier (scripts/kafka-tier.sh): Tansu in its own process on a
# free port, and librdkafka 2.16.1 from the project's .venv on LD_LIBRARY_PATH for every process
# started after it (Debian's librdkafka cannot talk to Tansu); sets tansu_bootstrap. outboxd and
# outboxd-bench create the topics (6 partitions).
bench_start_tansu() {
  tansu_dir=$dir/tansu
  tansu_bootstrap=$("$root/scripts/kafka-tier.sh" start "$tansu_dir") || die "Tansu did not start"
  export LD_LIBRARY_PATH
  LD_LIBRARY_PATH=$("$root/scripts/kafka-tier.sh" libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "broker: Tansu (scripts/kafka-tier.sh, pid $(cat "$tansu_dir/pid")) at $tansu_bootstrap" >&2
}

stop_tansu() {
  [ -n "$tansu_dir" ] || return 0
  "$root/scripts/kafka-tier.sh" stop "$tansu_dir" >/dev/null 2>&1 || true
  tansu_dir=
}

# wait_http_ready PORT LOG: waits up to 30 s for GET /readyz, or dies showing the log.
wait_http_ready() {
  local port=$1 log=$2
  for _ in $(seq 1 300); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; then return 0; fi
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 30 "$log" >&2
  die "outboxd did not become ready on 127.0.0.1:$port"
}

# On exit the logs go with the scratch directory, unless BENCH_KEEP_LOGS=DIR names where to copy
# them (outboxd's, wrk's and PostgreSQL's).
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$child_pid" ]; then
    kill -TERM "$child_pid" 2>/dev/null || true
    wait "$child_pid" 2>/dev/null || true
  fi
  stop_daemon
  stop_broker
  stop_tansu
  "$root/scripts/pg.sh" stop "$dir/pg" immediate >/dev/null 2>&1 || true
  if [ -n "${BENCH_KEEP_LOGS:-}" ]; then
    mkdir -p "$BENCH_KEEP_LOGS" && cp "$dir"/*.log "$dir"/*.out "$BENCH_KEEP_LOGS"/ 2>/dev/null || true
    cp "$dir/pg/server.log" "$BENCH_KEEP_LOGS/postgresql.log" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_start_cluster() {
  DATABASE_URL=$("$root/scripts/pg.sh" start "$dir/pg")
  export DATABASE_URL
  echo "cluster: $DATABASE_URL (durable: fsync on, synchronous_commit on)" >&2
  "$bin" migrate 2>"$dir/migrate.log" || { cat "$dir/migrate.log" >&2; die "outboxd migrate failed"; }
}

sql_value() { "$psql" "$DATABASE_URL" -XAtqc "$1"; }

now() { date +%s.%N; }
# CPU seconds (user + system, all threads) process $1 used so far: fields 14 and 15 of /proc/PID/stat.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# backend_cpu_ticks PID…: clock ticks (user + system) the live PostgreSQL backends PID… used so far;
# with relay_backends, the relay's own sessions (application_name outboxd-relay, issue #25).
backend_cpu_ticks() { for pid in "$@"; do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true; done | awk '{ s += $1 } END { print s + 0 }'; }
relay_backends() { sql_value "SELECT pid FROM pg_stat_activity WHERE application_name IN ('outboxd-relay', 'outboxd-relay+wal')"; }

# histogram_sum_count NAME: "SUM COUNT" of the unlabelled Prometheus histogram NAME in the text on stdin.
histogram_sum_count() { awk -v n="$1" '$1 == n "_sum" { s = $2 } $1 == n "_count" { c = $2 } END { print s + 0, c + 0 }'; }

# The machine's busy CPU seconds so far (every core; /proc/stat's user, nice, system, irq, softirq, steal).
machine_busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }

# CPU seconds the PostgreSQL cluster used so far: the postmaster with its reaped children (fields 16,
# 17: backends that exited, such as pgbench's), plus every live child (the relay's backends, walwriter…).
pg_cpu_seconds() {
  local postmaster
  postmaster=$(head -n 1 "$dir/pg/data/postmaster.pid")
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"
    for child in $(pgrep -P "$postmaster"); do awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || true; done
  } | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f", s / hz }'
}

# The commit being measured, marked +dirty when sources differ from it.
bench_commit() {
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no -- Sources Package.swift migrations 2>/dev/null)" ]; then
    commit="$commit+dirty"
  fi
  echo "$commit"
}

# bench_record NAME: appends stdin (one results entry) to bench/results/NAME.txt, and keeps it as
# bench/results/NAME.latest for bench/report.sh (BENCHMARKS.md).
bench_record() {
  mkdir -p "$root/bench/results"
  tee "$root/bench/results/$1.latest" >>"$root/bench/results/$1.txt"
}

# bench_finish NAME: prints the summary (the caller's `lines`) and where bench_record put it; exits 1
# naming each failed check (the caller's `problems`).
bench_finish() {
  echo
  printf '%s\n' "${lines[@]}"
  echo "(appended to bench/results/$1.txt)"
  if [ "${#problems[@]}" -gt 0 ]; then
    for p in "${problems[@]}"; do echo "FAILED: $p" >&2; done
    exit 1
  fi
}

# bench_header EXTRA: the first line of a results entry.
bench_header() {
  echo "## $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(bench_commit) host $(hostname) cores $(nproc) $*"
}
