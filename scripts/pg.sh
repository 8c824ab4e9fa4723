#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster owned by this project.
#   scripts/pg.sh start DIR [PORT] [--fast]   init (once) and start; prints the DATABASE_URL
#   scripts/pg.sh stop DIR [fast|immediate]   stop it (default fast)
#   scripts/pg.sh url DIR                     print the DATABASE_URL of a started cluster
#   scripts/pg.sh free-port                   print a free TCP port on 127.0.0.1
# PostgreSQL refuses to run as root, so as root the server runs as the postgres user (runuser).
# --fast turns off fsync (tests only: a crash of the machine may lose the test data).
# PG_SETTINGS adds server settings ("-c name=value …") when the cluster starts.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DBNAME=${OUTBOXD_DBNAME:-outboxd}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Below the kernel's ephemeral ports (32768 and up by default): an outgoing connection can hold any
# of those as its local port, and the cluster's bind (or its bind again after a restart) would
# fail with "Address already in use" though nothing listens there.
free_port() {
  local port low=20000 high=32767 first
  if read -r first _ 2>/dev/null </proc/sys/net/ipv4/ip_local_port_range && [ "$first" -gt 21024 ]; then
    high=$((first - 1))
  fi
  for _ in $(seq 1 200); do
    port=$((low + RANDOM % (high - low + 1)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

url() {
  local dir=$1
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/$DBNAME"
}

start() {
  local dir=$1 port=${2:-} fast=${3:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  [ -n "$port" ] || port=$(free_port)
  echo "$port" >"$dir/port"
  local options="-c port=$port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=300 -c autovacuum_naptime=10s"
  # Extra server settings, e.g. PG_SETTINGS="-c track_commit_timestamp=on" (bench/latency.sh).
  [ -z "${PG_SETTINGS:-}" ] || options="$options $PG_SETTINGS"
  if [ "$fast" = "--fast" ]; then
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  fi
  if as_owner "$PGBIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "already running" >&2
  else
    as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null \
      || { tail -n 20 "$dir/server.log" >&2; exit 1; }
  fi
  if ! "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" | grep -q 1; then
    "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DBNAME"
  fi
  url "$dir"
}

stop() {
  local dir=$1 mode=${2:-fast}
  [ -d "$dir/data" ] || return 0
  as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) shift; start "$1" "${2:-}" "${3:-}" ;;
  stop) shift; stop "$1" "${2:-fast}" ;;
  url) shift; url "$1" ;;
  free-port) free_port ;;
  *) echo "usage: $0 start DIR [PORT] [--fast] | stop DIR [fast|immediate] | url DIR | free-port" >&2; exit 64 ;;
esac
