#!/usr/bin/env bash
# fshealer demo: the daemon on scratch loop filesystems (XFS, ext4, btrfs RAID1) with real faults.
# Detection → decision → healing → verification, live; then everything is cleaned up.
# Runs in a private mount namespace; needs root. Exit status 0 only if every filesystem was healed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "$(id -u)" != 0 ]; then echo "demo: needs root (loop devices, mounts)"; exit 1; fi
if [ -z "${FSHEALER_DEMO_INNER:-}" ]; then
  need=()
  command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
  command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
  command -v debugfs >/dev/null || need+=(e2fsprogs)
  command -v filefrag >/dev/null || need+=(e2fsprogs)
  if [ ${#need[@]} -gt 0 ]; then
    echo "demo: installing ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null 2>&1 || { echo "demo: cannot install ${need[*]}"; exit 1; }
  fi
  if [ -n "${FSHEALER_DEMO_NO_BUILD:-}" ] && [ -f "$ROOT/src/fshealer/bin/Release/net10.0/fshealer.dll" ]; then
    echo "demo: using the built fshealer (FSHEALER_DEMO_NO_BUILD)"
  else
  echo "demo: building fshealer"
  dotnet build src/fshealer -c Release -v q -nologo >/dev/null 2>&1 || { echo "demo: build failed"; dotnet build src/fshealer -c Release -v q -nologo | tail -20; exit 1; }
  fi
  exec env FSHEALER_DEMO_INNER=1 unshare -m --propagation private "$0" "$@"
fi

FSH=(dotnet "$ROOT/src/fshealer/bin/Release/net10.0/fshealer.dll")
W=$(mktemp -d /tmp/fshealer-demo.XXXXXX)
LOOPS=(); DAEMON=; SHOWN=0
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
  for m in "$W"/*/mnt; do mountpoint -q "$m" && umount "$m"; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  rm -rf "$W"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# sets LOOP (not via $(...): a subshell would lose the LOOPS bookkeeping and leak the device)
loop() { LOOP=$(losetup -f --show "$1") || exit 1; LOOPS+=("$LOOP"); }
# prints the daemon's new complete log lines (synchronously, so the output is deterministic)
showlog() {
  [ -f "$W/daemon.log" ] || return 0
  local n; n=$(wc -l < "$W/daemon.log")
  [ "$n" -gt "$SHOWN" ] || return 0
  sed -n "$((SHOWN+1)),${n}p" "$W/daemon.log" | grep -vE '^/ |^/tmp/fshealer-[^d]' | sed 's/^/   daemon| /'
  SHOWN=$n
}
waitlog() { # pattern timeout_s
  local t=0
  while ! grep -qE "$1" "$W/daemon.log"; do
    showlog; sleep 0.2; t=$((t+1)); [ $t -gt $(( $2 * 5 )) ] && { showlog; return 1; }
  done
  showlog; return 0; }
ok=0; fail=0
check() { if "$@"; then ok=$((ok+1)); else fail=$((fail+1)); echo "   ✗ FAILED: $*"; fi; }

mkdir -p "$W"/{xfs,ext4,btrfs}/mnt "$W/state"

say "Preparing scratch filesystems"
# XFS with a corrupt directory block (xfs_db)
truncate -s 320M "$W/xfs/img"; mkfs.xfs -q -f -m rmapbt=1 "$W/xfs/img"
loop "$W/xfs/img"; XL=$LOOP; mount "$XL" "$W/xfs/mnt"
mkdir "$W/xfs/mnt/bigdir"; for i in $(seq 1 400); do : > "$W/xfs/mnt/bigdir/file_with_long_name_$i"; done
echo "precious" > "$W/xfs/mnt/keep.txt"; sum_x=$(md5sum < "$W/xfs/mnt/keep.txt")
umount "$W/xfs/mnt"
xfs_db -x -c 'path /bigdir' -c 'dblock 0' -c 'write -d dhdr.hdr.magic 0' "$XL" >/dev/null
echo "   xfs   $XL: directory /bigdir has a corrupt data block"
# ext4 with a cleared inode (debugfs clri)
truncate -s 64M "$W/ext4/img"; mkfs.ext4 -q -F "$W/ext4/img"
loop "$W/ext4/img"; EL=$LOOP; mount "$EL" "$W/ext4/mnt"
mkdir "$W/ext4/mnt/docs"; echo "hello" > "$W/ext4/mnt/docs/readme.txt"; echo "precious" > "$W/ext4/mnt/keep.txt"
sum_e=$(md5sum < "$W/ext4/mnt/keep.txt"); umount "$W/ext4/mnt"
debugfs -w -R "clri docs/readme.txt" "$EL" >/dev/null 2>&1
echo "   ext4  $EL: inode of docs/readme.txt cleared"
# btrfs RAID1 over two loop devices
truncate -s 256M "$W/btrfs/a.img" "$W/btrfs/b.img"
loop "$W/btrfs/a.img"; BA=$LOOP; loop "$W/btrfs/b.img"; BB=$LOOP
mkfs.btrfs -q -f -d raid1 -m raid1 "$BA" "$BB" >/dev/null
mount "$BA" "$W/btrfs/mnt"
dd if=/dev/urandom of="$W/btrfs/mnt/victim" bs=64k count=16 status=none
dd if=/dev/urandom of="$W/btrfs/mnt/other" bs=64k count=16 status=none; sync
sum_b=$(md5sum < "$W/btrfs/mnt/victim"); sum_o=$(md5sum < "$W/btrfs/mnt/other")
for f in victim other; do  # logical address of each file's first extent (filefrag reports 4 KiB units on btrfs)
  echo "$f $(( $(filefrag -v "$W/btrfs/mnt/$f" | awk '$1=="0:"{print $4}' | tr -d '.') * 4096 ))" >> "$W/btrfs/map"
done
umount "$W/btrfs/mnt"
while read -r f logical; do
  phys=$(btrfs-map-logical -l "$logical" -b 4096 "$BA" 2>/dev/null | awk -v d="$BA" '$1=="mirror" && $NF==d {print $6; exit}')
  dd if=/dev/urandom of="$BA" bs=4096 count=1 seek=$(( (phys + 8192) / 4096 )) conv=notrunc,fsync status=none
  echo "   btrfs $BA+$BB: 4 KiB of /$f overwritten on mirror $BA (logical $logical, physical $phys)"
done < "$W/btrfs/map"
blockdev --flushbufs "$BA" 2>/dev/null; sync

say "Starting the daemon: fshealer run --offline-repair --poll-interval 1"
"${FSH[@]}" run --offline-repair --poll-interval 1 --state-dir "$W/state" > "$W/daemon.log" 2>&1 &
DAEMON=$!
check waitlog "watching [0-9]+ filesystem" 20

say "XFS: mount, touch the damaged directory"
mount "$XL" "$W/xfs/mnt"; check waitlog "$W/xfs/mnt: xfs filesystem attached" 10
ls "$W/xfs/mnt/bigdir" >/dev/null 2>&1 && echo "   (unexpected: ls succeeded)" || echo "   ls $W/xfs/mnt/bigdir: Structure needs cleaning (as expected)"
check waitlog "$W/xfs/mnt ino [0-9]+ gen 0x[0-9a-f]+ directory: sick" 15
check waitlog "$W/xfs/mnt: heal OfflineRepair: repaired, verified clean, mounted again" 90
sleep 1
check test "$(ls "$W/xfs/mnt/bigdir" | wc -l)" -ge 1
check test "$(md5sum < "$W/xfs/mnt/keep.txt")" = "$sum_x"
echo "   after repair: /bigdir has $(ls "$W/xfs/mnt/bigdir" 2>/dev/null | wc -l) entries (the rest are in lost+found), keep.txt intact"

say "ext4: mount, read the damaged file"
mount "$EL" "$W/ext4/mnt"; check waitlog "$W/ext4/mnt: ext4 filesystem attached" 10
cat "$W/ext4/mnt/docs/readme.txt" >/dev/null 2>&1   # one access, one error event
check waitlog "$W/ext4/mnt: .*(EUCLEAN|Structure needs cleaning|EIO|EFSCORRUPTED)" 15
check waitlog "$W/ext4/mnt: heal OfflineRepair: repaired, verified clean, mounted again" 60
sleep 1
check mountpoint -q "$W/ext4/mnt"
check test "$(md5sum < "$W/ext4/mnt/keep.txt")" = "$sum_e"
umount "$W/ext4/mnt"; check e2fsck -fn "$EL"; mount "$EL" "$W/ext4/mnt"
sleep 1.5
echo "   fshealer status for the repaired ext4:"
"${FSH[@]}" status --state-dir "$W/state" --fs "$W/ext4/mnt" 2>&1 | sed 's/^/   | /'
"${FSH[@]}" status --state-dir "$W/state" --fs "$W/ext4/mnt" --json > "$W/ext4-status.json" 2>/dev/null; st=$?; echo "   status exit code: $st (0 = healthy)"
check test "$st" -eq 0

say "btrfs RAID1: mount, read /victim (btrfs repairs what it reads); fshealer scrubs the device for the rest"
mount "$BA" "$W/btrfs/mnt"; check waitlog "$W/btrfs/mnt: btrfs filesystem attached" 10
# RAID1 reads pick a mirror by pid: read a few times so that one read hits the bad copy
for i in 1 2 3 4 5 6; do echo 3 > /proc/sys/vm/drop_caches; cat "$W/btrfs/mnt/victim" > /dev/null; done
check test "$(md5sum < "$W/btrfs/mnt/victim")" = "$sum_b"
check waitlog "corruption_errs rose" 15
check waitlog "finished: .* [1-9][0-9]* corrected, 0 uncorrectable" 30
echo 3 > /proc/sys/vm/drop_caches
check test "$(md5sum < "$W/btrfs/mnt/other")" = "$sum_o"
echo "   /other (never read) was repaired by the scrub; both files intact"

say "Summary"
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null; DAEMON=; showlog
sleep 0.3
echo "   what the daemon recorded (fshealer history):"
"${FSH[@]}" history --state-dir "$W/state" --limit 40 2>&1 | grep -vE ' /: | /tmp/fshealer-[^d]' | tail -14 | sed 's/^/   | /'
check test "$("${FSH[@]}" history --state-dir "$W/state" --json 2>/dev/null | grep -c '"class"')" -gt 5
echo "   $ok checks passed, $fail failed"
[ $fail -eq 0 ]
