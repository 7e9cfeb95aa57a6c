#!/bin/bash
# Scenario 6: the daemon (`fshealer run`) on Linux 7.x, by what a user sees: its log lines, `status` and `history`
# output and exit codes. It follows mounts through fanotify mount events, attaches a new XFS mount through the health
# monitor, heals a corrupt directory online, records it, reports the filesystem healthy afterwards, follows a
# mount --move, and defers to an xfs_healer that already owns a filesystem's monitor (and the reverse).
# timeout: 400
. "$VM_REPO/tests/vm/lib.sh"

STATE=$W/state
CONF=$W/fshealer.json    # the defaults
# daemon_start [ARGS...]: fshealer run in the background (log: $W/daemon.out/.err), until it watches the mounts
daemon_start() {
  mkdir -p "$STATE"; echo '{}' > "$CONF"
  "$FSH" run --state-dir "$STATE" --config "$CONF" "$@" > "$W/daemon.out" 2> "$W/daemon.err" &
  DPID=$!; bg_pid "$DPID"
  fail_context "$W/daemon.out" "$W/daemon.err"
  wait_for "$W/daemon.out" '^fshealer: watching [0-9]+ filesystem\(s\); following mounts via ' 60
}
daemon_stop() {
  kill -TERM "$DPID"
  local i; for ((i = 0; i < 100; i++)); do kill -0 "$DPID" 2>/dev/null || break; nap 0.1; done
  local rc=0; wait "$DPID" || rc=$?
  echo $rc > "$W/daemon.rc"
}

heals_online() {
  small_base "$W/a.img"; corrupt_dir "$W/a.img" victimdir
  daemon_start --repair
  assert_match "$W/daemon.out" 'following mounts via fanotify$' "mount events come from fanotify (FAN_MNT_ATTACH + listmount/statmount)"
  local dev; dev=$(mount_image "$W/a.img" "$MNT")
  wait_for "$W/daemon.out" "^$MNT: xfs filesystem attached \(dev [0-9]+:[0-9]+, source $dev, uuid [0-9a-f-]+\); XFS health monitor, repairing$" 30
  ls "$MNT/victimdir" > /dev/null 2>&1 || true
  wait_for "$W/daemon.out" "^$MNT/victimdir directory: Repairs successful\.$" 60
  assert_eq 200 "$(ls "$MNT/victimdir" | wc -l)" "entries after the daemon's repair"
  settle "$W/daemon.out"
  local rc=0
  "$FSH" status --state-dir "$STATE" --config "$CONF" --fs "$MNT" > "$W/status.out" 2>&1 || rc=$?
  fail_context "$W/status.out"
  note "status: $(tr '\n' '|' < "$W/status.out")"
  assert_eq 0 "$rc" "fshealer status exit code (0 = healthy) after the repair"
  assert_match "$W/status.out" "daemon: running \(pid $DPID\)" "status sees the running daemon"
  "$FSH" history --state-dir "$STATE" --config "$CONF" --fs "$MNT" > "$W/history.out" 2>&1
  fail_context "$W/history.out"
  assert_match "$W/history.out" "victimdir directory: sick" "the sick event is in the history"
  assert_match "$W/history.out" "victimdir directory: Repairs successful\." "the repair is in the history"
  # a moved mount stays the same filesystem
  mkdir -p "$W/moved"; mount --move "$MNT" "$W/moved"
  wait_for "$W/daemon.out" "^$W/moved: xfs filesystem moved from $MNT$" 30
  umount "$W/moved"
  wait_for "$W/daemon.out" "^$W/moved: xfs filesystem detached" 30
  daemon_stop
  assert_eq 0 "$(<"$W/daemon.rc")" "the daemon's exit status after SIGTERM"
  losetup -d "$dev"
}
run_case heals-online heals_online

# xfs_healer first: the daemon must not compete for the health monitor (EEXIST) and says it defers
defers_to_xfs_healer() {
  small_base "$W/a.img"
  local dev; dev=$(mount_image "$W/a.img" "$MNT")
  healer_start rel rel "$MNT" --no-autofsck
  daemon_start
  wait_for "$W/daemon.out" "^$MNT: xfs filesystem attached .*; health monitor already owned by another healer \(xfs_healer\?\); deferring to it$" 30
  # the reverse: with the daemon owning a filesystem, xfs_healer (either one) declines to start on it
  umount_retry "$MNT"; healer_wait rel
  mount "$dev" "$MNT"
  wait_for "$W/daemon.out" "^$MNT: xfs filesystem attached .*; XFS health monitor" 30
  local rc=0
  healer rel --supported "$MNT" > "$W/rel2.out" 2> "$W/rel2.err" || rc=$?
  assert_eq 255 "$rc" "xfs_healer --supported on a filesystem the daemon watches"
  assert_eq "$MNT: XFS health monitoring already running." "$(<"$W/rel2.err")" "xfs_healer's message"
  rc=0; healer fsh --supported "$MNT" > "$W/fsh2.out" 2> "$W/fsh2.err" || rc=$?
  assert_eq 255 "$rc" "fshealer xfs-healer --supported on a filesystem the daemon watches"
  assert_eq "$MNT: XFS health monitoring already running." "$(<"$W/fsh2.err")" "fshealer xfs-healer's message"
  umount "$MNT"; losetup -d "$dev"
  daemon_stop
}
run_case defers defers_to_xfs_healer
