#!/usr/bin/env bash
# make test: a fresh throwaway cluster on a free port, the whole suite, then the cluster is stopped
# and removed, also when tests fail.
set -euo pipefail
source "$(dirname "$0")/test-env.sh"
swift test --skip-build "$@"
