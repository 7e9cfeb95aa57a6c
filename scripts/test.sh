#!/usr/bin/env bash
# Runs every test tier of fshealer and prints "N passed, N failed, N skipped" as its last line.
#   tier 1: core unit + property tests (no root)
#   tier 2: scenario tests on a simulated kernel (pipes, scripted scrub backend, fake systemctl)
#   tier 3: real-kernel tests (root; loop devices; inside a private mount namespace)
#   tier 4: a real Linux 7.x kernel (Debian sid's) in QEMU, fshealer against the released xfs_healer (tests/vm/run.sh;
#           root; fetches the kernel and xfsprogs 7.x into /var/cache/fshealer; skipped with the reason when it cannot run)
# Usage: scripts/test.sh [--tier 1|2|3|4]... [extra dotnet test args (tiers 1-3)]
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS="$ROOT/artifacts/test-results"
rm -rf "$RESULTS"; mkdir -p "$RESULTS"

tiers=()
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tier) tiers+=("$2"); shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done
[ ${#tiers[@]} -eq 0 ] && tiers=(1 2 3 4)
wants() { local t; for t in "${tiers[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

# Prerequisites: the real-kernel tier needs the filesystem tools; install them when we can.
need_pkgs=()
command -v mkfs.xfs >/dev/null || need_pkgs+=(xfsprogs)
command -v mkfs.btrfs >/dev/null || need_pkgs+=(btrfs-progs)
command -v debugfs >/dev/null || need_pkgs+=(e2fsprogs)
command -v losetup >/dev/null || need_pkgs+=(util-linux)
command -v fusermount3 >/dev/null || need_pkgs+=(fuse3 libfuse3-dev pkg-config)
command -v setfattr >/dev/null || need_pkgs+=(attr)
# ext4 on LVM: the scheduled check by snapshot (issue 17; needs a kernel with device-mapper to run)
command -v lvcreate >/dev/null || need_pkgs+=(lvm2)
# operations (issue 16): a real Prometheus and promtool, mandoc's man page lint, the package build (dpkg-dev, fakeroot),
# a Debian 12 root to install it into (debootstrap), the units' system call filters emulated (gcc + libseccomp)
command -v prometheus >/dev/null || need_pkgs+=(prometheus)
command -v mandoc >/dev/null || need_pkgs+=(mandoc)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v dpkg-shlibdeps >/dev/null || need_pkgs+=(dpkg-dev)
command -v fakeroot >/dev/null || need_pkgs+=(fakeroot)
command -v gcc >/dev/null || need_pkgs+=(gcc)
[ -f /usr/include/seccomp.h ] || need_pkgs+=(libseccomp-dev)
command -v systemd-analyze >/dev/null || need_pkgs+=(systemd)
# tier 4: QEMU (TCG: no KVM needed) and a static busybox for the VM's initramfs
if wants 4; then
  command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
  [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need_pkgs+=(busybox-static)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing test prerequisites: ${need_pkgs[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}") >/dev/null 2>&1 \
      || echo "warning: could not install ${need_pkgs[*]}; tests that need them will be skipped"
  else
    echo "note: missing ${need_pkgs[*]} and not root; tests that need them will be skipped"
  fi
fi

# The released xfs_healer (xfsprogs 7.x, Debian sid, unpacked into a cache, never installed) for the tier-3 parity
# tests; they skip with the reason when it cannot be had.
if [[ " ${tiers[*]} " == *" 3 "* ]] && [ "$(id -u)" = 0 ]; then
  XH=${FSHEALER_XFS_HEALER:-/var/cache/fshealer/sid/root/usr/libexec/xfsprogs/xfs_healer}
  if [ ! -x "$XH" ]; then
    echo "== fetching the released xfs_healer (scripts/sid-packages.sh xfsprogs)"
    timeout 300 scripts/sid-packages.sh xfsprogs >/dev/null 2>&1 || echo "warning: could not fetch xfsprogs from sid; the xfs_healer parity tests will be skipped"
  fi
  if [ -x "$XH" ] && ldd "$XH" 2>/dev/null | grep -q "not found" && command -v apt-get >/dev/null; then
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liburcu8) >/dev/null 2>&1 || echo "warning: could not install liburcu8 for xfs_healer"
  fi
fi

if wants 1 || wants 2 || wants 3; then
  echo "== build"
  if ! dotnet build fshealer.slnx -c Release -v q -nologo 2>&1 | tail -n 3; then
    echo "build failed"; echo "0 passed, 1 failed"; exit 1
  fi
fi

# the Debian package (Native AOT build), once for the whole run: the package tests install it (tier 3)
if [[ " ${tiers[*]} " == *" 3 "* ]] && [ "$(id -u)" = 0 ] && [ -z "${FSHEALER_DEB:-}" ]; then
  echo "== package (scripts/package-deb.sh)"
  if deb=$(scripts/package-deb.sh --out "$ROOT/artifacts" 2> "$RESULTS/package-deb.log"); then
    export FSHEALER_DEB=$deb
    # tier 4 boots the same Native AOT build instead of publishing its own
    [ -x "$ROOT/artifacts/aot/fshealer-xfs-healer" ] && export FSHEALER_VM_AOT=$ROOT/artifacts/aot
    echo "$(basename "$deb"): $(( $(stat -c %s "$deb") / 1024 )) KiB"
  else
    echo "package build failed (see $RESULTS/package-deb.log); the package tests will say why"; tail -n 5 "$RESULTS/package-deb.log"
  fi
fi

run_tier() {
  local name=$1 proj=$2; shift 2
  echo "== tier: $name"
  "$@" dotnet test "$proj" -c Release --no-build --nologo \
      --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" "${extra[@]}" 2>&1 \
    | grep -vE '^\s*$' | tail -n 40
}

for t in "${tiers[@]}"; do
  case "$t" in
    1) run_tier core tests/FsHealer.Core.Tests ;;
    2) run_tier scenario tests/FsHealer.Scenario.Tests ;;
    3) if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
         # private mount namespace: nothing the tests mount is visible outside, and it all goes away with them
         run_tier kernel tests/FsHealer.Kernel.Tests unshare -m --propagation private
       else
         run_tier kernel tests/FsHealer.Kernel.Tests
       fi ;;
    4) echo "== tier: vm (Linux 7.x in QEMU)"
       tests/vm/run.sh --results "$RESULTS" 2>&1 | tail -n 60 ;;
  esac
done

python3 - "$RESULTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
p = f = s = 0; failed = []
ns = {'t': 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010'}
files = glob.glob(sys.argv[1] + '/*.trx')
for fn in files:
    root = ET.parse(fn).getroot()
    c = root.find('.//t:Counters', ns)
    p += int(c.get('passed', 0)); f += int(c.get('failed', 0)) + int(c.get('error', 0)) + int(c.get('timeout', 0)) + int(c.get('aborted', 0))
    s += int(c.get('notExecuted', 0))
    for r in root.findall('.//t:UnitTestResult', ns):
        if r.get('outcome') == 'Failed':
            m = r.find('.//t:ErrorInfo/t:Message', ns)
            failed.append((r.get('testName'), (m.text or '').strip() if m is not None else ''))
for n, msg in failed:
    print('FAILED:', n)
    lines = msg.splitlines()
    # the assertion, and its last lines (where a script's own diagnosis usually is)
    for l in (lines[:6] + (['    ...'] + lines[-12:] if len(lines) > 18 else lines[6:18])): print('   ', l[:300])
if len(files) == 0: f += 1; print('no test results found')
print(f"{p} passed, {f} failed, {s} skipped")
sys.exit(1 if f else 0)
PY
