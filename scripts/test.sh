#!/usr/bin/env bash
# make test: a fresh throwaway cluster on a free port, the whole suite, then the cluster is stopped
# and removed, also when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d /tmp/outboxd-test.XXXXXX)
chmod 755 "$dir"
cleanup() {
  scripts/pg.sh stop "$dir/pg" immediate
  rm -rf "$dir"
}
trap cleanup EXIT

export DATABASE_URL
DATABASE_URL=$(scripts/pg.sh start "$dir/pg" "" --fast)
echo "test cluster: $DATABASE_URL" >&2
export OUTBOXD_TEST_DATABASE_URL=$DATABASE_URL
export OUTBOXD_TEST_SCRATCH=$dir

swift build --build-tests
export OUTBOXD_BIN=$PWD/.build/debug/outboxd
swift test --skip-build "$@"
