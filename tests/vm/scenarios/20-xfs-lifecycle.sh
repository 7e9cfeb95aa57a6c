#!/bin/bash
# Scenario 3: the filesystem's life around a healer on Linux 7.x, each case against the released xfs_healer:
# shutdown (forced, and one caused by a corrupt btree during a write), unmount, a flood of events until the kernel
# reports LOST, mount --move, a bind mount that outlives the original, and a byte-identical clone mounted with
# -o nouuid over the same mount point (the weak handle must refuse it on the kernel's same-superblock check).
# timeout: 700
. "$VM_REPO/tests/vm/lib.sh"

BASE=$VMBASE/small.img
setup() { small_base "$W/small.img"; mv "$W/small.img" "$BASE"; }
run_case setup setup

# forced shutdown (xfs/1898): the line, then the unmount; both exit 0
shutdown_forced() {
  clone_image "$BASE" "$W/case.img"
  HEAL_ARGS=(--everything) TRIGGER='xfs_io -x -c "shutdown -f" .' HEAL_WAIT_RE=': filesystem shut down due to ' VERIFY=true
  both_healers heal_one "$W/case.img"
  assert_match "$W/rel.out" "^$MNT: filesystem shut down due to forced unmount$" "the kernel's shutdown event (xfs_healer's log)"
  compare_healers
  assert_eq "$MNT: filesystem unmounted" "$(tail -n 1 "$W/fsh.out")" "fshealer's last line"
  assert_eq 0 "$(<"$W/fsh.rc")" "fshealer's exit status after the unmount"
  assert_eq 0 "$(<"$W/fsh.repair.rc")" "xfs_repair -n after a forced shutdown (the log was flushed)"
}
run_case shutdown-forced shutdown_forced

# a corrupt rmapbt root met by an allocation: the transaction is dirty, so the kernel shuts the filesystem down
# ("metadata I/O error") and then reports the btree sick. xfs_healer still tries to repair (its reopen fails on the
# dead filesystem); fshealer stops repairing at the shutdown (ShutdownLatch).
shutdown_latch() {
  clone_image "$BASE" "$W/case.img"
  xfs_db -x -c 'agf 0' -c 'addr rmaproot' -c 'write -d magic 0' "$W/case.img" > /dev/null
  HEAL_ARGS=() TRIGGER='xfs_io -f -c "falloc 0 4m" newfile' HEAL_WAIT_RE='rmapbt: sick$' VERIFY=true
  both_healers heal_one "$W/case.img"
  assert_match "$W/rel.out" "^$MNT: filesystem shut down due to metadata I/O error$" "the shutdown (xfs_healer's log)"
  assert_match "$W/rel.out" "^$MNT agno 0x0 rmapbt: sick$" "the sick btree (xfs_healer's log)"
  compare_healers ShutdownLatch
  assert_no_match "$W/fsh.out" "$OUTCOME_RE" "fshealer attempted no repair after the shutdown"
  assert_eq 0 "$(count_lines "$W/fsh.systemctl")" "full checks fshealer started on the shut-down filesystem"
}
run_case shutdown-latch shutdown_latch

# flood: the healer is stopped (SIGSTOP) while an application keeps tripping over two corrupt directories (~1200
# SICK events), meant to overflow the kernel's queue into a LOST record; then the healer resumes and drains everything. The healers
# only log (--no-autofsck): with repairs, xfs_healer's drain of ~500 failed repairs and full-check starts takes minutes
# under TCG (the repair-and-LOST path is the simulated kernel's test and bench/vm-healers.sh's storm).
flood_one() {
  local kind=$1 img=$2 dev pid i
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" --no-autofsck
  read -r pid < "$W/$kind.pid"
  kill -STOP "$pid"
  for ((i = 0; i < 600; i++)); do : "$KMNT"/victimdir/* "$KMNT"/victimdir2/*; done 2> /dev/null
  kill -CONT "$pid"
  settle "$W/$kind.out"; settle "$W/$kind.out"
  umount_retry "$KMNT"; healer_wait "$kind" 60
  losetup -d "$dev"
}
flood() {
  clone_image "$BASE" "$W/case.img"
  corrupt_dir "$W/case.img" victimdir; corrupt_dir "$W/case.img" victimdir2
  both_healers flood_one "$W/case.img"
  note "xfs_healer: $(count_lines "$W/rel.out") lines; fshealer: $(count_lines "$W/fsh.out") lines"
  # Not asserted: on 7.2.13 these ~1200 queued SICK events did not overflow the kernel's queue (no LOST record), so
  # LOST on the real kernel is still untested; what is asserted is that both healers drain the burst identically
  has_line "$W/rel.out" ' events lost$' && note "the kernel reported lost events" || note "no LOST record on $(uname -r)"
  compare_healers
  assert_eq "$MNT: filesystem unmounted" "$(tail -n 1 "$W/fsh.out")" "fshealer drained everything and saw the unmount"
}
long_case event-burst flood

# mount --move (xfs/1900's cousin): the healer finds the filesystem at its new place (statmount by mount id)
move_one() {
  local kind=$1 img=$2 dev
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" --repair
  mkdir -p "$KW/moved"
  mount --move "$KMNT" "$KW/moved"
  ls "$KW/moved/victimdir" > "$W/$kind.trigger" 2>&1 || true
  wait_for "$W/$kind.out" "$OUTCOME_RE" 60
  settle "$W/$kind.out"
  ls "$KW/moved/victimdir" | wc -l > "$W/$kind.verify"
  umount_retry "$KW/moved"; healer_wait "$kind"
  losetup -d "$dev"
}
moved() {
  clone_image "$BASE" "$W/case.img"; corrupt_dir "$W/case.img" victimdir
  both_healers move_one "$W/case.img"
  compare_healers
  assert_match "$W/fsh.out" "victimdir directory: Repairs successful\.$" "fshealer repaired the moved filesystem"
  assert_eq 200 "$(<"$W/fsh.verify")" "entries in the directory after the repair"
  assert_eq 0 "$(<"$W/fsh.rc")" "fshealer's exit status"
}
run_case mount-move moved

# bind mount, then the original unmounted (xfs/1900): the filesystem lives on only at the bind; its mount id is gone,
# so the healer finds it by its source device
bind_one() {
  local kind=$1 img=$2 dev
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" --repair
  mkdir -p "$KW/bind"
  mount --bind "$KMNT" "$KW/bind"
  umount "$KMNT"
  ls "$KW/bind/victimdir" > "$W/$kind.trigger" 2>&1 || true
  wait_for "$W/$kind.out" "$OUTCOME_RE" 60
  settle "$W/$kind.out"
  ls "$KW/bind/victimdir" | wc -l > "$W/$kind.verify"
  umount_retry "$KW/bind"; healer_wait "$kind"
  losetup -d "$dev"
}
bind() {
  clone_image "$BASE" "$W/case.img"; corrupt_dir "$W/case.img" victimdir
  both_healers bind_one "$W/case.img"
  compare_healers
  assert_match "$W/fsh.out" "victimdir directory: Repairs successful\.$" "fshealer repaired the filesystem through the bind mount"
  assert_eq 200 "$(<"$W/fsh.verify")" "entries in the directory after the repair"
}
long_case bind-mount bind

# a clone (same UUID, same root handle) mounted with -o nouuid over the same mount point while a SICK event for the
# original waits (xfs/1901): the handle matches, the kernel's same-superblock ioctl does not, so: "Stale file handle"
clone_one() {
  local kind=$1 img=$2 dev dev2 pid
  clone_image "$BASE" "$W/$kind.clone.img"            # the clean twin
  dev=$(mount_image "$img" "$KMNT" nouuid)
  healer_start "$kind" "$kind" "$KMNT" --repair
  read -r pid < "$W/$kind.pid"
  kill -STOP "$pid"
  ls "$KMNT/victimdir" > "$W/$kind.trigger" 2>&1 || true
  dev2=$(attach "$W/$kind.clone.img")
  mount -o nouuid "$dev2" "$KMNT"
  kill -CONT "$pid"
  wait_for "$W/$kind.err" "Stale file handle" 30
  settle "$W/$kind.out"
  umount "$KMNT"                                      # the clone
  umount_retry "$KMNT"; healer_wait "$kind"           # the original: the healer sees its unmount and exits
  losetup -d "$dev2"; losetup -d "$dev"
}
clone() {
  clone_image "$BASE" "$W/case.img"; corrupt_dir "$W/case.img" victimdir
  both_healers clone_one "$W/case.img"
  assert_match "$W/rel.err" "^$MNT: cannot open filesystem to repair: Stale file handle$" "xfs_healer refused the clone"
  compare_healers
  assert_no_match "$W/fsh.out" "$OUTCOME_RE" "fshealer repaired nothing on the clone"
}
run_case clone-nouuid clone
