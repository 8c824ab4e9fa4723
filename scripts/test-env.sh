# Sourced by scripts/test.sh and scripts/test-faults.sh (not run): a fresh throwaway cluster on a
# free port, stopped and removed on exit (also when tests fail), the test binaries built, and the
# environment the suite reads (OUTBOXD_TEST_DATABASE_URL, OUTBOXD_TEST_SCRATCH, OUTBOXD_BIN,
# OUTBOXD_TEST_PYTHON).
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=$(mktemp -d /tmp/outboxd-test.XXXXXX)
chmod 755 "$dir"
cleanup() {
  scripts/pg.sh stop "$dir/pg" immediate
  rm -rf "$dir"
}
trap cleanup EXIT

export DATABASE_URL
# wal_level=logical: the logical-decoding tests (issue #27) read the test cluster's WAL, each WAL-mode
# test on a slot of its own (room for 40 at once).
DATABASE_URL=$(PG_SETTINGS="${PG_SETTINGS:-} -c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=40" scripts/pg.sh start "$dir/pg" "" --fast)
echo "test cluster: $DATABASE_URL" >&2
export OUTBOXD_TEST_DATABASE_URL=$DATABASE_URL
export OUTBOXD_TEST_SCRATCH=$dir

# The project's virtualenv: the Python example the suite runs (docs/examples) and the real-broker tier.
scripts/kafka-tier.sh install
export OUTBOXD_TEST_PYTHON
OUTBOXD_TEST_PYTHON=$(scripts/kafka-tier.sh python)

swift build --build-tests
export OUTBOXD_BIN=$PWD/.build/debug/outboxd
