#!/bin/bash
# Scenario 5: generic FAN_FS_ERROR on Linux 7.x. A listener of its own (FAN_CLASS_NOTIF | FAN_REPORT_FID, a
# FAN_MARK_FILESYSTEM mark) on each of an XFS, an ext4 and a btrfs filesystem while each meets an error, and fshealer's
# fanotify group (ext4-watch) on the ext4 one. Found on 7.2 (asserted): XFS reports metadata corruption (EUCLEAN) and
# its shutdown (ESHUTDOWN) through fanotify — it never did on 6.x; ext4 reports as before (a corrupt inode: EUCLEAN
# on that inode, which fshealer prints); btrfs reports nothing for a data checksum failure (the reader gets EIO).
# Scenario 7 (ext4/btrfs behaviour of the 6.x real-kernel tier, on 7.x) is the ext4 offline repair and btrfs scrub.
# timeout: 400
. "$VM_REPO/tests/vm/lib.sh"

XM=$W/xfs EM=$W/ext4 BM=$W/btrfs
setup_three() {
  small_base "$W/x.img"; corrupt_dir "$W/x.img" victimdir
  XDEV=$(mount_image "$W/x.img" "$XM")
  truncate -s 64M "$W/e.img"; mkfs.ext4 -q -F -E lazy_itable_init=0 "$W/e.img"
  mkdir -p "$W/e"; EDEV=$(mount_image "$W/e.img" "$W/e")
  mkdir "$W/e/d1"; echo hello > "$W/e/d1/f3"; umount "$W/e"
  debugfs -w -R "sif /d1/f3 block[0] 0x1234" "$EDEV" > /dev/null 2>&1
  mkdir -p "$EM"; mount -o errors=continue "$EDEV" "$EM"
  truncate -s 256M "$W/b.img"; mkfs.btrfs -q -f "$W/b.img"
  BDEV=$(mount_image "$W/b.img" "$BM")
  head -c 1M /dev/urandom > "$BM/victim"; sync
  local logical phys
  logical=$(filefrag -v -b4096 "$BM/victim" | awk '$1 == "0:" {sub(/\.\..*/, "", $4); print $4 * 4096; exit}')
  phys=$(btrfs-map-logical -l "$logical" -b 4096 "$BDEV" 2>/dev/null | sed -nE 's/.*physical ([0-9]+) device.*/\1/p' | head -1)
  [ -n "$phys" ] || fail "cannot map the btrfs file's block (logical $logical)"
  umount "$BM"
  dd if=/dev/urandom of="$W/b.img" bs=4096 count=1 seek=$((phys / 4096)) conv=notrunc status=none
  mount "$BDEV" "$BM"
}

# fanl MNT OUT: a FAN_FS_ERROR listener of its own (FAN_CLASS_NOTIF | FAN_REPORT_FID, a FAN_MARK_FILESYSTEM mark on
# MNT), one line per event: "error ERRNO count N" — what the kernel emits, whatever fshealer makes of it
fanl() {
  python3 -u - "$1" > "$2" 2>&1 <<'PY' &
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
fd = libc.fanotify_init(0x200, os.O_RDONLY)            # FAN_CLASS_NOTIF | FAN_REPORT_FID
if fd < 0 or libc.fanotify_mark(fd, 0x1 | 0x100, 0x8000, -100, sys.argv[1].encode()) < 0:
    print("fanotify:", os.strerror(ctypes.get_errno())); sys.exit(1)
print("listening", flush=True)
while True:
    buf = os.read(fd, 4096); off = 0
    while off + 24 <= len(buf):
        elen, _, _, mlen, mask, efd, pid = struct.unpack_from("=IBBHQii", buf, off)
        i = off + mlen
        while i + 4 <= off + elen:
            itype, _, ilen = struct.unpack_from("=BBH", buf, i)
            if itype == 5:                               # FAN_EVENT_INFO_TYPE_ERROR
                err, cnt = struct.unpack_from("=iI", buf, i + 4); print("error", err, "count", cnt, flush=True)
            i += max(ilen, 4)
        off += elen
PY
  bg_pid $!
  wait_for "$2" '^listening$' 30
}

generic_errors() {
  setup_three
  fanl "$XM" "$W/xfs.fan"; fanl "$EM" "$W/ext4.fan"; fanl "$BM" "$W/btrfs.fan"
  fail_context "$W/xfs.fan" "$W/ext4.fan" "$W/btrfs.fan"
  # fshealer's own fanotify group watches the ext4 one (XFS has the health monitor; ext4-watch takes only ext4)
  mkdir -p "$W/state"
  "$FSH" ext4-watch "$EM" --state-dir "$W/state" --duration 120 > "$W/watch.out" 2> "$W/watch.err" &
  local wpid=$!; bg_pid "$wpid"
  fail_context "$W/watch.out" "$W/watch.err"
  wait_for "$W/watch.out" "^$EM: ext4 filesystem attached " 30
  wait_for "$W/watch.out" "^fshealer: watching 1 filesystem" 30
  ls "$XM/victimdir" > /dev/null 2>&1 || true
  cat "$EM/d1/f3" > /dev/null 2>&1 || true
  cat "$BM/victim" > /dev/null 2> "$W/btrfs.read" || true
  wait_for "$W/xfs.fan" "^error 117 count [0-9]+$" 30
  wait_for "$W/ext4.fan" "^error 117 count [0-9]+$" 30
  wait_for "$W/watch.out" "^$EM: EUCLEAN \(Structure needs cleaning\) x[0-9]+ on inode [0-9]+" 30
  xfs_io -x -c "shutdown -f" "$XM"
  wait_for "$W/xfs.fan" "^error 108 count [0-9]+$" 30
  nap 2
  kill "$wpid"
  note "FAN_FS_ERROR on $(uname -r): XFS $(grep -c ^error "$W/xfs.fan") events ($(grep ^error "$W/xfs.fan" | awk '{print $2}' | sort -u | paste -sd,)), ext4 $(grep -c ^error "$W/ext4.fan"), btrfs $(grep -c ^error "$W/btrfs.fan" || true)"
  assert_match "$W/btrfs.read" "Input/output error" "the btrfs reader got EIO (checksum failure)"
  assert_no_match "$W/btrfs.fan" "^error " "btrfs reports no FAN_FS_ERROR for a data checksum failure (7.2)"
}
run_case generic-fs-error generic_errors

# scenario 7, ext4: a corrupt inode met with errors=continue, the watcher's offline-repair policy: unmount, e2fsck -fy,
# remount with the same options (the 6.x tier's OfflineRepairKernelTests, on 7.x)
ext4_offline_repair() {
  truncate -s 64M "$W/e.img"; mkfs.ext4 -q -F -E lazy_itable_init=0 "$W/e.img"
  mkdir -p "$EM"; local dev; dev=$(mount_image "$W/e.img" "$EM")
  mkdir "$EM/d1"; for i in 1 2 3; do echo "file $i" > "$EM/d1/f$i"; done; umount "$EM"
  debugfs -w -R "sif /d1/f3 block[0] 0x1234" "$dev" > /dev/null 2>&1
  mount -o errors=continue "$dev" "$EM"
  local opts_before; opts_before=$(awk -v m="$EM" '$2 == m {print $4}' /proc/self/mounts)
  mkdir -p "$W/state"
  "$FSH" ext4-watch "$EM" --policy offline-repair --state-dir "$W/state" --duration 120 > "$W/watch.out" 2> "$W/watch.err" &
  local wpid=$!; bg_pid "$wpid"
  fail_context "$W/watch.out" "$W/watch.err"
  wait_for "$W/watch.out" "^fshealer: watching 1 filesystem" 30
  cat "$EM/d1/f3" > /dev/null 2>&1 || true
  wait_for "$W/watch.out" "^$EM: heal OfflineRepair: " 90
  kill "$wpid"
  assert_match "$W/watch.out" "^$EM: heal OfflineRepair: repaired, verified clean, mounted again$" "the offline repair"
  assert_eq "$dev $opts_before" "$(awk -v m="$EM" '$2 == m {print $1, $4}' /proc/self/mounts)" "mounted again, same device and options"
  assert_eq "file 1" "$(cat "$EM/d1/f1")" "an intact file after the repair"
  umount "$EM"
  e2fsck -fn "$dev" > "$W/fsck.out" 2>&1 || fail "e2fsck -fn after the repair: $(cat "$W/fsck.out")"
}
long_case ext4-offline-repair ext4_offline_repair

# scenario 7, btrfs: two-device RAID1, one mirror's copy of a data block corrupted: fshealer btrfs scrub repairs it
# from the other copy and the device counters show it (the 6.x tier's BtrfsHealingTests, on 7.x)
btrfs_scrub() {
  truncate -s 256M "$W/b1.img" "$W/b2.img"
  local d1 d2; d1=$(attach "$W/b1.img"); d2=$(attach "$W/b2.img")
  mkfs.btrfs -q -f -d raid1 -m raid1 "$d1" "$d2"
  mkdir -p "$BM"; mount "$d1" "$BM"
  head -c 1M /dev/urandom > "$BM/victim"; sync
  local sum; sum=$(md5sum < "$BM/victim")
  local logical phys
  logical=$(filefrag -v -b4096 "$BM/victim" | awk '$1 == "0:" {sub(/\.\..*/, "", $4); print $4 * 4096; exit}')
  phys=$(btrfs-map-logical -l "$logical" -b 4096 "$d2" 2>/dev/null | sed -nE "s|.*physical ([0-9]+) device $d2.*|\1|p" | head -1)
  [ -n "$phys" ] || fail "cannot map the block onto $d2"
  umount "$BM"
  dd if=/dev/urandom of="$W/b2.img" bs=4096 count=1 seek=$((phys / 4096)) conv=notrunc status=none
  mount "$d1" "$BM"
  local rc=0
  "$FSH" btrfs scrub "$BM" > "$W/scrub.out" 2>&1 || rc=$?
  fail_context "$W/scrub.out"
  note "scrub: $(tr '\n' '|' < "$W/scrub.out")"
  assert_eq 0 "$rc" "fshealer btrfs scrub exit status (errors corrected)"
  assert_match "$W/scrub.out" "[Cc]orrected|corrected" "the scrub corrected the bad copy"
  assert_eq "$sum" "$(md5sum < "$BM/victim")" "the file's content"
  umount "$BM"
}
long_case btrfs-raid1-scrub btrfs_scrub
