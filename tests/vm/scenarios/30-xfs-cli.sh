#!/bin/bash
# The command line against the released xfs_healer on Linux 7.x: -V, --svcname, option errors (glibc getopt_long
# texts, usage, exit codes), and --supported on real mounts: the autofsck property's values, --repair, --no-autofsck,
# --quiet, a filesystem without rmapbt/parent pointers, a subdirectory, a non-XFS mount, a missing path, and a
# second healer on a filesystem that already has one (EEXIST). Every invocation's stdout, stderr and exit status
# must be identical (the one named exception: Version).
# timeout: 400
. "$VM_REPO/tests/vm/lib.sh"

# same LABEL [EXCEPTION...] -- ARGS...: run both healers with ARGS; any difference is recorded (all are reported)
same() {
  local label=$1; shift
  local -a exc=()
  while [ "$1" != -- ]; do exc+=("$1"); shift; done; shift
  local rc=0
  healer rel "$@" > "$W/rel.out" 2> "$W/rel.err" || rc=$?; echo $rc > "$W/rel.rc"; rc=0
  healer fsh "$@" > "$W/fsh.out" 2> "$W/fsh.err" || rc=$?; echo $rc > "$W/fsh.rc"
  if ! (CASE_MSG=$W/one.msg; CONTEXT=(); compare_healers "${exc[@]}") > /dev/null; then
    { echo "### $label: xfs_healer $*"; cat "$W/one.msg"; } >> "$W/diffs"
  fi
  rm -f "$W/one.msg"
  echo "  $label: exit $(<"$W/rel.rc") / $(<"$W/fsh.rc")"
}
report() { [ ! -s "$W/diffs" ] || fail "$(cat "$W/diffs")"; }

version() { same version Version -- -V; report; }
run_case version version

svcname() {
  local p
  for p in / /mnt/scratch /mnt/a-b--c "/mnt/my disk" /mnt/trailing/// relative/path /mnt/ünïcode /var/tmp/vm/mnt; do
    same "svcname $p" -- --svcname "$p"
  done
  report
}
run_case svcname svcname

usage_errors() {
  mkdir -p "$MNT"
  same "unknown option" -- --bogus "$MNT"
  same "unknown short option" -- -x "$MNT"
  same "no mount point" --
  same "two mount points" -- "$MNT" /tmp
  same "--help" -- --help
  same "argument to a flag" -- --repair=yes "$MNT"
  same "ambiguous prefix" -- --s "$MNT"
  same "missing path" -- /does/not/exist
  report
}
run_case usage-errors usage_errors

# --supported on real 7.x mounts
supported() {
  local dev dev2
  new_image a.img; mkfs72 "$W/a.img"
  dev=$(mount_image "$W/a.img" "$MNT")
  same "autofsck=repair (mkfs default)" -- --supported "$MNT"
  same "options after the path" -- --supported "$MNT" --repair
  same "--repair" -- --supported --repair "$MNT"
  same "--no-autofsck" -- --supported --no-autofsck "$MNT"
  same "--quiet" -- --supported --quiet "$MNT"
  same "unique prefixes" -- --sup --ev --fore "$MNT"
  local v
  for v in none check optimize repair bogus; do
    setfattr -n trusted.xfs:autofsck -v "$v" "$MNT"
    same "autofsck=$v" -- --supported "$MNT"
  done
  setfattr -x trusted.xfs:autofsck "$MNT"
  same "autofsck unset, rmapbt+pptrs" -- --supported "$MNT"
  mkdir "$MNT/sub"
  same "a subdirectory" -- --supported "$MNT/sub"
  # a healer already watches it: EEXIST from the kernel
  healer_start rel running "$MNT" --no-autofsck
  same "already running" -- --supported "$MNT"
  umount_retry "$MNT"; healer_wait running
  losetup -d "$dev"
  # no rmapbt, no parent pointers, no autofsck property (what mkfs.xfs 6.x made)
  new_image b.img; mkfs72 "$W/b.img" -m rmapbt=0 -n parent=0
  dev2=$(mount_image "$W/b.img" "$MNT")
  same "old-style fs, autofsck unset" -- --supported "$MNT"
  same "old-style fs, --repair" -- --supported --repair "$MNT"
  same "old-style fs, --no-autofsck" -- --supported --no-autofsck "$MNT"
  umount "$MNT"; losetup -d "$dev2"
  mount -t tmpfs vm-tmpfs "$MNT"
  same "tmpfs" -- --supported "$MNT"
  umount "$MNT"
  report
}
long_case supported supported
