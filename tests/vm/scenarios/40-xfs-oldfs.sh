#!/bin/bash
# Scenario 2: the same directory fault on filesystems without reverse mappings and parent pointers (what mkfs.xfs
# 6.x makes) on Linux 7.x: online repair cannot rebuild the directory, so "Repair unsuccessful; offline repair
# required.", the inode form of the path (no parent pointers), and the escalation: a full check
# (systemctl start --no-block xfs_scrub@MNT.service) from both healers, compared line by line.
# timeout: 400
. "$VM_REPO/tests/vm/lib.sh"

# oldfs_case MKFS...: a directory corrupted on a filesystem made by MKFS, then both healers with --repair
oldfs_case() {
  small_base "$W/base.img" "$@"
  corrupt_dir "$W/base.img" victimdir
  HEAL_ARGS=(--repair) TRIGGER='ls victimdir > /dev/null' HEAL_WAIT_RE=': Full repairs in progress\.$' VERIFY=true
  both_healers heal_one "$W/base.img"
  assert_match "$W/rel.out" "^$MNT ino [0-9]+ gen 0x[0-9a-f]+ directory: sick$" "the kernel's sick event, inode form (xfs_healer's log)"
  assert_match "$W/rel.err" "^$MNT: XFS online repair is less effective without rmap btrees\.$" "xfs_healer's warning"
  compare_healers FullCheckRateLimit
  assert_match "$W/fsh.out" "^$MNT ino [0-9]+ gen 0x[0-9a-f]+ directory: Repair unsuccessful; offline repair required\.$" "fshealer's outcome"
  assert_match "$W/fsh.out" "^$MNT: Full repairs in progress\.$" "fshealer's escalation"
  assert_eq "systemctl start --no-block xfs_scrub@var-tmp-vm-mnt.service" "$(head -n 1 "$W/fsh.systemctl")" "the full check fshealer started"
  assert_eq "$(head -n 1 "$W/rel.systemctl")" "$(head -n 1 "$W/fsh.systemctl")" "the full check each healer started"
  # the directory is still damaged: that is what the full check (or xfs_repair) is for
  assert_eq 1 "$(<"$W/fsh.repair.rc")" "xfs_repair -n status (the damage remains for the offline repair)"
}
run_case mkfs72-norm-noparent oldfs_case mkfs72_old
run_case mkfs61 oldfs_case mkfs61
