#!/usr/bin/env bash
# Builds the Debian package of fshealer with dpkg-deb: the Native AOT binary (the installed form: one native
# executable, no .NET runtime needed, and the only build that runs under MemoryDenyWriteExecute=true).
#   scripts/package-deb.sh [--out DIR] [--aot-dir DIR]
# Prints the path of the .deb. --aot-dir reuses an existing `dotnet publish -p:Aot=true` output; otherwise the
# binary is published into artifacts/aot (again only when a source file is newer than the last publish).
# Layout: /usr/libexec/fshealer/{fshealer,fshealer-xfs-healer,libe_sqlite3.so,xfs_healer,fshealer-fail}, /usr/sbin/fshealer -> the
# binary, units in /lib/systemd/system, man pages, bash completion, journal catalog, /etc/fshealer/{fshealer.json,
# hooks.d/}, alert rules and dashboard in /usr/share/fshealer, the example configuration in /usr/share/doc/fshealer.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/artifacts
AOT=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT=$2; shift 2 ;;
    --aot-dir) AOT=$2; shift 2 ;;
    *) echo "usage: $0 [--out DIR] [--aot-dir DIR]" >&2; exit 64 ;;
  esac
done
for t in dpkg-deb dpkg-shlibdeps fakeroot gzip; do
  command -v $t >/dev/null || { echo "$0: $t is needed (apt-get install dpkg-dev fakeroot)" >&2; exit 69; }
done
VERSION=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)
ARCH=$(dpkg --print-architecture)
mkdir -p "$OUT"

if [ -z "$AOT" ]; then
  AOT=$ROOT/artifacts/aot
  stamp=$AOT/.published
  if [ ! -f "$stamp" ] || [ -n "$(find src Directory.Build.props Directory.Build.targets Directory.Packages.props -newer "$stamp" -type f -print -quit)" ]; then
    echo "== dotnet publish -p:Aot=true (Native AOT)" >&2
    rm -rf "$AOT"
    dotnet publish src/fshealer -c Release -p:Aot=true -o "$AOT" -nologo -v q >&2
    dotnet publish src/fshealer-xfs-healer -c Release -p:Aot=true -o "$AOT" -nologo -v q >&2
    touch "$stamp"
  fi
fi
[ -x "$AOT/fshealer" ] || { echo "$0: no AOT binary at $AOT/fshealer" >&2; exit 66; }
file -b "$AOT/fshealer" 2>/dev/null | grep -q ELF || { echo "$0: $AOT/fshealer is not a native (ELF) executable" >&2; exit 65; }

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/fshealer-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
P=$STAGE/pkg
install -d -m 755 "$P/DEBIAN" "$P/usr/sbin" "$P/usr/libexec/fshealer" "$P/lib/systemd/system" \
  "$P/usr/share/man/man8" "$P/usr/share/man/man5" "$P/usr/share/bash-completion/completions" \
  "$P/usr/share/doc/fshealer" "$P/usr/share/fshealer/prometheus" "$P/usr/share/fshealer/grafana" \
  "$P/usr/lib/systemd/catalog" "$P/etc/fshealer/hooks.d"
# the binary and the one native library it loads (SQLite, for the history); nothing else from the publish
# directory: no .pdb/.dbg, no runtimes of other operating systems
install -m 755 "$AOT/fshealer" "$P/usr/libexec/fshealer/fshealer"
# the xfs_healer drop-in alone: `fshealer xfs-healer` (fshealer@.service) hands each per-mount process to it
[ -x "$AOT/fshealer-xfs-healer" ] || { echo "$0: no $AOT/fshealer-xfs-healer (dotnet publish src/fshealer-xfs-healer -p:Aot=true)" >&2; exit 66; }
install -m 755 "$AOT/fshealer-xfs-healer" "$P/usr/libexec/fshealer/fshealer-xfs-healer"
[ -f "$AOT/libe_sqlite3.so" ] && install -m 644 "$AOT/libe_sqlite3.so" "$P/usr/libexec/fshealer/libe_sqlite3.so"
ln -s ../libexec/fshealer/fshealer "$P/usr/sbin/fshealer"
install -m 755 packaging/xfs_healer "$P/usr/libexec/fshealer/xfs_healer"
install -m 755 packaging/fshealer-fail "$P/usr/libexec/fshealer/fshealer-fail"
install -m 644 packaging/systemd/*.service packaging/systemd/*.slice "$P/lib/systemd/system/"
gzip -9n < packaging/man/fshealer.8 > "$P/usr/share/man/man8/fshealer.8.gz"
gzip -9n < packaging/man/fshealer.json.5 > "$P/usr/share/man/man5/fshealer.json.5.gz"
install -m 644 packaging/completion/fshealer.bash "$P/usr/share/bash-completion/completions/fshealer"
install -m 644 packaging/fshealer.json.example "$P/usr/share/doc/fshealer/fshealer.json.example"
gzip -9n < README.md > "$P/usr/share/doc/fshealer/README.md.gz"
install -m 644 packaging/prometheus/fshealer-alerts.yml "$P/usr/share/fshealer/prometheus/"
install -m 644 packaging/grafana/fshealer-dashboard.json "$P/usr/share/fshealer/grafana/"
install -m 644 packaging/journal/fshealer.catalog "$P/usr/lib/systemd/catalog/"
install -m 644 packaging/debian/fshealer.json "$P/etc/fshealer/fshealer.json"
chmod 700 "$P/etc/fshealer/hooks.d"
cat > "$P/usr/share/doc/fshealer/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fshealer
Comment: built from the fshealer source tree by scripts/package-deb.sh
COPY
printf 'fshealer (%s) unstable; urgency=medium\n\n  * Built by scripts/package-deb.sh.\n\n -- fshealer <root@localhost>  %s\n' \
  "$VERSION" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" | gzip -9n > "$P/usr/share/doc/fshealer/changelog.Debian.gz"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$P/DEBIAN/"
printf '/etc/fshealer/fshealer.json\n' > "$P/DEBIAN/conffiles"

# Depends from the ELF files' shared libraries (dpkg-shlibdeps needs a debian/control to run in)
mkdir -p "$STAGE/src/debian"
printf 'Source: fshealer\n\nPackage: fshealer\nArchitecture: any\n' > "$STAGE/src/debian/control"
elfs=("$P/usr/libexec/fshealer/fshealer" "$P/usr/libexec/fshealer/fshealer-xfs-healer")
[ -f "$P/usr/libexec/fshealer/libe_sqlite3.so" ] && elfs+=("$P/usr/libexec/fshealer/libe_sqlite3.so")
shlibs=$(cd "$STAGE/src" && dpkg-shlibdeps -O "${elfs[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "$0: dpkg-shlibdeps found no dependencies" >&2; exit 70; }
size=$(du -sk --exclude=DEBIAN "$P" | cut -f1)
cat > "$P/DEBIAN/control" <<CTRL
Package: fshealer
Version: $VERSION
Architecture: $ARCH
Maintainer: fshealer <root@localhost>
Installed-Size: $size
Depends: $shlibs, procps
Recommends: xfsprogs, e2fsprogs, btrfs-progs, libssl3
Suggests: prometheus-node-exporter, default-mta | mail-transport-agent
Section: admin
Priority: optional
Homepage: https://localhost/fshealer
Description: autonomous self-healing for XFS, ext4 and btrfs filesystems
 fshealer follows every mounted XFS, ext4 and btrfs filesystem, turns the kernel's
 health signals (XFS health monitor and sick state, fanotify FAN_FS_ERROR, error
 counters, the kernel log) into one event model, decides by policy, repairs what can
 be repaired, and reports to the journal, history, mail, hooks, webhooks and
 Prometheus. Includes a drop-in for xfsprogs' xfs_healer (fshealer@.service).
 .
 This is the Native AOT build: one native executable, no .NET runtime needed.
CTRL
(cd "$P" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$P/DEBIAN/md5sums"
DEB=$OUT/fshealer_${VERSION}_${ARCH}.deb
fakeroot dpkg-deb -Zxz --build "$P" "$DEB" >&2
echo "$DEB"
