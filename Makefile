# outboxd: `make run` and `make test` do all the set-up on a fresh Debian 12 machine.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

DATA_DIR ?= .data/pg
PG_PORT ?= 5433
CONFIG ?= config/outboxd.conf

.PHONY: deps build run test test-faults debezium-golden psql migrate install deb bench bench-api bench-relay bench-latency bench-consumers bench-connections bench-emit bench-steady bench-wal clean

deps:
	@scripts/install-deps.sh

# The Swift runtime and Foundation linked statically: the binary runs without the toolchain.
build: deps
	scripts/build-release.sh

run: build
	@url=$$(scripts/pg.sh start $(DATA_DIR) $(PG_PORT)) && \
	  echo "DATABASE_URL=$$url" && \
	  DATABASE_URL=$$url .build/release/outboxd serve --migrate --config $(CONFIG)

test: deps
	scripts/test.sh

# The fault suite at the issue's scale (~10 min); writes RELIABILITY.md.
test-faults: deps
	scripts/test-faults.sh

# Golden records from Debezium's outbox event router (needs Java; not part of `make test`):
# writes Tests/Fixtures/debezium/*.json, which DebeziumGoldenTests compares outboxd's records with.
debezium-golden:
	scripts/debezium-golden.sh

# For development: /usr/local and /etc/systemd/system. Operators install the package (make deb).
install: build
	scripts/install.sh

# dist/outboxd_<version>_amd64.deb (dpkg-deb, dpkg-shlibdeps, lintian): apt install ./dist/outboxd_…deb
deb: build
	scripts/deb.sh

psql:
	@psql "$$(scripts/pg.sh url $(DATA_DIR))"

migrate: build
	@url=$$(scripts/pg.sh start $(DATA_DIR) $(PG_PORT)) && DATABASE_URL=$$url .build/release/outboxd migrate --config $(CONFIG)

# Each script prints one summary line per measurement and appends it to bench/results/*.txt.
# bench/report.sh then writes BENCHMARKS.md (with gnuplot plots) from the latest entries.
bench: build
	scripts/install-deps.sh --bench
	bench/api.sh
	bench/relay.sh
	bench/steady.sh
	bench/latency.sh
	CONSUMERS=none RATES="1000 2000" bench/latency.sh
	CONSUMERS=all RATES=2000 bench/latency.sh
	CONSUMERS=all KAFKA=tansu RATES="2000 2000 2000" bench/latency.sh
	bench/consumers.sh
	KAFKA=tansu bench/consumers.sh
	bench/connections.sh
	bench/emit.sh
	bench/wal.sh
	bench/report.sh

bench-api: build
	bench/api.sh

bench-relay: build
	bench/relay.sh

bench-connections: build
	bench/connections.sh

bench-emit: build
	bench/emit.sh

bench-wal: build
	bench/wal.sh

bench-steady: build
	bench/steady.sh

bench-latency: build
	bench/latency.sh

bench-consumers: build
	bench/consumers.sh

clean:
	swift package clean
