#!/usr/bin/env bash
# Tier 4: fshealer on a real Linux 7.x kernel (Debian sid's), in one QEMU (TCG) boot, compared with the released
# xfs_healer (xfsprogs 7.x). Host side of the tier:
#   1. fetch the kernel, its modules, xfsprogs 7.x and the libraries its tools need from Debian sid into a cache
#      (scripts/sid-packages.sh; never installed over the system);
#   2. build the initramfs (busybox + modules in dependency order + tests/vm/init), cached by content;
#   3. publish the Native AOT fshealer (cached by the content of src/ and the build props; JIT under TCG is slow);
#   4. boot QEMU with this machine's / shared read-only over 9p plus a writable results share; the guest runs
#      tests/vm/guest.sh (every tests/vm/scenarios/*.sh, each with its own time limit) and powers off;
#   5. a guard kills QEMU when the whole boot or one scenario overruns and names the scenario that hung;
#   6. the results become a .trx in the suite's results directory (scripts/test.sh counts them).
# When the tier cannot run here (not root, no QEMU, no network for the first fetch) it says why and records one
# skipped test carrying that reason.
#
# Usage: tests/vm/run.sh [--results DIR] [--only REGEX] [--timeout S] [--keep]   (FSHEALER_VM_ALL=1: the opt-in scenarios too)
#        tests/vm/run.sh --script FILE [ARGS...]   run FILE (bash, in the guest chroot, with lib.sh's environment)
#                                                  instead of the scenarios; its output is printed (bench, debugging)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${FSHEALER_VM_CACHE:-/var/cache/fshealer/vm}
SID_CACHE=${FSHEALER_SID_CACHE:-/var/cache/fshealer/sid}
RESULTS=$REPO/artifacts/test-results
ONLY=
BOOT_TIMEOUT=${FSHEALER_VM_TIMEOUT:-1080}     # the whole boot (the tier's budget is 20 min, fetch and build included)
SCENARIO_TIMEOUT=${FSHEALER_VM_SCENARIO_TIMEOUT:-300}
KEEP=
SCRIPT=
SCRIPT_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --results) RESULTS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --timeout) BOOT_TIMEOUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --script) SCRIPT=$(realpath "$2"); shift 2; SCRIPT_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 64 ;;
  esac
done
T0=$(date +%s)
log() { echo "[vm $(( $(date +%s) - T0 ))s] $*"; }

# one .trx for the whole tier: name outcome seconds message-file (outcome Passed|Failed|NotExecuted)
write_trx() {  # write_trx TSV OUT.trx
  python3 - "$1" "$2" <<'PY'
import sys, html, os, uuid, datetime
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
c = {'Passed': 0, 'Failed': 0, 'NotExecuted': 0}
res, defs, entries = [], [], []
lid = str(uuid.uuid4())
for name, outcome, secs, msgfile in rows:
    c[outcome] += 1
    tid, eid = str(uuid.uuid4()), str(uuid.uuid4())
    msg = open(msgfile, errors='replace').read() if msgfile and os.path.exists(msgfile) else ''
    dur = '%02d:%02d:%06.3f' % (int(float(secs)) // 3600, int(float(secs)) // 60 % 60, float(secs) % 60)
    out = ''
    if msg:
        tag = 'ErrorInfo' if outcome == 'Failed' else 'StdOut'
        out = f'<Output><{tag}>' + (f'<Message>{html.escape(msg)}</Message></{tag}>' if tag == 'ErrorInfo' else f'{html.escape(msg)}</{tag}>') + '</Output>'
    res.append(f'<UnitTestResult executionId="{eid}" testId="{tid}" testName="{html.escape(name)}" computerName="vm" '
               f'duration="{dur}" startTime="{now}" endTime="{now}" testType="13cdc9d9-ddb5-4fa4-a97d-d965ccfc6d4b" '
               f'outcome="{outcome}" testListId="{lid}">{out}</UnitTestResult>')
    defs.append(f'<UnitTest name="{html.escape(name)}" id="{tid}"><Execution id="{eid}"/>'
                f'<TestMethod codeBase="tests/vm" className="Tier4" name="{html.escape(name)}"/></UnitTest>')
    entries.append(f'<TestEntry testId="{tid}" executionId="{eid}" testListId="{lid}"/>')
total = sum(c.values())
with open(sys.argv[2], 'w') as f:
    f.write('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<TestRun id="{uuid.uuid4()}" name="tier4-vm" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">'
            f'<Times creation="{now}" start="{now}" finish="{now}"/>'
            f'<Results>{"".join(res)}</Results><TestDefinitions>{"".join(defs)}</TestDefinitions>'
            f'<TestEntries>{"".join(entries)}</TestEntries><TestLists><TestList name="tier4" id="{lid}"/></TestLists>'
            f'<ResultSummary outcome="{"Failed" if c["Failed"] else "Completed"}"><Counters total="{total}" '
            f'executed="{c["Passed"] + c["Failed"]}" passed="{c["Passed"]}" failed="{c["Failed"]}" error="0" timeout="0" '
            f'aborted="0" inconclusive="0" notExecuted="{c["NotExecuted"]}"/></ResultSummary></TestRun>\n')
PY
}

skip_tier() {
  echo "tier 4 (Linux 7.x VM) skipped: $*"
  [ -n "$SCRIPT" ] && exit 0
  mkdir -p "$RESULTS"
  local tsv; tsv=$(mktemp); local msg; msg=$(mktemp)
  echo "tier 4 (Linux 7.x VM) skipped: $*" > "$msg"
  printf 'Tier4.VM\tNotExecuted\t0\t%s\n' "$msg" > "$tsv"
  write_trx "$tsv" "$RESULTS/vm.trx"
  rm -f "$tsv" "$msg"
  exit 0
}

[ "$(id -u)" = 0 ] || skip_tier "needs root (the guest mounts this machine's / over 9p and uses loop devices, scsi_debug, dm)"
command -v qemu-system-x86_64 >/dev/null || skip_tier "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' \
  || skip_tier "no static busybox for the initramfs (apt-get install busybox-static)"
command -v python3 >/dev/null || skip_tier "python3 not installed (builds the initramfs and the results)"

# --- 1. packages from Debian sid --------------------------------------------------------------------------------
mkdir -p "$CACHE"
SIDPKG=("$REPO/scripts/sid-packages.sh" --cache "$SID_CACHE")
SID_LIBS=(libc6 libuuid1 libblkid1 libinih1 liburcu8t64 libedit2 libdevmapper1.02.1 libicu78 libbsd0 libmd0 libtinfo6
          libselinux1 libudev1 libpcre2-8-0 libstdc++6 libgcc-s1)
fetch() {
  local img kver
  img=$("${SIDPKG[@]}" --depends linux-image-amd64 2>>"$CACHE/fetch.log" | grep -o '^linux-image-[^ ]*' | head -1) || return 1
  [ -n "$img" ] || return 1
  kver=${img#linux-image-}
  "${SIDPKG[@]}" "linux-binary-$kver" "linux-modules-$kver" xfsprogs "${SID_LIBS[@]}" >>"$CACHE/fetch.log" 2>&1 || return 1
  echo "$kver" > "$CACHE/kernel.version"
}
# sid's package lists are refreshed once a day (sid-packages.sh); so is the fetch
if [ -s "$CACHE/kernel.version" ] && [ -z "$(find "$CACHE/kernel.version" -mmin +1440)" ]; then
  log "using the cached kernel $(cat "$CACHE/kernel.version") and xfsprogs (fetched less than a day ago)"
elif log "fetching the Linux 7.x kernel and xfsprogs 7.x from Debian sid (cached in $SID_CACHE)"; ! fetch; then
  # sid moves; a kernel fetched before still serves (the log says why the fetch failed)
  [ -s "$CACHE/kernel.version" ] || skip_tier "cannot fetch the kernel from Debian sid (see $CACHE/fetch.log: $(tail -n 1 "$CACHE/fetch.log" 2>/dev/null))"
  log "fetch failed (see $CACHE/fetch.log); using the cached kernel $(cat "$CACHE/kernel.version")"
fi
KVER=$(cat "$CACHE/kernel.version")
SID=$SID_CACHE/root
MODDIR=$SID/usr/lib/modules/$KVER
VMLINUZ=$MODDIR/vmlinuz
[ -f "$VMLINUZ" ] || skip_tier "kernel $KVER has no vmlinuz in $MODDIR"
[ -x "$SID/usr/libexec/xfsprogs/xfs_healer" ] || skip_tier "the xfsprogs package has no xfs_healer ($SID/usr/libexec/xfsprogs)"

# wrappers for the guest: the xfsprogs 7.x tools through sid's loader (they need glibc 2.38), a recording systemctl
GBIN=$CACHE/guest-bin
gkey=$( { ls -l "$SID/usr/sbin"; echo v3; } | sha256sum | cut -c1-16)
if [ "$(cat "$GBIN/.key" 2>/dev/null)" != "$gkey" ]; then
  rm -rf "$GBIN"; mkdir -p "$GBIN/bin72" "$GBIN/fake"
  LIBD=$SID/usr/lib/x86_64-linux-gnu
  for t in "$SID"/usr/sbin/*; do
    n=$(basename "$t")
    if head -c 4 "$t" | grep -q ELF; then
      printf '#!/bin/sh\nexec %s --library-path %s --argv0 %s %s "$@"\n' "$LIBD/ld-linux-x86-64.so.2" "$LIBD" "$n" "$t" > "$GBIN/bin72/$n"
    else  # shell scripts (xfs_bmap, xfs_info, xfs_property, xfs_admin) run the tools beside them: copied here, beside the wrappers
      cp "$t" "$GBIN/bin72/$n"
    fi
  done
  printf '#!/bin/sh\n# tier-4 guest: no systemd in the chroot; record the call, succeed\necho "systemctl $*" >> "${SYSTEMCTL_LOG:-/run/vm/systemctl.log}"\n' > "$GBIN/fake/systemctl"
  chmod +x "$GBIN"/bin72/* "$GBIN"/fake/*
  echo "$gkey" > "$GBIN/.key"
fi

# --- 2. initramfs, cached by what it is made of ---------------------------------------------------------------
MODULES=(9p 9pnet_virtio xfs loop ext4 btrfs dm-flakey dm-snapshot scsi_debug sd_mod)
key=$( { echo "$KVER ${MODULES[*]}"; cat "$HERE/init" "$HERE/mkinitrd.py" "$BUSYBOX"; } | sha256sum | cut -c1-16)
INITRD=$CACHE/initrd-$key.gz
if [ ! -f "$INITRD" ]; then
  log "building the initramfs ($KVER)"
  rm -f "$CACHE"/initrd-*.gz
  python3 "$HERE/mkinitrd.py" "$MODDIR" "$BUSYBOX" "$HERE/init" "$INITRD" "${MODULES[@]}" > "$CACHE/modules.order" \
    || { echo "tier 4: initramfs build failed"; exit 1; }
fi

# --- 3. Native AOT fshealer, cached by the content of what it is built from -----------------------------------
# Published from a copy of the sources so the worktree's obj/ (net10.0, used by tiers 1-3) is not restored for net9.0.
srcfiles=$(cd "$REPO" && git ls-files -co --exclude-standard -- src Directory.Build.props Directory.Build.targets \
           Directory.Packages.props global.json nuget.config NuGet.Config 2>/dev/null | sort)
key=$(cd "$REPO" && { echo "$srcfiles"; echo "$srcfiles" | while read -r f; do [ -f "$f" ] && cat "$f"; done; } | sha256sum | cut -c1-16)
AOT=$CACHE/aot-$key
# scripts/test.sh hands over the package's fresh AOT build (tier 3 made it from the same sources) when it has one
if [ -n "${FSHEALER_VM_AOT:-}" ] && [ -x "$FSHEALER_VM_AOT/fshealer" ] && [ -x "$FSHEALER_VM_AOT/fshealer-xfs-healer" ] \
   && [ ! -x "$AOT/fshealer-xfs-healer" ]; then
  log "using the Native AOT build in $FSHEALER_VM_AOT"
  rm -rf "$CACHE"/aot-*; mkdir -p "$AOT.tmp"
  cp "$FSHEALER_VM_AOT"/fshealer "$FSHEALER_VM_AOT"/fshealer-xfs-healer "$AOT.tmp"/
  cp "$FSHEALER_VM_AOT"/*.so "$AOT.tmp"/ 2>/dev/null
  mv "$AOT.tmp" "$AOT"
fi
# both binaries, as the package ships them: `fshealer xfs-healer` hands the process to fshealer-xfs-healer beside it
if [ ! -x "$AOT/fshealer" ] || [ ! -x "$AOT/fshealer-xfs-healer" ]; then
  log "publishing the Native AOT fshealer (sources changed since the last tier-4 run)"
  rm -rf "$CACHE"/aot-* "$CACHE/build"
  mkdir -p "$CACHE/build"
  (cd "$REPO" && echo "$srcfiles" | tar -cf - -T - ) | tar -xf - -C "$CACHE/build"
  if ! { nice dotnet publish "$CACHE/build/src/fshealer" -c Release -p:Aot=true -o "$AOT.tmp" -v q -nologo \
         && nice dotnet publish "$CACHE/build/src/fshealer-xfs-healer" -c Release -p:Aot=true -o "$AOT.tmp" -v q -nologo; } \
       > "$CACHE/publish.log" 2>&1; then
    tail -n 20 "$CACHE/publish.log"; echo "tier 4: Native AOT publish failed"
    mkdir -p "$RESULTS"; tsv=$(mktemp); cp "$CACHE/publish.log" "$tsv.msg"
    printf 'Tier4.PublishAot\tFailed\t0\t%s\n' "$tsv.msg" > "$tsv"; write_trx "$tsv" "$RESULTS/vm.trx"; exit 1
  fi
  rm -f "$AOT.tmp"/*.dbg "$AOT.tmp"/*.pdb
  mv "$AOT.tmp" "$AOT"
fi

# --- 4. boot --------------------------------------------------------------------------------------------------
OUT=$(mktemp -d /var/tmp/fshealer-vm.XXXXXX)
chmod 755 "$OUT"
cleanup() { [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null; [ -z "$KEEP" ] && rm -rf "$OUT"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cat > "$OUT/job.env" <<EOF
VM_GUEST=$HERE/guest.sh
VM_REPO=$REPO
VM_SID=$SID
VM_FSHEALER=$AOT/fshealer
VM_GUEST_BIN=$GBIN
VM_ONLY='$ONLY'
VM_ALL=${FSHEALER_VM_ALL:-}
VM_SCENARIO_TIMEOUT=$SCENARIO_TIMEOUT
VM_SCRIPT='$SCRIPT'
VM_KERNEL_PACKAGE=$KVER
EOF
if [ -n "$SCRIPT" ]; then
  cp "$SCRIPT" "$OUT/script.sh"   # the guest's /tmp is its own: give it the script through the share
  sed -i "s|^VM_SCRIPT=.*|VM_SCRIPT=/run/vm/out/script.sh|" "$OUT/job.env"
  printf '%q ' "${SCRIPT_ARGS[@]}" > "$OUT/script.args"
fi
log "booting Linux $KVER (QEMU TCG, 2 vCPUs; whole-boot limit ${BOOT_TIMEOUT}s, ${SCENARIO_TIMEOUT}s per scenario)"
BOOT0=$(date +%s)
nice -n 10 qemu-system-x86_64 -accel tcg,thread=multi -cpu "${FSHEALER_VM_CPU:-max}" -smp 2 -m 3072 -display none -monitor none \
  -serial "file:$OUT/console.log" -no-reboot -net none \
  -kernel "$VMLINUZ" -initrd "$INITRD" -append "console=ttyS0 quiet loglevel=3 panic=-1 tsc=reliable rdinit=/init" \
  -fsdev local,id=h,path=/,security_model=none,readonly=on,multidevs=remap -device virtio-9p-pci,fsdev=h,mount_tag=host \
  -fsdev "local,id=o,path=$OUT,security_model=none" -device virtio-9p-pci,fsdev=o,mount_tag=out \
  -fsdev "local,id=r,path=$REPO,security_model=none,readonly=on,multidevs=remap" -device virtio-9p-pci,fsdev=r,mount_tag=repo \
  > "$OUT/qemu.log" 2>&1 &
QPID=$!
hung=
while kill -0 "$QPID" 2>/dev/null; do
  sleep 1
  now=$(date +%s)
  [ -n "$SCRIPT" ] && [ -f "$OUT/script.out" ] && { tail -c +$(( ${shown:-0} + 1 )) "$OUT/script.out"; shown=$(stat -c %s "$OUT/script.out"); }
  cur=$(awk '$1=="START"{s[$2]=$3} $1=="LIMIT"{l[$2]=$3} $1=="END"{delete s[$2]} END{for (k in s) print k, s[k], l[k]}' "$OUT/progress" 2>/dev/null | head -1)
  read -r cur_sc cur_t0 cur_limit <<< "${cur:-}"
  if [ $(( now - BOOT0 )) -gt "$BOOT_TIMEOUT" ]; then
    hung="the whole boot overran ${BOOT_TIMEOUT}s${cur_sc:+ while running $cur_sc}"
  elif [ -n "$cur" ] && [ $(( now - cur_t0 )) -gt $(( ${cur_limit:-$SCENARIO_TIMEOUT} + 90 )) ]; then
    hung="scenario $cur_sc overran its ${cur_limit:-$SCENARIO_TIMEOUT}s and the guest did not stop it"
  fi
  if [ -n "$hung" ]; then
    log "guard: $hung; killing QEMU"
    kill "$QPID"; sleep 2; kill -9 "$QPID" 2>/dev/null
    break
  fi
done
wait "$QPID" 2>/dev/null
QPID=
BOOT_SECS=$(( $(date +%s) - BOOT0 ))
[ -n "$SCRIPT" ] && [ -f "$OUT/script.out" ] && tail -c +$(( ${shown:-0} + 1 )) "$OUT/script.out"
log "VM finished after ${BOOT_SECS}s"

if [ -n "$SCRIPT" ]; then
  [ -f "$OUT/script.rc" ] || { echo "the guest did not finish the script${hung:+ ($hung)}"; tail -n 30 "$OUT/console.log"; exit 1; }
  exit "$(cat "$OUT/script.rc")"
fi

# --- 6. results -----------------------------------------------------------------------------------------------
mkdir -p "$RESULTS"
tsv=$OUT/results.tsv
touch "$tsv"
if [ ! -f "$OUT/progress" ]; then
  # the guest never got to the tests: say why (the console has the kernel's and init's last words)
  tail -n 40 "$OUT/console.log" > "$OUT/boot.msg" 2>/dev/null
  { echo "the VM did not start the tests${hung:+ ($hung)}; console:"; cat "$OUT/boot.msg"; } > "$OUT/boot.err"
  printf 'Tier4.Boot\tFailed\t%s\t%s\n' "$BOOT_SECS" "$OUT/boot.err" >> "$tsv"
else
  # a scenario that started and never ended hung (the guard or the guest's own timeout says which)
  awk '$1=="START"{s[$2]=$3} $1=="END"{delete s[$2]} END{for (k in s) print k}' "$OUT/progress" | while read -r sc; do
    { echo "scenario $sc did not finish: ${hung:-the VM stopped}"; echo "--- its log (tail):"; tail -n 40 "$OUT/logs/$sc.log" 2>/dev/null
      echo "--- console (tail):"; tail -n 15 "$OUT/console.log"; } > "$OUT/hung-$sc.msg"
    printf 'Tier4.%s.(hung)\tFailed\t0\t%s\n' "$sc" "$OUT/hung-$sc.msg" >> "$tsv"
  done
  grep -q '^DONE' "$OUT/progress" || [ -n "$hung" ] || {
    { echo "the guest stopped before finishing all scenarios; console:"; tail -n 30 "$OUT/console.log"; } > "$OUT/incomplete.msg"
    printf 'Tier4.Guest\tFailed\t%s\t%s\n' "$BOOT_SECS" "$OUT/incomplete.msg" >> "$tsv"; }
  # per-case results written by the guest: name outcome seconds (message in results/<name>.msg)
  while IFS=$'\t' read -r name outcome secs; do
    printf 'Tier4.%s\t%s\t%s\t%s\n' "$name" "$outcome" "$secs" "$OUT/results/$name.msg" >> "$tsv"
  done < <(cat "$OUT/results/cases.tsv" 2>/dev/null)
fi
write_trx "$tsv" "$RESULTS/vm.trx"
# keep the logs of this run beside the trx (a failure's message has the tail; the full log is here)
rm -rf "$RESULTS/vm-logs"; mkdir -p "$RESULTS/vm-logs"
cp -r "$OUT/logs/." "$RESULTS/vm-logs/" 2>/dev/null; cp "$OUT/console.log" "$OUT/progress" "$RESULTS/vm-logs/" 2>/dev/null
p=$(awk -F'\t' '$2=="Passed"' "$tsv" | wc -l); f=$(awk -F'\t' '$2=="Failed"' "$tsv" | wc -l); s=$(awk -F'\t' '$2=="NotExecuted"' "$tsv" | wc -l)
log "tier 4 on Linux $KVER: $p passed, $f failed, $s skipped (VM ${BOOT_SECS}s; logs in $RESULTS/vm-logs)"
[ "$f" = 0 ]
