#!/usr/bin/env bash
# Whole-process measurements (root): --supported wall time, `run` startup, idle RSS watching 1/10/100 filesystems
# (peak over IDLE=60 s after settling; NS="1 10 100" picks the counts).
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
/usr/bin/time -v -o "$W/time.sup" $BIN xfs-healer --supported "$W/mx" >/dev/null 2>&1
echo "xfs-healer --supported under /usr/bin/time -v: $(awk -F': ' '/Maximum resident/{r=$2} /Elapsed/{e=$2} END{printf "max RSS %d KiB, wall %s", r, e}' "$W/time.sup")"
umount "$W/mx"

for n in ${NS:-1 10 100}; do
  while [ $(ls -d "$W"/m[0-9]* 2>/dev/null | wc -l) -lt $n ]; do
    i=$(ls -d "$W"/m[0-9]* 2>/dev/null | wc -l)
    truncate -s 2M "$W/e$i.img"; mkfs.ext4 -q -F "$W/e$i.img" 2>/dev/null
    l=$(losetup -f --show "$W/e$i.img"); LOOPS+=("$l"); mkdir "$W/m$i"; mount "$l" "$W/m$i"
  done
  t=$(date +%s%N)
  # under /usr/bin/time -v for the whole-run figures (max RSS = the start-up peak, CPU, wakeups); it ends by --duration
  /usr/bin/time -v -o "$W/time.run" $BIN run --state-dir "$W/state" --poll-interval 60 --duration $(( ${IDLE:-60} + 5 )) > "$W/run.log" 2>&1 &
  tpid=$!
  while ! grep -q "watching" "$W/run.log" 2>/dev/null; do sleep 0.005; done
  start=$(ms $t)
  pid=$(pgrep -P $tpid | head -1)
  # idle RSS: the PEAK of samples taken every second for IDLE seconds (default 60) once start-up has settled (3 s),
  # not one lucky sample; VmHWM is the start-up peak (before the daemon drops its start-up pages)
  sleep 3; peak=0; peakanon=0; sum=0; k=0
  for s in $(seq ${IDLE:-60}); do
    rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status); anon=$(awk '/RssAnon/{print $2}' /proc/$pid/status)
    [ "$rss" -gt "$peak" ] && peak=$rss && peakanon=$anon; sum=$((sum + rss)); k=$((k + 1)); sleep 1
  done
  hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status); thr=$(ls /proc/$pid/task | wc -l); fds=$(ls /proc/$pid/fd | wc -l)
  cpu=$(awk '{print ($14+$15)*10}' /proc/$pid/stat)
  wait $tpid 2>/dev/null
  mib() { echo "$(($1/1024)).$(( ($1%1024)*10/1024 ))"; }
  echo "run watching $(grep -c 'filesystem attached' "$W/run.log") filesystems: ready after ${start} ms, idle RSS peak $(mib $peak) MiB (anon $(mib $peakanon)), mean $(mib $((sum / k))) MiB over ${IDLE:-60} s; start-up peak $(mib $hwm) MiB; CPU ${cpu} ms total; $thr threads, $fds fds"
  echo "  /usr/bin/time -v over the whole run ($(( ${IDLE:-60} + 5 )) s): $(awk -F': ' '/Maximum resident/{r=$2} /User time/{u=$2} /System time/{s=$2} /Voluntary context/{v=$2} /Exit status/{x=$2} END{printf "max RSS %d KiB, user %s s, system %s s, %d voluntary context switches, exit %s", r, u, s, v, x}' "$W/time.run")"
done
