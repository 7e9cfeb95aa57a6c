#!/usr/bin/env bash
# One corpus image, three passes on two fresh copies (called by run.sh inside its private mount namespace):
#   a:    fshealer watching while a user uses the mounted filesystem; then status/history, unmount, the plain tool
#         in no-modify mode (e2fsck -fn / xfs_repair -n / btrfs check --readonly + read-only scrub)
#   pre:  on a fresh copy, the same no-modify check of the untouched image ("was it damaged at all?")
#   tool: then, on that copy, the plain tool alone (e2fsck -fy / xfs_repair / btrfs scrub + check --repair), and the
#         same no-modify check again
# Results go to W/result.env (key=value, appended as they become known, so a timeout still leaves what was learnt).
#   run-one.sh ID FS FILES IMGDIR W
# Environment: FSHEALER (binary; empty with NO_DAEMON=1), DAEMON_ARGS (newline-separated), CONFIG, SETTLE_MIN,
# SETTLE_MAX, SETTLE_QUIET (seconds), LOOP_RECORD (shared with run.sh for cleanup after a timeout), SCHEDULED
# (non-empty: scheduled checks are on; a mounted image also waits for the scheduled check's outcome line).
set -u
. "$(dirname "$0")/lib.sh"
ID=$1 FS=$2 FILES=$3 IMGDIR=$4 W=$5
R="$W/result.env"
mkdir -p "$W"; : > "$R"
# (pure bash: on a loaded 2-CPU machine every extra process costs ~0.1 s)
res() { local v=${2//$'\n'/ }; v=${v//$'\t'/ }; v=${v//,/ }; printf '%s=%s\n' "$1" "${v:0:300}" >> "$R"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $(( t / 1000 )); }
mark() { printf 't_%s=%s\n' "$1" $(( $(now_ms) - T0 )) >> "$R"; }
T0=$(now_ms)
SETTLE_MIN=${SETTLE_MIN:-4} SETTLE_MAX=${SETTLE_MAX:-40} SETTLE_QUIET=${SETTLE_QUIET:-2}
MNT="$W/mnt"; mkdir -p "$MNT"
loop_record_init # (run.sh shares its record; run alone, this script keeps its own)
DAEMON_PID=""

cleanup() {
  [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && sleep 0.5 && kill -KILL "$DAEMON_PID" 2>/dev/null
  local i
  for i in 1 2 3; do is_mounted "$MNT" && { umount "$MNT" 2>/dev/null || sleep 1; }; done
  is_mounted "$MNT" && umount -l "$MNT" 2>/dev/null
  loop_detach_all
  rm -f "$W"/copy-*.img
}
trap cleanup EXIT

# ------------------------------------------------------------------ helpers
DEVS=()
attach_copy() { # TAG: fresh sparse copies of the image files, attached; sets DEVS
  local tag=$1 f
  DEVS=()
  IFS=, read -ra fl <<<"$FILES"
  for f in "${fl[@]}"; do
    cp --sparse=always "$IMGDIR/$f" "$W/copy-$tag-$f"
    DEVS+=("$(loop_attach "$W/copy-$tag-$f")") || return 1
  done
}
detach_copy() { local d; for d in "${DEVS[@]}"; do loop_detach "$d"; done; DEVS=(); rm -f "$W"/copy-*.img; }

MOUNT_OPTS=""
mount_fs() { # DEST [extra -o options] -> rc; stderr to W/mount-*.txt by the caller
  local dest=$1 extra=${2:-} opts="" d
  case "$FS" in
    ext4) opts=$MOUNT_OPTS ;;
    btrfs) for d in "${DEVS[@]:1}"; do opts="${opts:+$opts,}device=$d"; done ;;
  esac
  [ -n "$extra" ] && opts="${opts:+$opts,}$extra"
  timeout -k 5 60 mount -t "$FS" ${opts:+-o "$opts"} "${DEVS[0]}" "$dest"
}
umount_fs() { # busy 5 s: detach it lazily (a mounted XFS would keep its UUID taken for the next image) and fail
  local i; for i in 1 2 3 4 5; do is_mounted "$1" || return 0; umount "$1" 2>/dev/null && return 0; sleep 1; done
  umount -l "$1" 2>/dev/null; return 1; }

# the plain tool, no-modify mode, on the unmounted filesystem. Prints clean|dirty; details to FILE
check_offline() { # FILE
  # 60 s and 1 MB of output at most: e2fsck -n loops on some images (f_misstable: "Error writing block … Ignore
  # error? no" forever); a check that does not finish is not a clean check
  local out=$1 rc cmd
  case "$FS" in
    ext4) cmd=(e2fsck -fn) ;;
    xfs) cmd=(xfs_repair -n) ;;
    btrfs) cmd=(btrfs check --readonly) ;;
  esac
  timeout -k 5 60 "${cmd[@]}" "${DEVS[0]}" 2>&1 | head -c 1000000 > "$out"; rc=${PIPESTATUS[0]}
  echo "exit $rc" >> "$out"
  [ $rc = 0 ] && echo clean || echo dirty
}
# btrfs: a read-only scrub of the mounted filesystem (data checksums, the copies btrfs check does not read)
scrub_ro() { # MNT FILE -> clean|dirty
  timeout -k 5 120 btrfs scrub start -B -r "$1" > "$2" 2>&1; echo "exit $?" >> "$2"
  grep -q 'Error summary: *no errors found' "$2" && echo clean || echo dirty
}
# btrfs: whole verdict = check --readonly clean and (when it mounts) a read-only scrub clean
verify_btrfs() { # PREFIX -> clean|dirty|unmountable-clean
  local p=$1 c s
  c=$(check_offline "$W/$p-check.txt")
  local m="$W/$p-mnt"; mkdir -p "$m"
  if mount_fs "$m" ro 2> "$W/$p-mount.txt"; then
    s=$(scrub_ro "$m" "$W/$p-scrub.txt"); umount_fs "$m"
  else s=unmountable; fi
  rmdir "$m" 2>/dev/null
  [ "$c" = clean ] && [ "$s" = clean ] && echo clean || echo "dirty(check=$c,scrub=$s)"
}
verify() { # PREFIX -> clean|dirty...
  if [ "$FS" = btrfs ]; then verify_btrfs "$1"; else check_offline "$W/$1-check.txt"; fi
}
mountable() { local m="$W/probe-mnt"; mkdir -p "$m"; if mount_fs "$m" 2>/dev/null; then umount_fs "$m"; rmdir "$m"; echo 1; else rmdir "$m"; echo 0; fi; }

# kernel log since our marker, only lines about our devices
KMARK=""
kmsg_mark() { KMARK="fshealer-corpus[$$]: $ID $1 $(now_ms)"; echo "$KMARK" > /dev/kmsg; }
kmsg_since() { # MARK -> every line after it (W/kmsg-all.txt), and those that name one of our devices
  local pat="" d
  for d in "${DEVS[@]}"; do pat="${pat:+$pat|}${d#/dev/}([^0-9]|$)"; done
  dmesg --notime 2>/dev/null | awk -v m="$1" 'f; index($0, m) {f=1}' > "$W/kmsg-all.txt"
  grep -E "$pat" "$W/kmsg-all.txt" || true
}
# kernel lines that say "damage" (corruption, I/O error, checksum, shutdown, refused mount); one regex per fs, and
# lines that match it but are not damage
damage_re() {
  case "$FS" in
    ext4) echo 'EXT4-fs (error|critical|warning) \(device|error count since last fsck|Remounting filesystem read-only|Aborting journal|Detected aborted journal|I/O error|group descriptors corrupted|ext4_check_descriptors|corrupt root inode|get root inode failed|bad geometry|Can.t find ext[234] filesystem|invalid superblock checksum|no journal found|Could not load journal|journal has bad superblock|mount failed|failed to initialize system zone|bad s_want_extra_isize|first meta block group too large|Invalid log block size' ;;
    xfs) echo 'Corruption|corruption|CRC error|metadata I/O error|I/O [Ee]rror|Shutting down|shut down|xfs_repair|[Ff]ailed|bad|Bad|invalid|Invalid|verif|Structure needs cleaning|error -?[0-9]+|log mount' ;;
    btrfs) echo 'csum failed|checksum verify failed|checksum error|read error corrected|unable to fixup|fixed up error|errs: wr|corrupt|parent transid verify failed|bad tree block|level verify failed|bad fsid|[Tt]ransaction aborted|forced readonly|I/O error|open_ctree failed|failed to (read|verify|load)|invalid|mismatch|has bad csum|beyond device boundary|is missing|error \(device' ;;
  esac
}
not_damage_re() {
  case "$FS" in
    ext4) echo 'updating to rev 1 because of new feature flag|checktime reached|mounted filesystem' ;;
    xfs) echo 'Mounting V[45] Filesystem|Ending clean mount|Unmounting Filesystem' ;;
    btrfs) echo 'space cache v1 is being deprecated|inside the reserved space|first mount of filesystem|last unmount of filesystem|scrub: (started|finished)' ;;
  esac
}
damage_lines() { grep -E "$(damage_re)" | grep -vE "$(not_damage_re)" || true; }

# ------------------------------------------------------------------ image facts
res id "$ID"; res fs "$FS"
if [ "$FS" = ext4 ]; then
  eb=$(dumpe2fs -h "$IMGDIR/${FILES%%,*}" 2>/dev/null | awk -F: '/^Errors behavior/{gsub(/^ +/,"",$2); print $2}')
  # never let a corpus image panic the shared machine
  case "$eb" in Panic*) MOUNT_OPTS="errors=remount-ro"; res mount_opts "$MOUNT_OPTS (image says errors=panic)" ;; esac
  uuid=$(dumpe2fs -h "$IMGDIR/${FILES%%,*}" 2>/dev/null | awk -F: '/^Filesystem UUID/{gsub(/ /,"",$2); print $2}')
  res null_uuid "$([ "$uuid" = "<none>" ] || [ -z "$uuid" ] && echo 1 || echo 0)"
fi

# ------------------------------------------------------------------ a: fshealer watching a user
attach_copy a
ST="$W/state"; mkdir -p "$ST"
if [ -n "${FSHEALER:-}" ]; then
  mapfile -t dargs <<<"${DAEMON_ARGS:-}"
  args=(); for a in "${dargs[@]}"; do [ -n "$a" ] && args+=("$a"); done
  # a configuration naming @MNT@ gets this image's mount point there (rules that apply to it alone, never to /),
  # @FSTAB@ this image's fstab (W/fstab: the line for its device, written before the mount below)
  if grep -qE '@MNT@|@FSTAB@' "$CONFIG"; then
    jq --arg m "$MNT" --arg f "$W/fstab" 'walk(if . == "@MNT@" then $m elif . == "@FSTAB@" then $f else . end)' "$CONFIG" > "$W/config.json" || die "config: @MNT@ substitution failed"
    CONFIG="$W/config.json"
  fi
  # the fstab line of this image (its device, mount point, type and the options mount_fs uses), as a system would
  # have it: what an unmountable filesystem is mounted with again after the daemon's repair
  fo=""; case "$FS" in ext4) fo=$MOUNT_OPTS ;; btrfs) for d in "${DEVS[@]:1}"; do fo="${fo:+$fo,}device=$d"; done ;; esac
  printf '# corpus image %s\n%s %s %s %s 0 0\n' "$ID" "${DEVS[0]}" "${MNT// /\\040}" "$FS" "${fo:-defaults}" > "$W/fstab"
  "$FSHEALER" run --state-dir "$ST" --config "$CONFIG" "${args[@]}" > "$W/daemon.out" 2> "$W/daemon.err" &
  DAEMON_PID=$!; echo "$DAEMON_PID" > "$W/daemon.pid"
  for _ in $(seq 1 100); do grep -q 'watching [0-9]* filesystem' "$W/daemon.out" 2>/dev/null && break; sleep 0.1; done
  grep -q 'watching [0-9]* filesystem' "$W/daemon.out" || res daemon_not_ready 1
  mark daemon_ready
fi
kmsg_mark mount; M1=$KMARK
t0=$(now_ms)
if mount_fs "$MNT" 2> "$W/mount.txt"; then
  res mount_ok 1; res mount_ms $(( $(now_ms) - t0 ))
  if [ -n "$DAEMON_PID" ]; then
    t1=$(now_ms)
    for _ in $(seq 1 50); do grep -qF "$MNT: $FS filesystem attached" "$W/daemon.out" 2>/dev/null && break; sleep 0.1; done
    grep -qF "$MNT: $FS filesystem attached" "$W/daemon.out" && res attach_ms $(( $(now_ms) - t1 )) || res attached 0
  fi
  t0=$(now_ms)
  timeout -k 5 120 "$CORPUS_DIR/workload.sh" "$MNT" "$FS" "$W"; res workload_rc $?
  res workload_ms $(( $(now_ms) - t0 ))
  while IFS== read -r k v; do res "user_$k" "$v"; done < "$W/workload.txt" 2>/dev/null
  # level state right after the user's I/O
  case "$FS" in
    ext4) res ext4_errors_count "$(cat /sys/fs/ext4/"${DEVS[0]#/dev/}"/errors_count 2>/dev/null || echo '?')" ;;
    btrfs) res btrfs_dev_errs "$(btrfs device stats "$MNT" 2>/dev/null | awk '{s+=$2} END {print s+0}')" ;;
  esac
  kmsg_mark used; M2=$KMARK
else
  res mount_ok 0
  res mount_error "$(tr '\n' ' ' < "$W/mount.txt")"
  M2=""
fi
# an unmountable image with the unmountable policy: wait for the daemon's outcome for our device (repaired and
# mounted, not mounted, refused, report only) — or nothing to wait for when it did not report the refused mount
unm_done() {
  grep -q '^mount_ok=0' "$R" || return 0
  grep -q '"unmountable"' "$CONFIG" 2>/dev/null || return 0
  local o; o=$(cat "$W/daemon.out" "$W/daemon.err" 2>/dev/null)
  grep -qF "${DEVS[0]}: $FS mount failed: the filesystem is damaged" <<<"$o" || return 0
  grep -qE "^${DEVS[0]}: (unmountable |REFUSED|heal plan: Report|.*not repairing it now)" <<<"$o"
}
# settle: give the daemon time to notice and act (at least SETTLE_MIN s; then until its log is quiet for
# SETTLE_QUIET s, at most SETTLE_MAX s); with SCHEDULED, while the image is mounted, also until the scheduled check
# has an outcome line ("MNT: scheduled check: ..." that is neither its start nor a wait)
sched_done() {
  [ -z "${SCHEDULED:-}" ] && return 0
  is_mounted "$MNT" || return 0
  cat "$W/daemon.out" "$W/daemon.err" 2>/dev/null | grep -F "$MNT: scheduled check" | grep -vqE 'checking it$|check overdue; waiting|measuring'
}
if [ -n "$DAEMON_PID" ]; then
  t0=$(now_ms); last=""; quiet_since=$t0
  while :; do
    n=$(( $(now_ms) - t0 ))
    sz=$(cat "$W/daemon.out" "$W/daemon.err" 2>/dev/null | wc -c)
    [ "$sz" != "$last" ] && { last=$sz; quiet_since=$(now_ms); }
    [ $n -ge $((SETTLE_MAX * 1000)) ] && { res settle_timeout 1; break; }
    [ $n -ge $((SETTLE_MIN * 1000)) ] && [ $(( $(now_ms) - quiet_since )) -ge $((SETTLE_QUIET * 1000)) ] && sched_done && unm_done && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { res daemon_died 1; break; }
    sleep 0.25
  done
  [ -n "${SCHEDULED:-}" ] && res sched_outcome "$(sched_done && echo 1 || echo 0)"
  res settle_ms $(( $(now_ms) - t0 )); mark settled
  # unmountable: did the daemon repair it and mount it (the independent check below says whether it is clean)
  if grep -q '^mount_ok=0' "$R"; then
    res unm_outcome "$(cat "$W/daemon.out" "$W/daemon.err" 2>/dev/null | grep -E "^${DEVS[0]}: (unmountable |REFUSED|heal plan: Report)" | tail -1)"
    res unm_daemon_mounted "$(is_mounted "$MNT" && echo 1 || echo 0)"
  fi
  # with scheduled checks (a few seconds' max_check_age) the daemon may be in its next check right now: give it the
  # time to mount the filesystem again before asking for the status
  if [ -n "${SCHEDULED:-}" ] && grep -qx "mount_ok=1" "$R"; then
    for _ in $(seq 1 80); do is_mounted "$MNT" && break; sleep 0.25; done
  fi
  if is_mounted "$MNT"; then
    timeout -k 5 30 "$FSHEALER" status --json --state-dir "$ST" --config "$CONFIG" --fs "$MNT" > "$W/status.json" 2> "$W/status.err"
    res status_rc $?
    res status_health "$(jq -r --arg m "$MNT" '.filesystems[] | select(.mount_point == $m) | .health' "$W/status.json" 2>/dev/null | head -1)"
    res status_reasons "$(jq -r --arg m "$MNT" '.filesystems[] | select(.mount_point == $m) | .reasons | join("; ")' "$W/status.json" 2>/dev/null | head -1)"
  fi
  kill -TERM "$DAEMON_PID" 2>/dev/null
  for _ in $(seq 1 60); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$DAEMON_PID" 2>/dev/null; then kill -KILL "$DAEMON_PID"; res daemon_killed 1; fi
  wait "$DAEMON_PID" 2>/dev/null; res daemon_rc $?; mark daemon_stopped
  # after the daemon has stopped: it lets a running action finish and mount the filesystem again (never left down)
  res mounted_after "$(is_mounted "$MNT" && echo 1 || echo 0)"
  DAEMON_PID=""
  grep -qE 'Unhandled exception|   at [A-Za-z]' "$W/daemon.err" && res daemon_crash 1
  timeout -k 5 30 "$FSHEALER" history --json --state-dir "$ST" --config "$CONFIG" --limit 100000 > "$W/history.json" 2> "$W/history.err"
  # what fshealer saw and did about THIS filesystem (its mount point, or one of our devices)
  devre=$(printf '%s|' "${DEVS[@]}" | sed 's|/dev/||g; s/|$//')
  jq --arg m "$MNT" --arg d "^(/dev/)?($devre)\$" '[.[] | select(.mount == $m or ((.device // "") | test($d)))]' "$W/history.json" > "$W/events.json" 2>/dev/null || echo '[]' > "$W/events.json"
  "$(dirname "$0")/classify.sh" "$W"
  res fanotify_refused "$(grep -c 'no watcher\|cannot watch\|ENODEV' "$W/daemon.err" "$W/daemon.out" 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}')"
fi
mark history
# kernel: what it said while the filesystem was mounted and used (and at mount), about our devices
kmsg_since "$M1" > "$W/kmsg.txt"
if [ -n "$M2" ]; then awk -v m="$M2" 'index($0, m) {exit} {print}' "$W/kmsg-all.txt" > "$W/kmsg-use.txt"; else cp "$W/kmsg-all.txt" "$W/kmsg-use.txt"; fi
grep -E "${DEVS[0]#/dev/}([^0-9]|$)" "$W/kmsg-use.txt" | damage_lines > "$W/kmsg-damage.txt"
# a btrfs member other than the first also speaks for the filesystem
for d in "${DEVS[@]:1}"; do grep -E "${d#/dev/}([^0-9]|$)" "$W/kmsg-use.txt" | damage_lines >> "$W/kmsg-damage.txt"; done
res kernel_lines "$(wc -l < "$W/kmsg-damage.txt")"
res kernel_first "$(head -1 "$W/kmsg-damage.txt")"
# keep only the lines about our devices (the log also holds other users' lines)
pat=""; for d in "${DEVS[@]}"; do pat="${pat:+$pat|}${d#/dev/}([^0-9]|$)"; done
grep -E "$pat" "$W/kmsg-use.txt" > "$W/kmsg-use.ours" || true; mv "$W/kmsg-use.ours" "$W/kmsg-use.txt"; rm -f "$W/kmsg-all.txt"
mark kmsg
# unmount and the independent check
if is_mounted "$MNT"; then
  if [ "$FS" = btrfs ]; then res a_scrub "$(scrub_ro "$MNT" "$W/a-scrub.txt")"; fi
  umount_fs "$MNT" || res umount_failed 1
fi
a=$(check_offline "$W/a-check.txt")
if [ "$FS" = btrfs ]; then
  s=$(sed -n 's/^a_scrub=//p' "$R" | tail -1)
  [ -n "$s" ] || s=$(m="$W/a-mnt"; mkdir -p "$m"; if mount_fs "$m" ro 2>/dev/null; then scrub_ro "$m" "$W/a-scrub.txt"; umount_fs "$m"; else echo unmountable; fi; rmdir "$m")
  [ "$a" = clean ] && [ "$s" = clean ] || a="dirty(check=$a,scrub=$s)"
fi
res after "${a%%(*}"; res after_detail "$a"
# "fshealer healed unmountable": the kernel refused the mount, the daemon mounted it afterwards, and the independent
# check is clean
grep -q '^mount_ok=0' "$R" && res unm_healed "$(grep -q '^unm_daemon_mounted=1' "$R" && [ "${a%%(*}" = clean ] && echo 1 || echo 0)"
detach_copy
# ------------------------------------------------------------------ pre + tool: the plain tool alone, on a fresh copy
# first in no-modify mode ("was it damaged at all?"), then repairing, then no-modify again
attach_copy tool
pre=$(verify pre)
res pre "${pre%%(*}"; res pre_detail "$pre"; mark pre
t0=$(now_ms)
case "$FS" in
  ext4) timeout -k 5 300 e2fsck -fy "${DEVS[0]}" > "$W/tool-repair.txt" 2>&1; trc=$? ;;
  xfs)
    timeout -k 5 300 xfs_repair "${DEVS[0]}" > "$W/tool-repair.txt" 2>&1; trc=$?
    if [ $trc = 2 ]; then # a dirty log: replay it by mounting, as xfs_repair says; if that fails, -L (what an admin does next)
      m="$W/tool-mnt"; mkdir -p "$m"
      if mount_fs "$m" >> "$W/tool-repair.txt" 2>&1; then umount_fs "$m"; else echo "mount failed: xfs_repair -L" >> "$W/tool-repair.txt"; fi
      rmdir "$m"
      timeout -k 5 300 xfs_repair "${DEVS[0]}" >> "$W/tool-repair.txt" 2>&1; trc=$?
      [ $trc = 2 ] && { timeout -k 5 300 xfs_repair -L "${DEVS[0]}" >> "$W/tool-repair.txt" 2>&1; trc=$?; res tool_used_L 1; }
    fi ;;
  btrfs)
    m="$W/tool-mnt"; mkdir -p "$m"; trc=0
    if mount_fs "$m" 2> "$W/tool-mount.txt"; then
      timeout -k 5 300 btrfs scrub start -B "$m" > "$W/tool-repair.txt" 2>&1; trc=$?
      umount_fs "$m"
    else echo "not mountable: no scrub" > "$W/tool-repair.txt"; fi
    rmdir "$m"
    if ! btrfs check --readonly "${DEVS[0]}" >> "$W/tool-repair.txt" 2>&1; then
      echo "== btrfs check --repair --force" >> "$W/tool-repair.txt"
      timeout -k 5 300 btrfs check --repair --force "${DEVS[0]}" >> "$W/tool-repair.txt" 2>&1; trc=$?
    fi ;;
esac
res tool_rc "$trc"; res tool_ms $(( $(now_ms) - t0 ))
tool=$(verify tool)
res tool "${tool%%(*}"; res tool_detail "$tool"
# an image fshealer could not mount: does it mount after the tool?
grep -q '^mount_ok=0' "$R" && res tool_mountable "$(mountable)"
detach_copy; mark tool

res elapsed_ms $(( $(now_ms) - T0 ))
res done 1
