#!/usr/bin/env bash
# make deb: dist/outboxd_<version>_amd64.deb from the release build (scripts/build-release.sh),
# with Debian's tools: dpkg-shlibdeps computes Depends from the binary, dpkg-deb builds the
# archive, lintian checks it (an error fails the build). Prints the package's path.
#   scripts/deb.sh [--rebuild N] [--fast] [--out DIR]
#     --rebuild N  version <release>+bN: a newer build of the same release (Debian's binNMU
#                  convention), which replaces the plain one on upgrade
#     --fast       gzip -1 instead of xz, no lintian (the upgrade test's second package)
#     --out DIR    write it there instead of dist/
# The version is OutboxdVersion.current, the one the binary prints with --version.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging=packaging/deb
units=(outboxd.service outboxd-api.service outboxd-relay.service outboxd-consume.service)

suffix="" fast=0 out=dist
while (($#)); do
  case "$1" in
    --rebuild) [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "scripts/deb.sh: --rebuild needs a number" >&2; exit 64; }
               suffix="+b$2"; shift 2 ;;
    --fast) fast=1; shift ;;
    --out) [ -n "${2:-}" ] || { echo "scripts/deb.sh: --out needs a folder" >&2; exit 64; }
           out=$2; shift 2 ;;
    *) echo "usage: scripts/deb.sh [--rebuild N] [--fast] [--out DIR]" >&2; exit 64 ;;
  esac
done

release=$(sed -n 's/^ *public static let current = "\([^"]*\)"$/\1/p' Sources/OutboxdDaemon/OutboxdVersion.swift)
[[ "$release" =~ ^[0-9][0-9A-Za-z.~]*$ ]] || { echo "scripts/deb.sh: no version in OutboxdVersion.swift" >&2; exit 1; }
version=$release$suffix
bin=$(scripts/release-binary.sh)
printed=$("$bin" --version | head -n 1)
[ "$printed" = "outboxd $release" ] || { echo "scripts/deb.sh: $bin prints '$printed', the source says $release: run 'make build'" >&2; exit 1; }

# Reproducible: file times and the changelog date are those of the last commit.
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
maintainer=$(sed -n 's/^Copyright: //p' $packaging/copyright | head -n 1)

work=$(mktemp -d /tmp/outboxd-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/debian/outboxd # where dpkg-shlibdeps expects a package's files
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/outboxd" \
  "$root/usr/share/outboxd/migrations" "$root/usr/share/doc/outboxd" "$root/usr/share/man/man8"

# As dh_strip does for an executable: no symbols, debug information, .comment or .note sections.
strip --remove-section=.comment --remove-section=.note -o "$root/usr/bin/outboxd" "$bin"
chmod 0755 "$root/usr/bin/outboxd"
# The units and config of make install, with the package's paths (/usr, not /usr/local).
for unit in "${units[@]}"; do
  sed 's|/usr/local/|/usr/|g' "config/$unit" >"$root/lib/systemd/system/$unit"
done
sed 's|/usr/local/|/usr/|g' config/outboxd.conf >"$root/etc/outboxd/outboxd.conf"
chmod 0644 "$root"/lib/systemd/system/*.service
chmod 0640 "$root/etc/outboxd/outboxd.conf"
install -m 0644 migrations/*.sql "$root/usr/share/outboxd/migrations/"
install -m 0644 README.md config/outboxd-alerts.yml config/outboxd-dashboard.json $packaging/copyright "$root/usr/share/doc/outboxd/"
gzip -9n <$packaging/outboxd.8 >"$root/usr/share/man/man8/outboxd.8.gz"
{
  echo "outboxd ($version) stable; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) of the outboxd repository;"
  echo "    its git log lists the changes."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$root/usr/share/doc/outboxd/changelog.gz"
chmod 0644 "$root"/usr/share/doc/outboxd/* "$root/usr/share/man/man8/outboxd.8.gz"

# Depends: the packages of the libraries the binary links (dpkg-shlibdeps reads their shlibs and
# symbols files), then adduser (postinst) and deb-systemd-helper's package.
printf 'Source: outboxd\n\nPackage: outboxd\nArchitecture: amd64\n' >"$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O -e"debian/outboxd/usr/bin/outboxd" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "scripts/deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlibs, adduser, init-system-helpers (>= 1.54~)"

installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
  -e "s|@DEPENDS@|$depends|" $packaging/control >"$root/DEBIAN/control"
echo /etc/outboxd/outboxd.conf >"$root/DEBIAN/conffiles"
install -m 0755 $packaging/postinst $packaging/prerm $packaging/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print | LC_ALL=C sort | sed 's|^\./||' \
  | xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$(cd "$out" && pwd)/outboxd_${version}_amd64.deb
compression=(-Zxz) # dpkg-deb's default: level 6, on every core
((fast)) && compression=(-Zgzip -z1)
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1); Depends: $depends)" >&2
if ((!fast)); then
  # Exits non-zero on an error; the warnings kept are listed in README "Installing it".
  lintian --fail-on error "$deb" >&2
fi
echo "$deb"
