#!/usr/bin/env bash
# Fetches packages from Debian's unstable suite (sid) into a cache directory and unpacks them there, without
# touching the system's apt state or installing anything. Used by the Linux 7.x VM tier (kernel, xfsprogs 7.x)
# and by the xfs_healer comparison benchmark (the released xfs_healer binary).
#   scripts/sid-packages.sh [--cache DIR] PKG...     prints the directory the packages were unpacked into
#   scripts/sid-packages.sh [--cache DIR] --depends PKG   prints PKG's candidate version and its Depends, one per line
#                                                        (resolves a meta package such as linux-image-amd64)
# The cache (default /var/cache/fshealer/sid, or $FSHEALER_SID_CACHE) keeps the .deb files and the unpacked tree;
# a package already downloaded is not fetched again. Package lists are refreshed at most once a day.
set -euo pipefail
CACHE=${FSHEALER_SID_CACHE:-/var/cache/fshealer/sid}
if [ "${1:-}" = "--cache" ]; then CACHE=$2; shift 2; fi
depends=
if [ "${1:-}" = "--depends" ]; then depends=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--cache DIR] PKG..." >&2; exit 64; }
mkdir -p "$CACHE/lists/partial" "$CACHE/debs/partial" "$CACHE/root" "$CACHE/cache"
SRC="$CACHE/sid.sources"
[ -f "$SRC" ] || printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: sid\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$SRC"
APT=(apt-get -q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$CACHE/srcparts" -o "Dir::State::Lists=$CACHE/lists"
     -o "Dir::Cache=$CACHE/cache" -o "Dir::Cache::Archives=$CACHE/debs" -o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1"
     -o "APT::Sandbox::User=root")
CACHEQ=(apt-cache "${APT[@]:2}")
mkdir -p "$CACHE/srcparts"; cp -f "$SRC" "$CACHE/srcparts/sid.sources"
stamp="$CACHE/lists/.updated"
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  "${APT[@]}" update >&2 && touch "$stamp"
fi
if [ -n "$depends" ]; then
  info=$("${CACHEQ[@]}" show --no-all-versions "$1" 2>/dev/null) || { echo "$0: package $1 not found in sid" >&2; exit 1; }
  awk '/^Version:/{print $2} /^Depends:/{sub(/^Depends: /, ""); gsub(/, /, "\n"); print}' <<<"$info"
  exit 0
fi
cd "$CACHE/debs"
for p in "$@"; do
  # resolve virtual/meta names to the candidate version's file name; skip the download when it is already here
  info=$("${CACHEQ[@]}" show --no-all-versions "$p" 2>/dev/null || true)
  ver=$(awk '/^Version:/{print $2; exit}' <<<"$info")
  [ -n "$ver" ] || { echo "$0: package $p not found in sid" >&2; exit 1; }
  name=$(awk '/^Package:/{print $2; exit}' <<<"$info")
  if ! ls "${name}_${ver//:/%3a}_"*.deb >/dev/null 2>&1; then "${APT[@]}" download "$name" >&2; fi
  deb=$(ls "${name}_${ver//:/%3a}_"*.deb | head -1)
  mark="$CACHE/root/.unpacked-$deb"
  [ -f "$mark" ] || { dpkg -x "$deb" "$CACHE/root" && touch "$mark"; }
done
echo "$CACHE/root"
