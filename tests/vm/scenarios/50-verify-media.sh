#!/bin/bash
# Scenario 4: media verification with the real XFS_IOC_VERIFY_MEDIA on Linux 7.x. A scsi_debug disk (RAM-backed SCSI
# disk) answers reads of 16 chosen sectors inside one file with a MEDIUM ERROR. Checked: fshealer verify-media against
# `xfs_io -x -c verifymedia` (7.x) on the same disk; --pinpoint names exactly those sectors; the read-scan fallback
# finds the same 8 KiB and maps it to the file and offset; with the REPORT flag the kernel publishes a media error and
# a data-lost file range, which both healers print identically.
# timeout: 500
. "$VM_REPO/tests/vm/lib.sh"

BAD_COUNT=16
DISK=
# the disk: scsi_debug 400 MiB, mkfs.xfs 7.x, three 8 MiB files; the bad sectors go 64 sectors into f2's first extent
setup_disk() {
  busybox insmod "$VMRUN/modules/scsi_debug.ko" dev_size_mb=400 || fail "insmod scsi_debug"
  local i b
  for ((i = 0; i < 50; i++)); do
    for b in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*/block/*; do [ -e "$b" ] && DISK=/dev/${b##*/}; done
    [ -n "$DISK" ] && [ -b "$DISK" ] && break; nap 0.2
  done
  [ -b "$DISK" ] || fail "scsi_debug made no disk"
  mkfs72 "$DISK"
  mkdir -p "$MNT"; mount "$DISK" "$MNT"
  for i in 1 2 3; do dd if=/dev/zero of="$MNT/f$i" bs=1M count=8 status=none; done
  sync
  # f2's first extent, in 512-byte sectors of the disk: "0: [0..16383]: 49216..65599"
  local ext; ext=$(xfs_io -r -c bmap "$MNT/f2" | sed -n '2p')
  local first=${ext##*: }; first=${first%%..*}
  [[ $first =~ ^[0-9]+$ ]] || fail "cannot read f2's extent from xfs_io bmap: $ext"
  BAD_START=$((first + 64))
  umount "$MNT"
  echo "$BAD_START" > /sys/module/scsi_debug/parameters/medium_error_start
  echo "$BAD_COUNT" > /sys/module/scsi_debug/parameters/medium_error_count
  echo 2 > /sys/bus/pseudo/drivers/scsi_debug/opts     # SDEBUG_OPT_MEDIUM_ERR: reads of those sectors fail
  assert_eq "$BAD_START" "$(</sys/module/scsi_debug/parameters/medium_error_start)" "scsi_debug took the bad sector number"
  mount "$DISK" "$MNT"
  note "disk $DISK, bad sectors $BAD_START..$((BAD_START + BAD_COUNT - 1)) (inside f2)"
}
# timing lines ("8 MiB, 3 ops; 0.0123 sec (...)") differ from run to run
no_timing() { sed -E 's/^[0-9.]+ [KMGT]?i?B, [0-9]+ ops; .*$/<timing>/' "$1"; }

ioctl_vs_xfs_io() {
  setup_disk
  local rc=0
  xfs_io -x -c verifymedia "$MNT" > "$W/xfs_io.out" 2> "$W/xfs_io.err" || rc=$?; echo $rc > "$W/xfs_io.rc"; rc=0
  "$FSH" verify-media "$MNT" > "$W/fsh.out" 2> "$W/fsh.err" || rc=$?; echo $rc > "$W/fsh.rc"
  fail_context "$W/xfs_io.out" "$W/xfs_io.err" "$W/xfs_io.rc" "$W/fsh.out" "$W/fsh.err" "$W/fsh.rc"
  note "xfs_io: $(tr '\n' '|' < "$W/xfs_io.out")$(tr '\n' '|' < "$W/xfs_io.err") exit $(<"$W/xfs_io.rc")"
  note "fshealer: $(tr '\n' '|' < "$W/fsh.out")$(tr '\n' '|' < "$W/fsh.err") exit $(<"$W/fsh.rc")"
  # fshealer names the failed region (the kernel reports the whole failed request: 1 MiB by default)
  local bad_byte=$((BAD_START * 512))
  # a medium error comes back from XFS_IOC_VERIFY_MEDIA as ENODATA on 7.2 (BLK_STS_MEDIUM)
  assert_match "$W/fsh.err" "^datadev: verify error at offset [0-9]+ length [0-9]+: No data available$" "fshealer's error line"
  local off len
  # (no process substitution: the guest's devtmpfs has no /dev/fd)
  read -r off len <<< "$(sed -nE 's/^datadev: verify error at offset ([0-9]+) length ([0-9]+): .*/\1 \2/p' "$W/fsh.err" | head -1)"
  [ "$off" -le "$bad_byte" ] && [ $((off + len)) -ge $((bad_byte + BAD_COUNT * 512)) ] \
    || fail "the reported region [$off, +$len) does not cover the bad sectors at byte $bad_byte"
  assert_eq 1 "$(<"$W/fsh.rc")" "fshealer verify-media exit status with a bad region"
  # xfs_io 7.2 stops at the first failed request and says where ("verified LENGTH/STOP bytes at offset 0", exit 0);
  # fshealer goes on to the end and names every failed region: its first one starts where xfs_io stopped
  local stop; stop=$(sed -nE 's/^verified [0-9]+\/([0-9]+) bytes at offset 0$/\1/p' "$W/xfs_io.out")
  assert_eq "$stop" "$off" "where xfs_io verifymedia stopped and fshealer's first bad region"
  assert_match "$W/fsh.out" "^verified [0-9]+/$(blockdev --getsize64 "$DISK") bytes at offset 0$" "fshealer verified the whole disk"
}
run_case ioctl-vs-xfs_io ioctl_vs_xfs_io

pinpoint() {
  setup_disk
  "$FSH" verify-media --pinpoint "$MNT" > "$W/fsh.out" 2> "$W/fsh.err" || true
  fail_context "$W/fsh.out" "$W/fsh.err"
  assert_eq "datadev: verify error at offset $((BAD_START * 512)) length $((BAD_COUNT * 512)): No data available" \
    "$(grep 'verify error' "$W/fsh.err")" "the bad sectors, exactly"
}
long_case pinpoint pinpoint

read_scan() {
  setup_disk
  local pos
  "$FSH" verify-media --fallback "$MNT" > "$W/fsh.out" 2> "$W/fsh.err" || true
  fail_context "$W/fsh.out" "$W/fsh.err"
  assert_match "$W/fsh.err" "^datadev: verify error at offset $((BAD_START * 512)) length $((BAD_COUNT * 512)): " "the read scan's bad range"
  # f2's first extent starts 64 sectors before the bad ones: file offset 32768
  assert_match "$W/fsh.err" "bad sectors at offset $((BAD_START * 512)) hit $MNT/f2 pos 32768 len $((BAD_COUNT * 512))$" "the owner of the bad sectors"
}
long_case read-scan read_scan

# REPORT: the kernel publishes the failure to the health monitor: a media error (the device range) and, through the
# reverse mapping, the file range it lost. Both healers watch while `xfs_io verifymedia -R` runs.
report_one() {
  local kind=$1
  mount "$DISK" "$MNT"
  healer_start "$kind" "$kind" "$MNT" --everything
  xfs_io -x -c "verifymedia -R" "$MNT" > "$W/$kind.trigger" 2>&1 || true
  wait_for "$W/$kind.out" ': media failed$' 60
  settle "$W/$kind.out"
  umount_retry "$MNT"; healer_wait "$kind"
}
report() {
  setup_disk
  umount "$MNT"
  : > "$SYSTEMCTL_LOG"
  report_one rel
  report_one fsh
  assert_match "$W/rel.out" "^$MNT datadev daddr 0x[0-9a-f]+ bbcount 0x[0-9a-f]+: media error$" "the media error event (xfs_healer's log)"
  assert_match "$W/rel.out" "^$MNT/f2 pos [0-9]+ len [0-9]+: media failed$" "the data-lost event naming f2 (xfs_healer's log)"
  compare_healers
}
run_case report-events report

# fshealer's own verify with --report --pinpoint should publish the exact sectors once. Seen on 7.2: every narrowing
# request that fails is published too (a 1 MiB media error, then 4 KiB ones at each 512-byte step), so this case
# fails: a known defect (README), opt-in until --pinpoint narrows without REPORT and reports the result once.
report_pinpoint() {
  setup_disk                                           # leaves the disk mounted at $MNT
  healer_start fsh pin "$MNT" --everything
  "$FSH" verify-media --report --pinpoint "$MNT" > "$W/pin.trigger" 2>&1 || true
  wait_for "$W/pin.out" ': media failed$' 60
  settle "$W/pin.out"
  umount_retry "$MNT"; healer_wait pin
  assert_match "$W/pin.out" "^$MNT datadev daddr $(printf '0x%x' "$BAD_START") bbcount 0x10: media error$" "the exact media error"
  assert_match "$W/pin.out" "^$MNT/f2 pos 32768 len 8192: media failed$" "the exact file range lost"
  assert_eq 2 "$(grep -cE ': media (error|failed)$' "$W/pin.out")" "media events published (one error, one lost range)"
}
long_case report-pinpoint report_pinpoint
