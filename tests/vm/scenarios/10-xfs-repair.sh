#!/bin/bash
# Scenario 1: online repair on Linux 7.x of each kind of metadata xfs_db can corrupt on a mkfs.xfs 7.x filesystem
# (rmapbt, reflink, parent pointers, autofsck=repair), with the released xfs_healer as the oracle.
# Every case: one populated base image → the fault (xfs_db) → two byte-identical clones; on each, one healer runs
# while an application trips over the damage; then the two healers' stdout/stderr/exit status must be identical,
# the kernel must have reported the fault, fshealer's repair outcome is asserted, the data is checked afterwards
# and `xfs_repair -n` must find the filesystem fshealer repaired clean.
# timeout: 900
. "$VM_REPO/tests/vm/lib.sh"

BASE=$VMBASE/xfs72.img
setup() {
  new_image base.img
  mkfs72 "$W/base.img"
  local dev; dev=$(mount_image "$W/base.img" "$MNT")
  populate_xfs "$MNT"
  (cd "$MNT" && manifest) > "$VMBASE/manifest"
  assert_eq repair "$(getfattr --only-values -n trusted.xfs:autofsck "$MNT" 2>/dev/null)" "mkfs.xfs 7.x sets autofsck=repair"
  umount "$MNT"; losetup -d "$dev"
  mv "$W/base.img" "$BASE"
}

# repair_case ARGS TRIGGER SICK_RE OUTCOME_RE XFS_DB_ARGS...: the flow above; ARGS are the healers' options
# (a quoted list), TRIGGER runs in the mount point, SICK_RE must be in the oracle's log (the kernel saw the fault),
# OUTCOME_RE in fshealer's. The data must be intact afterwards unless $DATA_CHECK names another check.
DATA_CHECK=intact
repair_case() {
  local args=$1 trigger=$2 sick=$3 outcome=$4; shift 4
  [ -f "$BASE" ] || fail "no base image (the setup case failed)"
  clone_image "$BASE" "$W/case.img"
  xfs_db -x "$@" "$W/case.img" > "$W/xfs_db.out" 2>&1 || fail "xfs_db $* failed: $(cat "$W/xfs_db.out")"
  read -ra HEAL_ARGS <<< "$args"
  TRIGGER=$trigger
  both_healers heal_one "$W/case.img"
  note "event -> outcome: xfs_healer $(cat "$W/rel.latency") s, fshealer $(cat "$W/fsh.latency") s"
  assert_match "$W/rel.out" "$sick" "the kernel reported the fault (xfs_healer's log)"
  compare_healers "${EXCEPTIONS[@]}"
  assert_match "$W/fsh.out" "$outcome" "fshealer's repair outcome"
  assert_files_equal "$W/rel.trigger" "$W/fsh.trigger" "what the application saw (the same kernel, the same fault)"
  case $DATA_CHECK in
    intact) assert_files_equal "$VMBASE/manifest" "$W/fsh.verify" "the data before the fault and after fshealer's repair" ;;
    *) "$DATA_CHECK" ;;
  esac
  fail_context "$W/fsh.repair"
  assert_eq 0 "$(cat "$W/fsh.repair.rc")" "xfs_repair -n status on the filesystem fshealer repaired"
}
EXCEPTIONS=()

run_case setup setup

# directory block: the fstests xfs/1884 fault (first data block's magic)
run_case directory repair_case "--everything" 'ls victimdir > /dev/null' \
  "^$MNT/victimdir directory: sick$" "^$MNT/victimdir directory: Repairs successful\.$" \
  -c 'path /victimdir' -c 'dblock 0' -c 'write -d dhdr.hdr.magic 0'

# extended attribute block (node-form attr fork), with the default options (autofsck=repair decides)
run_case xattr repair_case "" 'getfattr -d xattrfile > /dev/null' \
  " xattr: sick$" "^$MNT/xattrfile xattr: Repairs successful\.$" \
  -c 'path /xattrfile' -c 'ablock 0' -c 'write -d hdr.info.hdr.magic 0'

# remote symlink block: repaired, readable again; the kernel cannot salvage a target whose block failed its checks,
# so the link's target is not the old one (the same for both healers: it is the kernel's repair)
symlink_readable() {
  readlink_out=$(sed -n 4p "$W/fsh.verify")
  [ "$readlink_out" != "$(sed -n 4p "$VMBASE/manifest")" ] || note "symlink target salvaged"
  assert_eq "$(sed '4d' "$VMBASE/manifest")" "$(sed '4d' "$W/fsh.verify")" "everything but the symlink target intact"
  assert_no_match "$W/fsh.verify" "readlink|Structure needs cleaning" "the symlink is readable after the repair"
}
DATA_CHECK=symlink_readable
long_case symlink repair_case "--everything" 'readlink -v longlink' \
  "^$MNT/longlink symlink: sick$" "^$MNT/longlink symlink: Repairs successful\.$" \
  -c 'path /longlink' -c 'dblock 0' -c 'write -d magic 0'
DATA_CHECK=intact

# free space btree (by block) root of AG 0, tripped by an allocation; --repair without autofsck
run_case bnobt repair_case "--repair" 'xfs_io -f -c "falloc 0 4m" newfile' \
  "^$MNT agno 0x0 bnobt: sick$" "^$MNT agno 0x0 bnobt: Repairs successful\.$" \
  -c 'agf 0' -c 'addr bnoroot' -c 'write -d magic 0'

# reverse-mapping btree root of AG 0, tripped by a read-only GETFSMAP (an allocation would shut the fs down: see
# the lifecycle scenario)
run_case rmapbt repair_case "--everything" 'xfs_io -c fsmap . > /dev/null' \
  "^$MNT agno 0x0 rmapbt: sick$" "^$MNT agno 0x0 rmapbt: Repairs successful\.$" \
  -c 'agf 0' -c 'addr rmaproot' -c 'write -d magic 0'

# free-list block of AG 1 (an AG header that still mounts: a corrupt AGF or AGI does not, see below)
long_case agfl repair_case "--everything" 'mkdir a b c d e; for d in a b c d e; do xfs_io -f -c "falloc 0 1m" $d/x; done' \
  "^$MNT agno 0x1 agfl: sick$" "^$MNT agno 0x1 agfl: Repairs successful\.$" \
  -c 'agfl 1' -c 'write -d magicnum 0'

# inode btree root of AG 1 (AG 0's holds the root directory: that filesystem does not mount), tripped by a read-only
# BULKSTAT of AG 1 (creating files there would meet it in a transaction and shut the filesystem down)
long_case inobt repair_case "--everything" 'xfs_io -c "bulkstat -a 1" . > /dev/null' \
  "^$MNT agno 0x1 inobt: sick$" "^$MNT agno 0x1 inobt: Repairs successful\.$" \
  -c 'agi 1' -c 'addr root' -c 'write -d magic 0'

# refcount btree root of the AG that holds data/f1 (shared with data/f1.clone), tripped by FIEMAP (it asks that AG's
# refcount btree which extents are shared)
RC_AG=$(xfs_db -r -c 'path /data/f1' -c bmap "$BASE" 2>/dev/null | sed -nE 's/.*startblock [0-9]+ \(([0-9]+)\/[0-9]+\).*/\1/p' | head -1)
RC_AGX=$(printf '0x%x' "${RC_AG:-0}")
long_case refcountbt repair_case "--everything" 'xfs_io -c fiemap data/f1 > /dev/null' \
  "^$MNT agno $RC_AGX refcountbt: sick$" "^$MNT agno $RC_AGX refcountbt: Repairs successful\.$" \
  -c "agf ${RC_AG:-0}" -c 'addr refcntroot' -c 'write -d magic 0'

# inode core whose verifier fails (bad magic): iget cannot build the inode, so the kernel marks the AG's inodes sick
# (no targeted repair exists for that); both healers ask for a full check, fshealer once (FullCheckRateLimit). The
# inode stays damaged until the full check or xfs_repair, so `xfs_repair -n` must still find it.
inode_still_damaged() {
  fail_context "$W/fsh.verify"
  ! cmp -s "$VMBASE/manifest" "$W/fsh.verify" || fail "the data looks intact although the inode is still damaged"
  assert_eq 1 "$(cat "$W/fsh.repair.rc")" "xfs_repair -n status (the damage is left for the full check)"
  echo 0 > "$W/fsh.repair.rc"
}
HEAL_WAIT_RE=': Full repairs in progress\.$' DATA_CHECK=inode_still_damaged EXCEPTIONS=(FullCheckRateLimit)
run_case inode-core repair_case "--everything" 'stat data/f2; stat data/f2; stat data/f2' \
  "^$MNT agno 0x1 inodes: sick$" "^$MNT: Full repairs in progress\.$" \
  -c 'path /data/f2' -c 'write -d core.magic 0'
HEAL_WAIT_RE=$OUTCOME_RE DATA_CHECK=intact EXCEPTIONS=()

# an inode core the verifier accepts but repair must fix (nblocks 0 with extents: "ino N gen 0x0 core: sick")
# crashes the 7.2.13 kernel in the repair (NULL dereference in xrep_dinode_count_rtgroup_rmaps on a filesystem
# without realtime groups, from XFS_IOC_SCRUB_METADATA with the repair flag; both healers trigger it). Not run.
run_case inode-core-repair skip "Linux 7.2.13 oopses repairing an inode core (xrep_dinode_count_rtgroup_rmaps, NULL rtgroup rmap) on a filesystem without realtime groups: not run, the VM would be unusable afterwards"

# AGF and AGI: a filesystem with either header of any AG corrupt does not mount on 7.x (per-AG reservations read
# them at mount), so no healer can see it; the kernel's answer is asserted
agheaders_unmountable() {
  local h
  for h in 'agf 1' 'agi 1'; do
    clone_image "$BASE" "$W/case.img"
    xfs_db -x -c "$h" -c 'write -d magicnum 0' "$W/case.img" > /dev/null 2>&1
    local dev; dev=$(attach "$W/case.img"); mkdir -p "$MNT"
    if mount "$dev" "$MNT" 2> "$W/mount.err"; then umount "$MNT"; losetup -d "$dev"; fail "a filesystem with a corrupt $h mounted"; fi
    assert_match "$W/mount.err" "Structure needs cleaning" "mount with a corrupt $h"
    losetup -d "$dev"
  done
}
run_case ag-headers-unmountable agheaders_unmountable
