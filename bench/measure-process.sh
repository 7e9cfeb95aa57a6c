#!/usr/bin/env bash
# Whole-process measurements (root): --supported wall time, `run` startup, idle RSS watching 1/10/100 filesystems.
# Usage: sudo bench/measure-process.sh [path-to-fshealer-binary-or-"dotnet path/fshealer.dll"]
set -uo pipefail
BIN=${1:-/tmp/aot/fshealer}
if [ -z "${MEASURE_INNER:-}" ]; then exec env MEASURE_INNER=1 unshare -m --propagation private "$0" "$@"; fi
W=$(mktemp -d /tmp/fshealer-measure.XXXXXX); LOOPS=()
cleanup() { for m in "$W"/m*; do mountpoint -q "$m" && umount "$m"; done; for l in "${LOOPS[@]}"; do losetup -d "$l"; done; rm -rf "$W"; }
trap cleanup EXIT
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

truncate -s 320M "$W/x.img"; mkfs.xfs -q -f -m rmapbt=1 "$W/x.img"; L=$(losetup -f --show "$W/x.img"); LOOPS+=("$L")
mkdir "$W/mx"; mount "$L" "$W/mx"
# --supported: median of 21 runs
ts=(); for i in $(seq 21); do t=$(date +%s%N); $BIN xfs-healer --supported "$W/mx" >/dev/null 2>&1; ts+=($(( ($(date +%s%N) - t) / 1000 ))); done
IFS=$'\n' sorted=($(sort -n <<<"${ts[*]}")); unset IFS
echo "xfs-healer --supported: median ${sorted[10]} us (min ${sorted[0]}, max ${sorted[20]}) over 21 runs"
umount "$W/mx"

for n in ${NS:-1 10 100}; do
  while [ $(ls -d "$W"/m[0-9]* 2>/dev/null | wc -l) -lt $n ]; do
    i=$(ls -d "$W"/m[0-9]* 2>/dev/null | wc -l)
    truncate -s 2M "$W/e$i.img"; mkfs.ext4 -q -F "$W/e$i.img" 2>/dev/null
    l=$(losetup -f --show "$W/e$i.img"); LOOPS+=("$l"); mkdir "$W/m$i"; mount "$l" "$W/m$i"
  done
  t=$(date +%s%N)
  $BIN run --state-dir "$W/state" --poll-interval 60 > "$W/run.log" 2>&1 &
  pid=$!
  while ! grep -q "watching" "$W/run.log" 2>/dev/null; do sleep 0.005; done
  start=$(ms $t)
  sleep 3
  rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status); anon=$(awk '/RssAnon/{print $2}' /proc/$pid/status); thr=$(ls /proc/$pid/task | wc -l); fds=$(ls /proc/$pid/fd | wc -l)
  kill $pid; wait $pid 2>/dev/null
  echo "run watching $(grep -c 'filesystem attached' "$W/run.log") filesystems: ready after ${start} ms, idle RSS $((rss/1024)).$(( (rss%1024)*10/1024 )) MiB (anon $((anon/1024)) MiB), $thr threads, $fds fds"
done
