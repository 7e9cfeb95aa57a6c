#!/bin/bash
# Scenario 8: the scheduled check of ext4 on LVM by snapshot (e2scrub's method, issue 17) on a kernel with
# device-mapper (this machine's 6.18 has none, so tier 3's LVM tests skip there): a VG on a loop device, an LV with
# ext4, mounted, latent damage no read surfaces (a deletion time on a live inode); `fshealer run` with
# max_check_age_seconds + scheduled_check checks it on a snapshot WITHOUT unmounting (the mount id stays), reports
# the damage, drops the snapshot; with offline-repair it then repairs; a clean LV is a verified check; a VG without
# room falls back to the offline rule and says why.
# timeout: 420
. "$VM_REPO/tests/vm/lib.sh"

SNAP=data.fshealer-e2scrub
# lvm_setup PV_MIB LVCREATE_SIZE_ARGS... [-- DEBUGFS_COMMAND]: VG $VG on a loop device, LV "data" with ext4 at $MNT
lvm_setup() {
  command -v lvcreate > /dev/null || skip "lvm2 is not installed on the host (scripts/test.sh installs it)"
  [ -e /dev/mapper/control ] || skip "the guest kernel has no device-mapper"
  export LVM_SYSTEM_DIR=$W/lvm LVM_SUPPRESS_FD_WARNINGS=1
  mkdir -p "$LVM_SYSTEM_DIR" "$MNT"
  local mib=$1; shift
  new_image pv.img "${mib}M"; PV=$(attach "$W/pv.img")
  # only our loop device, no udev in the guest, nothing written under the read-only /etc
  cat > "$LVM_SYSTEM_DIR/lvm.conf" <<EOF
devices { filter = [ "a|^$PV\$|", "r|.*|" ] global_filter = [ "a|^$PV\$|", "r|.*|" ] obtain_device_list_from_udev = 0 }
activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
backup { backup = 0 archive = 0 }
EOF
  VG=vm-lvm$RANDOM   # "vm-" prefix: lib.sh's cleanup removes leftover dm devices named vm-*
  pvcreate -q -y "$PV" > /dev/null; vgcreate -q -y "$VG" "$PV" > /dev/null
  local size=() dbg=
  while [ $# -gt 0 ]; do if [ "$1" = -- ]; then dbg=$2; break; fi; size+=("$1"); shift; done
  lvcreate -q -y -Wn -Zy "${size[@]}" -n data "$VG" > /dev/null
  DEV=/dev/$VG/data
  mkfs.ext4 -q -F -L fshlvm "$DEV"
  mount "$DEV" "$MNT"; mkdir "$MNT/d1"
  local i; for i in 1 2 3 4 5 6; do head -c $((16384 + i * 1000)) /dev/urandom > "$MNT/d1/f$i"; done
  umount "$MNT"
  [ -n "$dbg" ] && debugfs -w -R "$dbg" "$DEV" > /dev/null 2>&1
  mount -o errors=continue "$DEV" "$MNT"
}
lvm_teardown() {
  umount "$MNT" 2>/dev/null || true
  vgremove -q -y -f "$VG" > /dev/null 2>&1 || true
  pvremove -q -y -ff "$PV" > /dev/null 2>&1 || true
  losetup -d "$PV" 2>/dev/null || true
}
mount_id() { local -a l; local x; mapfile -t l < /proc/self/mountinfo; for x in "${l[@]}"; do set -- $x; [ "$5" = "$MNT" ] && echo "$1"; done | tail -1; }

# daemon_start POLICY: fshealer run with a rule for $MNT: the check due 3 s after the attach, snapshots of 32 MiB
daemon_start() {
  mkdir -p "$W/state"
  cat > "$W/fshealer.json" <<EOF
{ "rules": [ { "name": "lv", "match": { "mount_point": "$MNT" }, "ext4": { "policy": "$1", "snapshot_size_mb": 32 },
               "max_check_age_seconds": 3, "scheduled_check": { "enabled": true, "max_duration_seconds": 300 } } ] }
EOF
  "$FSH" run --state-dir "$W/state" --config "$W/fshealer.json" > "$W/daemon.out" 2> "$W/daemon.err" &
  DPID=$!; bg_pid "$DPID"
  fail_context "$W/daemon.out" "$W/daemon.err"
}
daemon_stop() {
  kill -TERM "$DPID"
  local i; for ((i = 0; i < 200; i++)); do kill -0 "$DPID" 2>/dev/null || break; nap 0.1; done
  wait "$DPID" || true
}
no_snapshot_left() {
  local lvs; lvs=$(lvs --noheadings -o lv_name "$VG" | tr -d ' ' | tr '\n' ' ')
  assert_eq "data " "$lvs" "the LVs of $VG after the check (the snapshot must be gone)"
}

damage_found_without_unmount() {
  lvm_setup 200 -L 96m -- "sif /d1/f1 dtime 12345"
  cat "$MNT/d1/f1" > /dev/null   # reading it surfaces nothing
  local id0; id0=$(mount_id)
  daemon_start report
  local t0; now_us t0
  wait_for "$W/daemon.err" "^$MNT: scheduled check: checked on an LVM snapshot: DAMAGE FOUND$" 240
  local s; secs_since s "$t0"; note "damage found on the snapshot ${s}s after the daemon started (96 MiB LV, TCG)"
  assert_match "$W/daemon.err" "^$MNT: scheduled check found latent damage: e2fsck exit 4" "the problem is reported"
  assert_eq "$id0" "$(mount_id)" "mount id of $MNT (never unmounted)"
  assert_no_match "$W/daemon.out" "unmount $MNT" "nothing unmounted"
  daemon_stop
  no_snapshot_left
  "$FSH" history --state-dir "$W/state" --fs "$MNT" > "$W/history.out" 2>&1
  assert_match "$W/history.out" "scheduled check found latent damage" "the problem is in the history"
  lvm_teardown
}
run_case damage-found-on-snapshot damage_found_without_unmount

then_repaired() {
  lvm_setup 200 -L 96m -- "sif /d1/f1 dtime 12345"
  daemon_start offline-repair
  wait_for "$W/daemon.out" "^$MNT: heal OfflineRepair: repaired, verified clean, mounted again$" 300
  daemon_stop
  no_snapshot_left
  umount "$MNT"
  local rc=0; e2fsck -fn "$DEV" > "$W/fsck.out" 2>&1 || rc=$?
  fail_context "$W/fsck.out"
  assert_eq 0 "$rc" "e2fsck -fn after the repair"
  lvm_teardown
}
run_case then-repaired then_repaired

clean_verified() {  # clean_verified PV_MIB LV_MIB
  lvm_setup "$1" -L "$2m"
  local id0; id0=$(mount_id)
  daemon_start report
  wait_for "$W/daemon.out" "^$MNT: scheduled check: .* checking it$" 120
  local t0; now_us t0
  wait_for "$W/daemon.out" "^$MNT: scheduled check: checked on an LVM snapshot: no damage found$" 240
  local s; secs_since s "$t0"; note "clean check on a snapshot of a $2 MiB LV: ${s}s from start to verdict (snapshot made and removed; TCG)"
  assert_eq "$id0" "$(mount_id)" "mount id of $MNT (never unmounted)"
  daemon_stop
  no_snapshot_left
  "$FSH" status --state-dir "$W/state" --config "$W/fshealer.json" --fs "$MNT" > "$W/status.out" 2>&1 || true
  fail_context "$W/status.out"
  assert_match "$W/status.out" "last good check/repair:" "status shows the verified check"
  lvm_teardown
}
run_case clean-verified clean_verified 200 96
run_case clean-verified-1g clean_verified 1200 1024

no_room_falls_back() {
  lvm_setup 100 -l 100%FREE
  daemon_start offline-repair
  wait_for "$W/daemon.out" "^$MNT: scheduled check: checked: no damage found, mounted again$" 240
  assert_match "$W/daemon.out" "no check on an LVM snapshot: volume group $VG has 0 B free, the snapshot needs 32 MiB \(ext4.snapshot_size_mb\)" "the reason"
  daemon_stop
  no_snapshot_left
  lvm_teardown
}
run_case no-room-falls-back no_room_falls_back
