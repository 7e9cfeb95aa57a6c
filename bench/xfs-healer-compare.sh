#!/usr/bin/env bash
# Runs xfsprogs' released xfs_healer and `fshealer xfs-healer` side by side as whole processes, fed the same stream
# of health records by an LD_PRELOAD stand-in for the Linux 7.0 health monitor (bench/xfs-healer-compare/), and prints
# the ratio table of issue 18: events/s per mode, peak and idle RSS, system calls, output parity. Root (loop device,
# private mount namespace). Not part of the test suite. See bench/README.md.
#   bench/xfs-healer-compare.sh [--aot DIR] [--xfs-healer PATH] [--records N] [--pairs N] [--modes default,quiet,repair]
#                               [--strace-records N] [--no-strace] [--idle-seconds S] [--keep]
# fshealer runs two ways: `fshealer xfs-healer` (the 14 MB binary) and `fshealer-xfs-healer` (the per-mount drop-in
# binary, what fshealer@.service runs). --aot DIR holds both Native AOT binaries; without it they are published to
# artifacts/bench-aot first. Without --xfs-healer, uses the xfsprogs 7.x package unpacked by scripts/sid-packages.sh
# (fetched if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ "$(id -u)" = 0 ] || { echo "$0: needs root (loop device, mount)" >&2; exit 1; }
for t in gcc losetup mkfs.xfs unshare python3; do command -v $t >/dev/null || { echo "$0: needs $t" >&2; exit 1; }; done
aot="" xh="" rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --aot) aot=$2; shift 2 ;;
    --xfs-healer) xh=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done
if [ -z "$xh" ]; then
  xh=/var/cache/fshealer/sid/root/usr/libexec/xfsprogs/xfs_healer
  [ -x "$xh" ] || xh="$(scripts/sid-packages.sh xfsprogs)/usr/libexec/xfsprogs/xfs_healer"
fi
if ldd "$xh" | grep -q "not found"; then
  echo "== installing xfs_healer's libraries (liburcu8)" >&2
  apt-get install -y -qq liburcu8 >/dev/null
fi
if [ -z "$aot" ]; then
  aot=artifacts/bench-aot
  echo "== publishing the Native AOT fshealer and fshealer-xfs-healer to $aot" >&2
  dotnet publish src/fshealer -c Release -p:Aot=true -o "$aot" -nologo -v q >&2
  dotnet publish src/fshealer-xfs-healer -c Release -p:Aot=true -o "$aot" -nologo -v q >&2
fi
fsh=$aot/fshealer dropin=$aot/fshealer-xfs-healer
[ -x "$fsh" ] && [ -x "$dropin" ] || { echo "$0: $aot must hold fshealer and fshealer-xfs-healer" >&2; exit 1; }
shim=$(mktemp -d /tmp/fshealer-shim-XXXXXX)
trap 'rm -rf "$shim"' EXIT
gcc -O2 -Wall -shared -fPIC -o "$shim/healthmon_shim.so" bench/xfs-healer-compare/healthmon_shim.c -ldl
gcc -O2 -Wall -static -o "$shim/runrss" bench/xfs-healer-compare/runrss.c
echo "xfs_healer: $xh ($("$xh" -V))"
echo "fshealer:   $fsh ($(stat -c %s "$fsh") bytes), $dropin ($(stat -c %s "$dropin") bytes)"
unshare -m --propagation private python3 bench/xfs-healer-compare/compare.py \
  --xfs-healer "$xh" --fshealer "$fsh" --dropin "$dropin" --shim "$shim/healthmon_shim.so" --runrss "$shim/runrss" ${rest[@]+"${rest[@]}"}
