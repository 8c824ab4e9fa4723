#!/usr/bin/env bash
# The package's life on a host (run by scripts/test.sh): install, edit the config, upgrade to a
# newer build, remove, purge, each with apt-get/dpkg and the package's maintainer scripts for real.
#   scripts/test-deb.sh DEB NEWER_DEB    (root; OUTBOXD_TEST_DATABASE_URL from scripts/test-env.sh)
# The host is this machine's root seen through an overlay in a mount namespace of its own (every
# write lands in a tmpfs and vanishes with the namespace), made fresh for the package: the Swift
# toolchain hidden under an empty tmpfs, no user outboxd, no /etc/outboxd, no Docker policy-rc.d.
# systemd is not booted (never as PID 1 here): first it is absent, as in a chroot or an image
# build; then /run/systemd/system exists and systemctl is scripts/systemctl-stand-in.py, which runs
# the units as systemd would and logs each call, so the maintainer scripts' systemctl and
# deb-systemd-invoke calls take effect and can be checked.
# Prints "ok - …" per check, then PASS, FAIL (exit 1) or SKIPPED (exit 0: not root, no unshare, no
# overlayfs) with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
name="deb lifecycle"

if [ "${1:-}" != --inside ]; then
  (($# == 2)) || { echo "usage: scripts/test-deb.sh DEB NEWER_DEB" >&2; exit 64; }
  skip() { echo "SKIPPED $name: $1"; exit 0; }
  [ "$(id -u)" -eq 0 ] || skip "needs root (dpkg, mounts)"
  command -v unshare >/dev/null || skip "needs unshare (util-linux)"
  unshare --mount true 2>/dev/null || skip "cannot make a mount namespace here"
  [ -n "${OUTBOXD_TEST_DATABASE_URL:-}" ] || { echo "FAIL $name: OUTBOXD_TEST_DATABASE_URL is not set (run it from scripts/test.sh)"; exit 1; }
  scratch=$(mktemp -d "${OUTBOXD_TEST_SCRATCH:-/tmp}/deb-lifecycle.XXXXXX")
  database="outboxd_deb_$(basename "$scratch" | tr -dc 'a-z0-9' | tr 'A-Z' 'a-z')"
  psql "$OUTBOXD_TEST_DATABASE_URL" -qAtc "CREATE DATABASE $database" >/dev/null
  status=0
  unshare --mount --propagation private -- "$0" --inside "$1" "$2" "$scratch" "${OUTBOXD_TEST_DATABASE_URL%/*}/$database" || status=$?
  # The units the stand-in started keep the namespace alive; none may outlive the test.
  for pid in $(cat "$scratch"/pids 2>/dev/null); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" != "$scratch/root" ] || kill -KILL "$pid" 2>/dev/null || true
  done
  psql "$OUTBOXD_TEST_DATABASE_URL" -qAtc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null || true
  rm -rf "$scratch"
  exit $status
fi

deb=$2 newer=$3 scratch=$4 database_url=$5
root=$scratch/root
# On the way out, any unit still running in the scratch host (its root is $root) is killed.
stop_units() {
  local file pid
  for file in "$root"/run/systemctl-stand-in/*.pid; do
    [ -e "$file" ] || continue
    pid=$(cat "$file")
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" != "$root" ] || kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_units EXIT
checks=0
ok() { checks=$((checks + 1)); echo "ok - $1"; }
fail() {
  echo "not ok - $1"
  [ -z "${2:-}" ] || sed 's/^/    /' <<<"$2" | tail -n 40
  for unit_log in "$root"/run/systemctl-stand-in/*.log; do
    [ -e "$unit_log" ] && { echo "    --- $(basename "$unit_log"):"; tail -n 20 "$unit_log" | sed 's/^/    /'; }
  done
  echo "FAIL $name: $1"
  exit 1
}
# check DESCRIPTION COMMAND…: the command must succeed.
check() { local what=$1 out; shift; if out=$("$@" 2>&1); then ok "$what"; else fail "$what" "$out"; fi; }
# equal DESCRIPTION ACTUAL EXPECTED
equal() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "expected: $3"$'\n'"actual:   $2"; fi; }

# The scratch host.
mkdir -p "$scratch/layers" "$root"
mount -t tmpfs -o mode=0755 outboxd-scratch-host "$scratch/layers"
mkdir "$scratch/layers/upper" "$scratch/layers/work"
mount -t overlay outboxd-scratch-host -o "lowerdir=/,upperdir=$scratch/layers/upper,workdir=$scratch/layers/work" "$root" \
  || { echo "SKIPPED $name: cannot mount an overlay of / here"; exit 0; }
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 run "$root/run"
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
mount -t tmpfs -o mode=0755,size=64k no-swift-toolchain "$root$toolchain"
as_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }
as_outboxd() { as_root setpriv --reuid=outboxd --regid=outboxd --clear-groups -- "$@"; }
# What this machine has that a fresh Debian host has not.
if as_root dpkg-query -W outboxd >/dev/null 2>&1; then as_root dpkg --purge outboxd >/dev/null; fi
if as_root getent passwd outboxd >/dev/null; then as_root userdel --force outboxd; fi
if as_root getent group outboxd >/dev/null; then as_root groupdel outboxd; fi
rm -rf "$root/etc/outboxd" "$root/usr/sbin/policy-rc.d" "$root"/etc/systemd/system/outboxd*.service \
  "$root"/etc/systemd/system/*.wants/outboxd*.service "$root"/var/lib/systemd/deb-systemd-helper-*/outboxd*
cp scripts/systemctl-stand-in.py "$root/usr/bin/systemctl"
mkdir -p "$root/var/cache/outboxd-test"
cp "$deb" "$newer" "$root/var/cache/outboxd-test/"
deb_in=/var/cache/outboxd-test/$(basename "$deb") newer_in=/var/cache/outboxd-test/$(basename "$newer")
version=$(dpkg-deb -f "$deb" Version) newer_version=$(dpkg-deb -f "$newer" Version)
calls=$root/run/systemctl-stand-in/calls
units=(outboxd.service outboxd-api.service outboxd-relay.service outboxd-consume.service)
unit_sums() { (cd "$root/lib/systemd/system" && sha256sum "${units[@]}"); }
started_pids() { cat "$root"/run/systemctl-stand-in/*.pid 2>/dev/null >>"$scratch/pids" || true; }

if [ ! -x "${OUTBOXD_BIN:-}" ]; then
  echo "# not checked that the toolchain is hidden: no OUTBOXD_BIN (the debug build scripts/test.sh makes)"
else
  # A copy inside the scratch root: the checkout may be in a folder the root does not show (/tmp).
  cp "$OUTBOXD_BIN" "$root/var/cache/outboxd-test/outboxd-debug"
  out=$(as_root /var/cache/outboxd-test/outboxd-debug --version 2>&1 || true)
  if grep -q "error while loading shared libraries: libswift" <<<"$out"; then
    ok "the toolchain is hidden: the debug build (linked to it) does not start"
  else
    fail "the toolchain is hidden: the debug build (linked to it) does not start" "$out"
  fi
fi

# 1. apt-get install with systemd absent.
check "apt-get install ./$(basename "$deb") (systemd not running)" as_root apt-get install -y -q --no-install-recommends "$deb_in"
equal "dpkg knows outboxd $version" "$(as_root dpkg-query -W -f '${Status} ${Version}' outboxd)" "install ok installed $version"
equal "outboxd --version prints the package's version" "$(as_root outboxd --version | head -n 1)" "outboxd $version"
IFS=: read -r _ _ uid _ _ home shell < <(as_root getent passwd outboxd) || fail "postinst created the user outboxd"
if ((uid < 1000)) && [ "$home:$shell" = /nonexistent:/usr/sbin/nologin ]; then ok "postinst created the system user outboxd"
else fail "postinst created the system user outboxd" "uid $uid, home $home, shell $shell"; fi
equal "the config is root:outboxd 0640" "$(as_root stat -c '%U:%G %a' /etc/outboxd/outboxd.conf)" "root:outboxd 640"
equal "the config is a conffile" "$(as_root dpkg-query -W -f '${Conffiles}' outboxd | awk 'NF {print $1}')" /etc/outboxd/outboxd.conf
for unit in "${units[@]}"; do
  grep -q "^ExecStart=/usr/bin/outboxd " "$root/lib/systemd/system/$unit" || fail "/lib/systemd/system/$unit runs /usr/bin/outboxd"
done
ok "the four units are in /lib/systemd/system and run /usr/bin/outboxd"
equal "the migrations are in /usr/share/outboxd/migrations" "$(ls "$root/usr/share/outboxd/migrations")" "$(ls migrations)"
check "README, alert rules and dashboard are in /usr/share/doc/outboxd" \
  test -s "$root/usr/share/doc/outboxd/README.md" -a -s "$root/usr/share/doc/outboxd/outboxd-alerts.yml" -a -s "$root/usr/share/doc/outboxd/outboxd-dashboard.json"
equal "without systemd nothing calls systemctl" "$(cat "$calls" 2>/dev/null)" ""

# 2. systemd runs; the operator's walk-through (README "Installing it").
mkdir -p "$root/run/systemd/system"
port=$(scripts/pg.sh free-port)
printf 'DATABASE_URL=%s\nKAFKA_ALLOW_EMBEDDED=yes\nHTTP_LISTEN=127.0.0.1:%s\n' "$database_url" "$port" >>"$root/etc/outboxd/outboxd.conf"
edited=$(sha256sum <"$root/etc/outboxd/outboxd.conf")
check "outboxd migrate, as outboxd from /, finds the installed migrations" as_outboxd outboxd migrate --config /etc/outboxd/outboxd.conf
check "systemctl enable outboxd" as_root systemctl enable outboxd.service
check "systemctl start outboxd: READY=1" as_root systemctl start outboxd.service
started_pids
post() {
  curl -sS -m 30 -w '\n%{http_code}' -H 'content-type: application/json' -H 'Prefer: wait=20' \
    -d "{\"title\":\"$1\"}" "http://127.0.0.1:$port/tasks"
}
answer=$(post "installed from the package" || true)
if [ "$(tail -n 1 <<<"$answer")" = 201 ] && grep -q '"offset"' <<<"$answer"; then ok "POST /tasks: 201, published (its offset in the answer)"
else fail "POST /tasks: 201, published (its offset in the answer)" "$answer"; fi
audit() { psql "$database_url" -qAtc "SELECT count(*) FROM audit_log"; }
for _ in $(seq 100); do [ "$(audit)" = 1 ] && break; sleep 0.2; done
equal "the consumers applied it (audit_log)" "$(audit)" 1

# 3. The newer build over it.
units_before=$(unit_sums)
pid_before=$(cat "$root/run/systemctl-stand-in/outboxd.service.pid")
: >"$calls"
check "apt-get install ./$(basename "$newer") (the newer build)" as_root apt-get install -y -q --no-install-recommends "$newer_in"
equal "dpkg knows outboxd $newer_version" "$(as_root dpkg-query -W -f '${Version}' outboxd)" "$newer_version"
equal "the edited config is kept" "$(sha256sum <"$root/etc/outboxd/outboxd.conf")" "$edited"
equal "... still root:outboxd 0640, with no .dpkg-* copy beside it" \
  "$(as_root stat -c '%U:%G %a' /etc/outboxd/outboxd.conf) $(ls "$root/etc/outboxd")" "root:outboxd 640 outboxd.conf"
equal "the units are unchanged" "$(unit_sums)" "$units_before"
check "outboxd.service is still enabled" as_root systemctl is-enabled outboxd.service
equal "the upgrade reloads systemd and restarts only what runs (nothing stopped before)" "$(grep -vE '^is-' "$calls")" \
  "--system daemon-reload
try-restart ${units[*]}"
started_pids
pid_after=$(cat "$root/run/systemctl-stand-in/outboxd.service.pid")
if [ "$pid_after" != "$pid_before" ] && as_root systemctl is-active --quiet outboxd.service; then
  ok "outboxd.service runs the new binary (pid $pid_before -> $pid_after)"
else fail "outboxd.service runs the new binary" "pid $pid_before -> $pid_after, $(as_root systemctl is-active outboxd.service)"; fi
answer=$(post "after the upgrade" || true)
if [ "$(tail -n 1 <<<"$answer")" = 201 ] && grep -q '"offset"' <<<"$answer"; then ok "POST /tasks after the upgrade: 201, published"
else fail "POST /tasks after the upgrade: 201, published" "$answer"; fi
for unit in "${units[@]:1}"; do
  as_root systemctl is-active --quiet "$unit" && fail "$unit was not started"
done
ok "the other units were not started"

# 4. dpkg -r.
: >"$calls"
check "dpkg -r outboxd" as_root dpkg -r outboxd
equal "prerm stops the units" "$(head -n 1 "$calls")" "stop ${units[*]}"
check "postrm reloads systemd" grep -qx -- "--system daemon-reload" "$calls"
equal "SIGTERM -> exit 0" "$(cat "$root/run/systemctl-stand-in/outboxd.service.exit")" 0
for pid in $(cat "$scratch/pids"); do
  [ ! -d "/proc/$pid" ] || fail "no unit is left running" "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
done
for unit in "${units[@]}"; do
  as_root systemctl is-active --quiet "$unit" && fail "no unit is left running" "$unit is active"
done
ok "no unit is left running"
check "the binary and the units are gone" test ! -e "$root/usr/bin/outboxd" -a ! -e "$root/lib/systemd/system/outboxd.service"
equal "the config stays, as edited" "$(sha256sum <"$root/etc/outboxd/outboxd.conf")" "$edited"
equal "dpkg keeps only the config" "$(as_root dpkg-query -W -f '${Status}' outboxd)" "deinstall ok config-files"
check "the user outboxd stays" as_root getent passwd outboxd

# 5. dpkg --purge.
check "dpkg --purge outboxd" as_root dpkg --purge outboxd
check "the config, its statoverride and the enable link are gone" test ! -e "$root/etc/outboxd/outboxd.conf" \
  -a -z "$(as_root dpkg-statoverride --list /etc/outboxd/outboxd.conf)" -a ! -L "$root/etc/systemd/system/multi-user.target.wants/outboxd.service"
check "the user outboxd stays (Debian policy: a system user may own files left behind)" as_root getent passwd outboxd
equal "dpkg -r and --purge start nothing" "$(grep -cE '(^| )(start|restart) ' "$calls" || true)" 0

echo "PASS $name: $checks checks in ${SECONDS}s (apt-get install, edit the config, upgrade to $newer_version, dpkg -r, dpkg --purge)"
