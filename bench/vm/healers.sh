#!/bin/bash
# Runs inside the tier-4 VM (tests/vm/run.sh --script bench/vm/healers.sh [ROUNDS] [FILES]): xfs_healer (xfsprogs 7.x)
# and fshealer xfs-healer (Native AOT) on the real Linux 7.x health monitor, one at a time.
#  1. event -> repair latency: a corrupt directory is listed; the time from the healer printing the "sick" line to it
#     printing the repair outcome (both lines timestamped as they arrive), ROUNDS times each (median, min, max);
#  2. a real-event storm: a populated filesystem (FILES files) scrubbed with `xfs_scrub -n` while the healer runs with
#     --everything (a corrupt/healthy event for every checked object); events printed, time from the end of the
#     scrub to the healer's last line (drain), the healer's CPU time and peak RSS.
# TCG makes everything slow and noisy: compare the two healers' ratios, not absolute figures.
. "$VM_REPO/tests/vm/lib.sh"
ROUNDS=${1:-5}
FILES=${2:-3000}
HZ=$(getconf CLK_TCK)

# stamp: timestamp every line of stdin as it arrives (builtins only: no process per line)
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

cpu_of() { local -a f; read -ra f < "/proc/$1/stat"; echo $(( f[13] + f[14] )); }   # utime + stime, ticks
hwm_of() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }                           # peak RSS, KiB

latency_round() {  # latency_round KIND IMAGE -> prints seconds from "sick" to the outcome
  local kind=$1 img=$2 dev hpid
  dev=$(mount_image "$img" "$MNT")
  coproc HEALER { healer_exec "$kind" --repair "$MNT" 2>&1; }
  hpid=$HEALER_PID
  stamp <&"${HEALER[0]}" > "$W/lat.$kind" &
  local spid=$!
  wait_for "$W/lat.$kind" 'monitoring started' 60
  ls "$MNT/victimdir" > /dev/null 2>&1 || true
  wait_for "$W/lat.$kind" "$OUTCOME_RE" 60
  umount_retry "$MNT"; wait "$hpid" 2>/dev/null; wait "$spid" 2>/dev/null
  losetup -d "$dev"
  awk '/: sick$/ && !s {s = $1} / (Repairs successful\.|Repair unsuccessful.*)$/ && !o {o = $1} END {printf "%.4f\n", o - s}' "$W/lat.$kind"
}

storm() {  # storm KIND IMAGE
  local kind=$1 img=$2 dev hpid t_scrub_end last
  dev=$(mount_image "$img" "$MNT")
  healer_exec "$kind" --everything --no-autofsck "$MNT" > "$W/storm.$kind.raw" 2>&1 &
  hpid=$!
  wait_for "$W/storm.$kind.raw" 'monitoring started' 60
  local c0; c0=$(cpu_of "$hpid")
  local t0=${EPOCHREALTIME/./}
  xfs_scrub -n "$MNT" > "$W/scrub.$kind" 2>&1 || true
  t_scrub_end=${EPOCHREALTIME/./}
  settle "$W/storm.$kind.raw"
  local c1 hwm; c1=$(cpu_of "$hpid"); hwm=$(hwm_of "$hpid")
  umount_retry "$MNT"; wait "$hpid" 2>/dev/null
  losetup -d "$dev"
  local events; events=$(grep -cE ': (sick|corrupt|healthy)$' "$W/storm.$kind.raw")
  local lost; lost=$(sed -nE 's/.*: ([0-9]+) events lost$/\1/p' "$W/storm.$kind.raw" | paste -sd+ | bc 2>/dev/null)
  printf '%-10s events %6d  lost %5s  scrub %6.1f s  cpu %6.2f s  peak RSS %6.1f MiB\n' "$kind" "$events" "${lost:-0}" \
    "$(echo "($t_scrub_end - $t0) / 1000000" | bc -l)" "$(echo "($c1 - $c0) / $HZ" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
}

echo "== kernel $(uname -r), xfs_healer $("$REL_HEALER" -V | awk '{print $3}'), fshealer $("$FSH" --version)"
small_base "$VMBASE/lat.img"; corrupt_dir "$VMBASE/lat.img" victimdir
echo "== event -> repair latency (sick line -> outcome line), $ROUNDS rounds each"
for kind in rel fsh; do
  for ((r = 0; r < ROUNDS; r++)); do clone_image "$VMBASE/lat.img" "$W/l.img"; latency_round "$kind" "$W/l.img"; rm -f "$W/l.img"; done \
    | sort -n > "$W/lat.sorted.$kind"
  printf '%-10s median %.3f s  min %.3f s  max %.3f s  (%s)\n' "$kind" "$(sed -n "$(( (ROUNDS + 1) / 2 ))p" "$W/lat.sorted.$kind")" \
    "$(head -1 "$W/lat.sorted.$kind")" "$(tail -1 "$W/lat.sorted.$kind")" "$(paste -sd' ' "$W/lat.sorted.$kind")"
done

echo "== storm: xfs_scrub -n of a filesystem with $FILES files, healer --everything"
truncate -s 1G "$VMBASE/storm.img"; mkfs72 "$VMBASE/storm.img"
dev=$(mount_image "$VMBASE/storm.img" "$MNT"); populate_xfs "$MNT"
mkdir "$MNT/many"; for ((i = 0; i < FILES; i++)); do echo "$i" > "$MNT/many/f$i"; done
umount "$MNT"; losetup -d "$dev"
for kind in rel fsh; do clone_image "$VMBASE/storm.img" "$W/s.img"; storm "$kind" "$W/s.img"; rm -f "$W/s.img"; done
vm_cleanup
