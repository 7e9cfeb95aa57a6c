#!/bin/bash
# Shared helpers of the tier-4 scenarios (tests/vm/scenarios/*.sh). Sourced inside the VM (Linux 7.x, chroot into this
# machine's root, read-only; scratch space is tmpfs). `bash lib.sh --cleanup` undoes whatever a scenario left behind.
#
# A scenario is a list of cases:   run_case NAME FUNCTION [ARGS...]
# A case passes when FUNCTION returns; it fails at the first failed assertion (fail/assert_*) or unexpected command
# failure (errexit), with that message plus context; `skip REASON` makes it a skipped case.
#
# Tools: PATH starts with the xfsprogs 7.x tools from Debian sid (wrappers made by run.sh that run them through
# sid's loader: they need glibc 2.38), so mkfs.xfs/xfs_db/xfs_io/xfs_repair/xfs_scrub/xfs_property are 7.x; the
# host's 6.1 ones are /usr/sbin/NAME. `systemctl` is a recorder (the chroot has no systemd): every call is appended to
# $SYSTEMCTL_LOG and succeeds.
#
# Under TCG every fork+exec costs 0.1-1 s, so the helpers that loop (waiting, polling) use bash builtins only:
# `nap` (read -t on a fifo) instead of sleep, mapfile/[[ =~ ]] instead of grep, $EPOCHREALTIME instead of date.
set -u
W=/var/tmp/vm                   # scratch of one case: images, mount points (removed after each case)
VMBASE=/var/tmp/vm-base         # images a scenario's cases share (removed after the scenario)
VMRUN=/run/vm
SYSTEMCTL_LOG=$VMRUN/systemctl.log
REL_HEALER=${VM_SID:-}/usr/libexec/xfsprogs/xfs_healer
FSH=${VM_FSHEALER:-}
MNT=$W/mnt

# --- builtin-only time and text helpers -------------------------------------------------------------------------
[ -p $VMRUN/nap.fifo ] || { mkdir -p $VMRUN; mkfifo $VMRUN/nap.fifo; }
exec {NAPFD}<> $VMRUN/nap.fifo
nap() { read -r -t "$1" -u "$NAPFD" _ || true; }          # sleep without a process
now_us() { printf -v "$1" '%s' "${EPOCHREALTIME/./}"; }   # now_us VAR: microseconds since the epoch
secs_since() {  # secs_since VAR T0_US: "S.S" seconds since T0 into VAR
  local d=$(( ${EPOCHREALTIME/./} - $2 ))
  printf -v "$1" '%d.%03d' $((d / 1000000)) $((d / 1000 % 1000))
}
has_line() {  # has_line FILE REGEX: a line of FILE matches (extended regex, bash's)
  local -a _lines; local l
  [ -f "$1" ] || return 1
  mapfile -t _lines < "$1"
  for l in "${_lines[@]}"; do [[ $l =~ $2 ]] && return 0; done
  return 1
}
count_lines() { local -a _l; mapfile -t _l < "$1"; echo "${#_l[@]}"; }

vm_cleanup() {
  # healers and helpers we started, then mounts under $W (deepest first), loop devices on our images, dm, scsi_debug
  local p m l; local -a lines mnts
  if [ -f $VMRUN/pids ]; then mapfile -t lines < $VMRUN/pids; for p in "${lines[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -f $VMRUN/pids; fi
  for _ in 1 2 3; do
    mnts=()
    mapfile -t lines < /proc/self/mounts
    for l in "${lines[@]}"; do m=${l#* }; m=${m%% *}; [[ $m == "$W"* || $m == "$VMBASE"* ]] && mnts=("$m" "${mnts[@]}"); done
    [ ${#mnts[@]} = 0 ] && break
    for m in "${mnts[@]}"; do fuser -km "$m" >/dev/null 2>&1; umount -l "$m" 2>/dev/null; done
  done
  if compgen -G "/sys/block/loop*/loop/backing_file" > /dev/null; then
    for l in /sys/block/loop*/loop/backing_file; do
      read -r p < "$l"; [[ $p == "$W"* || $p == "$VMBASE"* ]] && { l=${l#/sys/block/}; losetup -d "/dev/${l%%/*}"; }
    done
  fi
  if compgen -G "/dev/mapper/vm-*" > /dev/null; then for m in /dev/mapper/vm-*; do dmsetup remove -f "${m#/dev/mapper/}"; done; fi
  [ -d /sys/module/scsi_debug ] && { nap 0.5; rmmod scsi_debug 2>/dev/null || busybox rmmod scsi_debug; }
  rm -rf "$W"
}
if [ "${1:-}" = --cleanup ]; then vm_cleanup; rm -rf "$VMBASE"; exit 0; fi

mkdir -p "$W" "$VMBASE"
export PATH=$VM_GUEST_BIN/fake:$VM_GUEST_BIN/bin72:$PATH

# --- cases and assertions ---------------------------------------------------------------------------------------
CASE=
CASE_MSG=/dev/null
CONTEXT=()
note() { echo "  [$CASE] $*"; }
# fail MESSAGE...: the case fails with MESSAGE, followed by the files registered with fail_context
fail() {
  { echo "$*"; for f in "${CONTEXT[@]}"; do [ -s "$f" ] && { echo "--- ${f#$W/}:"; head -c 3000 "$f"; }; done; } >> "$CASE_MSG"
  echo "  [$CASE] FAIL: $*"
  exit 1
}
fail_context() { CONTEXT+=("$@"); }   # files whose content a failure message should carry
skip() { echo "$*" >> "$CASE_MSG"; echo "  [$CASE] SKIP: $*"; exit 77; }
assert_eq() {  # assert_eq EXPECTED ACTUAL WHAT
  [ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
}
assert_match() {  # assert_match FILE REGEX WHAT
  has_line "$1" "$2" || fail "$3: no line of ${1#$W/} matches /$2/"
}
assert_no_match() {
  ! has_line "$1" "$2" || fail "$3: ${1#$W/} has a line matching /$2/: $(grep -E -- "$2" "$1" | head -3)"
}
assert_files_equal() {  # assert_files_equal EXPECTED ACTUAL WHAT
  cmp -s "$1" "$2" || fail "$3 differ (- ${1#$W/}, + ${2#$W/}):
$(diff -u "$1" "$2" | tail -n +3 | head -60)"
}

# run_case NAME FUNCTION [ARGS...]: one result line in cases.tsv (Passed/Failed/NotExecuted), message in NAME.msg
run_case() {
  local name=$VM_SCENARIO.$1; shift
  local t0; now_us t0
  local msg=$VM_OUT/results/$name.msg
  : > "$msg"
  echo "== case $name"
  dmesg -C 2>/dev/null
  (
    CASE=$name CASE_MSG=$msg
    set -eE
    trap 'fail "unexpected failure (status $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"' ERR
    mkdir -p "$W"
    "$@"
  )
  local rc=$? outcome=Passed secs
  [ $rc = 77 ] && outcome=NotExecuted
  [ $rc != 0 ] && [ $rc != 77 ] && outcome=Failed
  [ $rc != 0 ] && [ $rc != 77 ] && [ ! -s "$msg" ] && echo "case exited with status $rc" > "$msg"
  # the kernel's side of a failure (corruption reports, oopses) goes into the log beside the case
  [ $outcome = Failed ] && { echo "--- kernel log of the case:"; dmesg | grep -v '\] [0-9a-f]\{8\}: ' | tail -n 40; }
  vm_cleanup
  secs_since secs "$t0"
  printf '%s\t%s\t%s\n' "$name" "$outcome" "$secs" >> "$VM_OUT/results/cases.tsv"
  echo "== $outcome $name (${secs}s)"
}

# long_case NAME FUNCTION [ARGS...]: a case that runs only with FSHEALER_VM_ALL=1; otherwise one skipped case
# saying so. Keeps the default tier within its time budget under TCG.
long_case() {
  if [ -n "${VM_ALL:-}" ]; then run_case "$@"; return; fi
  local name=$VM_SCENARIO.$1
  echo "opt-in case (~1 min under TCG), not run by default: FSHEALER_VM_ALL=1 runs it" > "$VM_OUT/results/$name.msg"
  printf '%s\tNotExecuted\t0\n' "$name" >> "$VM_OUT/results/cases.tsv"
  echo "== NotExecuted $name (opt-in)"
}

# wait_for FILE REGEX SECONDS: until a line of FILE matches (fails the case otherwise)
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do has_line "$1" "$2" && return 0; nap 0.1; done
  fail "no line matching /$2/ in ${1#$W/} after $3 s"
}
bg_pid() { echo "$1" >> $VMRUN/pids; }

# --- block devices and filesystems ------------------------------------------------------------------------------
# new_image NAME [SIZE]: a sparse file $W/NAME (default 320M: mkfs.xfs 7.x refuses filesystems under 300 MB)
new_image() { truncate -s "${2:-320M}" "$W/$1"; }
attach() { losetup -f --show "$1"; }
# mount_image IMAGE MNT [OPTIONS]: loop device + mount; prints the loop device
mount_image() {
  local dev; dev=$(attach "$1"); mkdir -p "$2"
  mount ${3:+-o "$3"} "$dev" "$2" || { losetup -d "$dev"; return 1; }
  echo "$dev"
}
# umount_retry MNT [SECONDS]: unmount, retrying while busy (a repair in progress holds the fs for its duration)
umount_retry() {
  local i
  for ((i = 0; i < ${2:-30} * 5; i++)); do umount "$1" 2>/dev/null && return 0; nap 0.2; done
  umount "$1"
}
# clone_image SRC DST: a byte-identical copy (same UUID, same inode generations)
clone_image() { cp --sparse=always "$1" "$2"; }

# --- the two healers --------------------------------------------------------------------------------------------
# healer KIND ARGS...: run a healer in the foreground; KIND rel = the released xfs_healer (xfsprogs 7.x),
# fsh = fshealer xfs-healer (the Native AOT build). Both run as "xfs_healer" (argv[0] shows in getopt messages).
healer() { (healer_exec "$@"); }
healer_exec() {  # replaces the calling (sub)shell with the healer, so a background job's pid is the healer's
  local kind=$1; shift
  case $kind in
    rel) exec -a xfs_healer "$REL_HEALER" "$@" ;;
    fsh) exec "$FSH" xfs-healer "$@" ;;
  esac
}
# healer_start KIND TAG MNT [ARGS...]: start a healer on MNT in the background (stdout $W/TAG.out, stderr $W/TAG.err)
# and wait for "monitoring started"
healer_start() {
  local kind=$1 tag=$2 mnt=$3; shift 3
  healer_exec "$kind" "$@" "$mnt" > "$W/$tag.out" 2> "$W/$tag.err" &
  local pid=$!
  echo "$pid" > "$W/$tag.pid"; bg_pid "$pid"
  fail_context "$W/$tag.out" "$W/$tag.err"
  local i
  for ((i = 0; i < 600; i++)); do
    has_line "$W/$tag.out" "monitoring started" && return 0
    kill -0 "$pid" 2>/dev/null || break
    nap 0.1
  done
  fail "$kind healer ($tag) did not say 'monitoring started'"
}
# healer_wait TAG [SECONDS]: wait for the healer to exit by itself (after an unmount); its status in $W/TAG.rc
healer_wait() {
  local tag=$1 pid i; read -r pid < "$W/$tag.pid"
  for ((i = 0; i < ${2:-20} * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; nap 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; wait "$pid" 2>/dev/null; fail "healer $tag did not exit ${2:-20} s after the unmount"; fi
  local rc=0; wait "$pid" || rc=$?
  echo $rc > "$W/$tag.rc"
}

# --- XFS on Linux 7.x -------------------------------------------------------------------------------------------
# mkfs72 DEV [ARGS...]: mkfs.xfs 7.x (defaults: rmapbt, reflink, parent pointers, autofsck=repair)
mkfs72() { local d=$1; shift; mkfs.xfs -q -f "$@" "$d"; }
mkfs61() { local d=$1; shift; /usr/sbin/mkfs.xfs -q -f "$@" "$d"; }

# both_healers FUNCTION BASEIMAGE: run FUNCTION KIND IMAGE for rel and fsh at the same time (the VM has 2 vCPUs),
# each on its own byte-identical clone of BASEIMAGE (identical fault), each in its own directory $KW = $W/KIND with the
# same layout: its filesystem is mounted at $KMNT = $KW/mnt (with -o nouuid: the two clones share a UUID). Afterwards
# the outputs ($W/KIND.*) are normalised to the common paths ($W/KIND/... → $W/..., the same in systemd unit names),
# so they compare line by line and name $MNT. The systemctl calls each made are in $W/KIND.systemctl.
both_healers() {
  local fn=$1 base=$2 kind rc=0
  local -A pid=()
  for kind in rel fsh; do
    mkdir -p "$W/$kind"
    clone_image "$base" "$W/$kind.img"
    : > "$W/$kind.systemctl"
    ( KIND=$kind KW=$W/$kind KMNT=$W/$kind/mnt SYSTEMCTL_LOG=$W/$kind.systemctl; export SYSTEMCTL_LOG
      "$fn" "$kind" "$W/$kind.img" ) &
    pid[$kind]=$!
  done
  for kind in rel fsh; do wait "${pid[$kind]}" || rc=1; done
  local f
  for kind in rel fsh; do
    for f in "$W/$kind".*; do
      [[ $f == *.img ]] && continue
      sed -i -e "s#$W/$kind/#$W/#g" -e "s#var-tmp-vm-$kind-#var-tmp-vm-#g" -e "s#var/tmp/vm/$kind/#var/tmp/vm/#g" "$f"
    done
    fail_context "$W/$kind.out" "$W/$kind.err"
  done
  [ $rc = 0 ] || fail "a healer's run failed (its reason is above)"
}

# compare_healers [EXCEPTION]...: rel's and fsh's stdout, stderr and exit status must be identical. A named exception
# (below; each is listed in README "Differences from xfs_healer") rewrites the released healer's output into what
# fshealer is designed to print instead, and the rewritten oracle must then match fshealer's output exactly.
#
# One normalisation applies to both sides, always: consecutive identical event lines (": sick", ": corrupt",
# ": healthy") count once. The kernel merges a new event into the last queued one when they are identical, so whether
# two of them reach the reader separately depends on whether it had drained the first already: timing, not healer
# logic (seen on 7.2: "agno 0x1 agfl: healthy" twice for one healer, once for the other).
# The same for a repeated SICK event whose repair found nothing left to do: a "sick" line and its "No modification
# needed." line right after the same two lines count once (seen on 7.2: an inobt repair's follow-up SICK arrived
# once or twice depending on how fast the healer drained the queue).
collapse_repeats() {
  awk '{ l[n++] = $0 }
       END {
         m = 0
         for (i = 0; i < n; i++) {
           if (m > 0 && l[i] == o[m - 1] && l[i] ~ /: (sick|corrupt|healthy)$/) continue
           if (i + 1 < n && m > 1 && l[i] ~ /: sick$/ && l[i + 1] == substr(l[i], 1, length(l[i]) - 4) "No modification needed." \
               && o[m - 2] == l[i] && o[m - 1] == l[i + 1]) { i++; continue }
           o[m++] = l[i]
         }
         for (i = 0; i < m; i++) print o[i]
       }' "$1"
}
compare_healers() {
  local e
  cp "$W/rel.out" "$W/expected.out"; cp "$W/rel.err" "$W/expected.err"
  cp "$W/fsh.out" "$W/actual.out"; cp "$W/fsh.err" "$W/actual.err"
  for e in "$@"; do
    declare -F "exception_$e" >/dev/null || fail "unknown exception $e"
    "exception_$e"
    note "named exception applied: $e"
  done
  # after the exceptions: a suppressed full-check line no longer separates two identical events
  collapse_repeats "$W/expected.out" > "$W/x" && mv "$W/x" "$W/expected.out"
  collapse_repeats "$W/actual.out" > "$W/x" && mv "$W/x" "$W/actual.out"
  assert_files_equal "$W/expected.out" "$W/actual.out" "stdout of xfs_healer${*:+ (exceptions: $*)} and of fshealer xfs-healer"
  assert_files_equal "$W/expected.err" "$W/actual.err" "stderr of xfs_healer${*:+ (exceptions: $*)} and of fshealer xfs-healer"
  [ ! -f "$W/rel.rc" ] || assert_eq "$(<"$W/rel.rc")" "$(<"$W/fsh.rc")" "exit status (xfs_healer vs fshealer)"
}

# --- named, deliberate differences between fshealer xfs-healer and xfs_healer (README: Differences) -------------
# Each works on $W/expected.{out,err} (the oracle's output being rewritten) and may normalise one documented,
# variable field of $W/actual.{out,err}.
#
# FullCheckRateLimit: fshealer starts xfs_scrub@ at most once per --full-check-interval (default 300 s, doubling
# while triggers keep coming); xfs_healer starts it on every failed repair and every LOST event. Within one test only
# the first "Full repairs in progress." stays; fshealer says once on stderr that it suppressed the others
# ("... not starting another before HH:MM:SS (why)."; the time is normalised).
exception_FullCheckRateLimit() {
  local n; n=$(grep -c ': Full repairs in progress\.$' "$W/expected.out" || true)
  awk '/: Full repairs in progress\.$/ { if (seen++) next } { print }' "$W/expected.out" > "$W/x" && mv "$W/x" "$W/expected.out"
  if [ "$n" -gt 1 ]; then
    grep -m1 ': Full repairs in progress\.$' "$W/expected.out" \
      | sed 's/: Full repairs in progress\.$/: full check already started recently; not starting another before HH:MM:SS (WHY)./' >> "$W/expected.err"
    sed -i -E 's/(: full check already started recently; not starting another before )[0-9:]{8} \([^)]*\)\.$/\1HH:MM:SS (WHY)./' "$W/actual.err"
  fi
}
# Version: `-V` prints fshealer's own version ("xfs_healer version 0.1.0"), not xfsprogs'. (`fshealer --version`
# adds the commit a build from git carries, "0.1.0+8dc27c6…"; -V prints the release, as xfs_healer does.)
exception_Version() {
  sed -i -E "s/^xfs_healer version .*/xfs_healer version $("$FSH" --version | sed 's/+.*//')/" "$W/expected.out"
}

# --- populated XFS and the heal flow shared by the repair scenarios ---------------------------------------------
LONGTARGET=/$(printf 'a%.0s' {1..200})/$(printf 'b%.0s' {1..200})/target   # 409 bytes: a remote (block) symlink
# populate_xfs MNT: the victims (cf. fstests selfhealing): victimdir (400 entries: several directory blocks),
# xattrfile (200 xattrs: a node-form attr fork), longlink (a symlink in its own block), data/f1..f3 (1 MiB each),
# data/f1.clone (a reflink copy of f1).
# Built with shell builtins and one process per kind.
populate_xfs() {
  local m=$1 i
  mkdir "$m/victimdir" "$m/data"
  for i in {1..400}; do : > "$m/victimdir/file-with-a-longish-name-$i"; done
  : > "$m/xattrfile"
  { echo "# file: $m/xattrfile"; for i in {1..200}; do printf 'user.attribute-number-%d="value-%d-%0100d"\n' $i $i 0; done; } > "$W/attrs.txt"
  setfattr --restore="$W/attrs.txt"
  ln -s "$LONGTARGET" "$m/longlink"
  head -c 3M /dev/urandom > "$W/rand"
  for i in 1 2 3; do dd if="$W/rand" of="$m/data/f$i" bs=1M skip=$((i - 1)) count=1 status=none; done
  cp --reflink=always "$m/data/f1" "$m/data/f1.clone"   # shared extents: FIEMAP of f1 asks the refcount btree
}
# manifest: what populate_xfs made, as text (run in the mount point): compared before the fault and after the repair
manifest() {
  local -a e=(victimdir/*); echo "${#e[@]} entries"; ls victimdir | md5sum
  getfattr -d xattrfile 2>&1 | md5sum; readlink longlink | md5sum; md5sum data/*
}
# settle FILE: until FILE has not grown for 1.5 s (the kernel's follow-up events after a repair), at most 20 s
settle() {
  local last=-1 same=0 i n
  for ((i = 0; i < 100 && same < 8; i++)); do
    n=$(count_lines "$1"); if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; last=$n; fi; nap 0.2
  done
}
OUTCOME_RE=': (Repairs successful\.|No modification needed\.|Repair unsuccessful; offline repair required\.|Seems correct but cross-referencing failed; offline repair recommended\.)$'
# heal_one KIND IMAGE (run by both_healers): mount IMAGE at $KMNT, start healer KIND with ${HEAL_ARGS[@]}, run $TRIGGER in the mount point
# (output: $W/KIND.trigger), wait for /$HEAL_WAIT_RE/ in its stdout (default: a repair outcome), let it settle, run
# $VERIFY (output: $W/KIND.verify), let it settle again, unmount, wait for the healer to exit; for fshealer then `xfs_repair -n` (output
# $W/fsh.repair, status $W/fsh.repair.rc). The trigger and verify outputs say what an application saw before and
# after; $W/KIND.latency is the time from the trigger to the awaited line.
HEAL_ARGS=()
TRIGGER=true
VERIFY=manifest
HEAL_WAIT_RE=$OUTCOME_RE
heal_one() {
  local kind=$1 img=$2 dev t0 lat
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" "${HEAL_ARGS[@]}"
  now_us t0
  (cd "$KMNT" && eval "$TRIGGER") > "$W/$kind.trigger" 2>&1 || true
  wait_for "$W/$kind.out" "$HEAL_WAIT_RE" 60
  secs_since lat "$t0"; echo "$lat" > "$W/$kind.latency"
  settle "$W/$kind.out"
  # what the data looks like after the repair; run for both healers, so both see the events the reads cause
  (cd "$KMNT" && eval "$VERIFY") > "$W/$kind.verify" 2>&1 || echo "(verify exited $?)" >> "$W/$kind.verify"
  settle "$W/$kind.out"
  umount_retry "$KMNT"
  healer_wait "$kind"
  # the filesystem fshealer repaired must be clean (the oracle's run repaired the same damage the same way)
  if [ "$kind" = fsh ]; then xfs_repair -n "$dev" > "$W/fsh.repair" 2>&1 && echo 0 > "$W/fsh.repair.rc" || echo $? > "$W/fsh.repair.rc"; fi
  losetup -d "$dev"
}

# small_base IMAGE [MKFS...]: a fresh filesystem (mkfs.xfs 7.x unless MKFS names another mkfs command line) with
# victimdir and victimdir2 (200 entries each: multi-block directories); for the lifecycle scenarios
small_base() {
  local img=$1; shift
  truncate -s 320M "$img"
  if [ $# -gt 0 ]; then "$@" "$img"; else mkfs72 "$img"; fi
  local dev; dev=$(mount_image "$img" "$MNT")
  mkdir "$MNT/victimdir" "$MNT/victimdir2"
  local i; for i in {1..200}; do : > "$MNT/victimdir/file-with-a-longish-name-$i"; : > "$MNT/victimdir2/file-with-a-longish-name-$i"; done
  umount "$MNT"; losetup -d "$dev"
}
# corrupt_dir IMAGE DIR: zero the magic of DIR's first data block (the fstests selfhealing fault)
corrupt_dir() { xfs_db -x -c "path /$2" -c 'dblock 0' -c 'write -d dhdr.hdr.magic 0' "$1" > /dev/null; }

# ShutdownLatch: after a filesystem shutdown fshealer attempts no repair and no full check and says so once on stderr
# ("MNT: filesystem has shut down; no further repairs will be attempted."); xfs_healer keeps trying (its reopen or
# scrub then fails: "cannot open filesystem to repair: ...", or a failed outcome and a full check).
exception_ShutdownLatch() {
  local mnt; mnt=$(sed -n 's/: filesystem shut down due to .*//p' "$W/expected.out" | head -1)
  [ -n "$mnt" ] || fail "ShutdownLatch exception, but the oracle saw no shutdown"
  local sick_after
  sick_after=$(awk '/: filesystem shut down due to / {s = 1; next} s && /: sick$/ {n++} END {print n + 0}' "$W/expected.out")
  OUTRE=$OUTCOME_RE awk '/: filesystem shut down due to / {s = 1} s && ($0 ~ ENVIRON["OUTRE"] || /: Full repairs in progress\.$/) {next} {print}' \
    "$W/expected.out" > "$W/x" && mv "$W/x" "$W/expected.out"
  grep -v ': cannot open filesystem to repair: ' "$W/expected.err" > "$W/x" || true; mv "$W/x" "$W/expected.err"
  [ "$sick_after" -gt 0 ] && echo "$mnt: filesystem has shut down; no further repairs will be attempted." >> "$W/expected.err"
  return 0
}
mkfs72_old() { mkfs72 "$1" -m rmapbt=0 -n parent=0; }   # mkfs.xfs 7.x making what 6.x made
