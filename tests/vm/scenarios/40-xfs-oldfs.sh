#!/bin/bash
# Scenario 2: the same directory fault on filesystems without reverse mappings and parent pointers (what mkfs.xfs
# 6.x makes) on Linux 7.x: online repair cannot rebuild the directory, so "Repair unsuccessful; offline repair
# required.", the inode form of the path (no parent pointers), and the escalation: a full check
# (systemctl start --no-block xfs_scrub@MNT.service) from both healers, compared line by line up to it.
#
# Found on Linux 7.2 (both healers, asserted): the failed repair re-reads the directory, which marks it sick again,
# which is a new SICK event, which starts another repair — a loop that lasts as long as the filesystem is mounted and
# keeps it busy (umount: "target is busy"). How many rounds each healer makes is timing, so only the lines up to the
# first full check are compared; the healers are stopped (SIGTERM) before the unmount.
# opt-in: ~4 min under TCG, and both healers loop (see above)
# timeout: 400
. "$VM_REPO/tests/vm/lib.sh"

# loop_one KIND IMAGE (run by both_healers): healer --repair, `ls` of the corrupt directory, 8 s of whatever follows
loop_one() {
  local kind=$1 img=$2 dev pid
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" --repair
  ls "$KMNT/victimdir" > "$W/$kind.trigger" 2>&1 || true
  wait_for "$W/$kind.out" ': Full repairs in progress\.$' 60
  nap 8
  read -r pid < "$W/$kind.pid"
  kill -TERM "$pid"; healer_wait "$kind" 30
  umount_retry "$KMNT"
  xfs_repair -n "$dev" > "$W/$kind.repair" 2>&1 && echo 0 > "$W/$kind.repair.rc" || echo $? > "$W/$kind.repair.rc"
  losetup -d "$dev"
}
# up to the first full check
prefix() { awk '{print} /: Full repairs in progress\.$/ {exit}' "$1"; }

oldfs_case() {
  small_base "$W/base.img" "$@"
  corrupt_dir "$W/base.img" victimdir
  both_healers loop_one "$W/base.img"
  assert_match "$W/rel.out" "^$MNT ino [0-9]+ gen 0x[0-9a-f]+ directory: sick$" "the kernel's sick event, inode form (xfs_healer's log)"
  assert_match "$W/rel.err" "^$MNT: XFS online repair is less effective without rmap btrees\.$" "xfs_healer's warning"
  prefix "$W/rel.out" > "$W/rel.prefix"; prefix "$W/fsh.out" > "$W/fsh.prefix"
  assert_files_equal "$W/rel.prefix" "$W/fsh.prefix" "stdout up to the first full check (xfs_healer, fshealer)"
  assert_eq "$(grep -c . "$W/rel.err" | head -1)" "$(grep -vc 'full check already started recently' "$W/fsh.err" | head -1)" \
    "stderr lines (fshealer's full-check suppression notices aside)"
  assert_match "$W/fsh.out" "^$MNT ino [0-9]+ gen 0x[0-9a-f]+ directory: Repair unsuccessful; offline repair required\.$" "fshealer's outcome"
  assert_eq "systemctl start --no-block xfs_scrub@var-tmp-vm-mnt.service" "$(head -n 1 "$W/fsh.systemctl")" "the full check fshealer started"
  assert_eq "$(head -n 1 "$W/rel.systemctl")" "$(head -n 1 "$W/fsh.systemctl")" "the full check each healer started"
  assert_eq 1 "$(count_lines "$W/fsh.systemctl")" "full checks fshealer started (FullCheckRateLimit)"
  local rl fl; rl=$(grep -c ': sick$' "$W/rel.out" || true); fl=$(grep -c ': sick$' "$W/fsh.out" || true)
  note "repair loop in 8 s: xfs_healer $rl sick events, $(count_lines "$W/rel.systemctl") full checks; fshealer $fl sick events, $(count_lines "$W/fsh.systemctl") full check"
  # the directory is still damaged: that is what the full check (or xfs_repair) is for
  assert_eq 1 "$(<"$W/fsh.repair.rc")" "xfs_repair -n status (the damage remains for the offline repair)"
}
run_case mkfs72-norm-noparent oldfs_case mkfs72_old
run_case mkfs61 oldfs_case mkfs61
