#!/usr/bin/env bash
# make install (for development; operators install the package, make deb): the release binary,
# migrations, systemd units and an example config.
#   scripts/install.sh                 (as root, after `make build`: the static release build)
#   DESTDIR=/tmp/stage scripts/install.sh   (stage the files only: no user, no systemctl)
# Installs /usr/local/bin/outboxd, /usr/local/share/outboxd/migrations/, /usr/local/share/doc/outboxd/ (README, alert rules, Grafana dashboard),
# /etc/systemd/system/outboxd{,-api,-relay,-consume}.service and, when absent, /etc/outboxd/outboxd.conf
# (mode 0640, group outboxd: it may hold DATABASE_URL's password). Creates the system user outboxd.
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
bin=$(scripts/release-binary.sh) # exits 1 unless the static release build is there

install -d "$DESTDIR/usr/local/bin" "$DESTDIR/usr/local/share/outboxd/migrations" "$DESTDIR/usr/local/share/doc/outboxd" \
  "$DESTDIR/etc/systemd/system" "$DESTDIR/etc/outboxd"
install -m 0755 "$bin" "$DESTDIR/usr/local/bin/outboxd"
install -m 0644 migrations/*.sql "$DESTDIR/usr/local/share/outboxd/migrations/"
install -m 0644 README.md "$DESTDIR/usr/local/share/doc/outboxd/README.md"
install -m 0644 config/outboxd-alerts.yml "$DESTDIR/usr/local/share/doc/outboxd/outboxd-alerts.yml"
install -m 0644 config/outboxd-dashboard.json "$DESTDIR/usr/local/share/doc/outboxd/outboxd-dashboard.json"
install -m 0644 config/outboxd.service config/outboxd-api.service config/outboxd-relay.service config/outboxd-consume.service \
  "$DESTDIR/etc/systemd/system/"
if [ ! -e "$DESTDIR/etc/outboxd/outboxd.conf" ]; then
  install -m 0640 config/outboxd.conf "$DESTDIR/etc/outboxd/outboxd.conf"
  echo "installed the example config /etc/outboxd/outboxd.conf: set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS"
fi

if [ -z "$DESTDIR" ]; then
  id outboxd >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin outboxd
  chgrp outboxd /etc/outboxd/outboxd.conf
  systemctl daemon-reload 2>/dev/null || true
  echo "next: outboxd migrate --config /etc/outboxd/outboxd.conf, then systemctl enable --now outboxd (or the -api/-relay/-consume units)"
fi
