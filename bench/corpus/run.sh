#!/usr/bin/env bash
# The corpus harness: every image of the manifest, one at a time, with a fshealer build watching (see run-one.sh for
# the three passes per image), then the per-image CSV and the issue-17 table (report.sh).
#   sudo bench/corpus/run.sh [options]
#     --fshealer PATH      the fshealer binary to measure (default: $FSHEALER, else a Native AOT `dotnet publish` of
#                          this checkout into $CORPUS/bin/<commit>; --jit publishes the JIT build instead)
#     --quick              the quick subset (quick.list: a few images per filesystem, ~2 minutes)
#     --only REGEX         only image ids matching REGEX (grep -E); --fs ext4,xfs,btrfs: only these filesystems
#     --manifest FILE      default $CORPUS/manifest.tsv (build.sh writes it)
#     --daemon-arg ARG     an argument for `fshealer run` (repeatable; replaces the default --offline-repair
#                          --poll-interval 1)
#     --config FILE        the daemon's configuration (default: an empty one, so /etc/fshealer is never read);
#                          the string "@MNT@" in it becomes the image's mount point (a rule for that image only)
#     --scheduled SECONDS  scheduled checks: config max_check_age_seconds=SECONDS + scheduled_check.enabled (unless
#                          --config), and after the user I/O wait for the scheduled check's outcome line too
#                          (for the latent-damage column; at most --settle-max + 4x SECONDS + 30 s)
#     --no-unmountable     do not give the daemon the unmountable repair (by default the configuration gets
#                          "unmountable": repair true, this image's fstab W/fstab, xfs_zero_log as the tool pass does
#                          (xfs_repair -L), matched to this image's mount point only: never another device)
#     --no-daemon          kernel and plain tool only (what the corpus lists were screened with)
#     --settle-min S, --settle-max S   wait for the daemon after the user I/O (default 4, 40)
#     --image-timeout S    per image, all three passes (default 300)
#     --out DIR            default $CORPUS/runs/<time>-<label>;  --label NAME (default: the fshealer commit)
# Root, in a private mount namespace (entered here); loop devices with losetup -f, always detached.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FSH=${FSHEALER:-} JIT=0 QUICK=0 ONLY="" FSF="" MANIFEST="$CORPUS_MANIFEST" CONFIG_IN="" SCHED="" NODAEMON=0 UNMOUNTABLE=1
SMIN=4 SMAX=40 ITIMEOUT=300 OUT="" LABEL="" DARGS=()
ORIG_ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --fshealer) FSH=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --jit) JIT=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --fs) FSF=$2; shift 2 ;;
    --manifest) MANIFEST=$2; shift 2 ;;
    --daemon-arg) DARGS+=("$2"); shift 2 ;;
    --config) CONFIG_IN=$2; shift 2 ;;
    --scheduled) SCHED=$2; shift 2 ;;
    --no-daemon) NODAEMON=1; shift ;;
    --no-unmountable) UNMOUNTABLE=0; shift ;;
    --settle-min) SMIN=$2; shift 2 ;;
    --settle-max) SMAX=$2; shift 2 ;;
    --image-timeout) ITIMEOUT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --label) LABEL=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (loop devices, mounts, /dev/kmsg)"
[ -f "$MANIFEST" ] || die "no manifest $MANIFEST: run bench/corpus/build.sh first"
need_tools losetup mount umount dmesg jq timeout e2fsck xfs_repair btrfs getfattr setfattr

if [ -z "${CORPUS_IN_NS:-}" ]; then
  export CORPUS_IN_NS=1
  exec unshare -m --propagation private "$0" "${ORIG_ARGS[@]}"
fi
# In our private namespace only our filesystems may be seen by the daemon: detach every other XFS/ext4/btrfs
# mount (not /) from OUR view — with propagation private this changes nothing for anyone else.
findmnt -rn -o TARGET,FSTYPE | awk '$2 ~ /^(xfs|ext[234]|btrfs)$/ && $1 != "/" {print $1}' | sort -r | while read -r t; do
  umount -l "$t" 2>/dev/null && say "private namespace: hid $t"
done

# ------------------------------------------------------------------ the binary under test
if [ $NODAEMON = 0 ] && [ -z "$FSH" ]; then
  need_tools dotnet git
  commit=$(git -C "$REPO_DIR" rev-parse --short HEAD)
  dirty=$(git -C "$REPO_DIR" status --porcelain -- src | grep -q . && echo -dirty || true)
  flavour=$([ $JIT = 1 ] && echo jit || echo aot)
  FSH="$CORPUS/bin/$commit$dirty-$flavour/fshealer"
  if [ ! -x "$FSH" ] || [ -n "$dirty" ]; then
    # Native AOT (the shipped binary; starts in milliseconds, which keeps the 3 CLI calls per image cheap)
    say "building fshealer ($commit$dirty, $flavour) into ${FSH%/*} (minutes)"
    mkdir -p "$CORPUS/bin"
    nice dotnet publish "$REPO_DIR/src/fshealer" -c Release $([ $JIT = 0 ] && echo -p:Aot=true) -o "${FSH%/*}" \
      > "$CORPUS/bin/publish-$commit-$flavour.log" 2>&1 || die "dotnet publish failed: $CORPUS/bin/publish-$commit-$flavour.log"
  fi
  LABEL=${LABEL:-$commit$dirty}
fi
[ $NODAEMON = 1 ] && FSH="" && LABEL=${LABEL:-no-daemon}
[ -z "$FSH" ] || [ -x "$FSH" ] || die "$FSH is not executable"
LABEL=${LABEL:-$(basename "$(dirname "$FSH")")}
OUT=${OUT:-$CORPUS/runs/$(date +%Y%m%d-%H%M%S)-$LABEL}
mkdir -p "$OUT/images"

# ------------------------------------------------------------------ daemon configuration
if [ -n "$CONFIG_IN" ]; then cp "$CONFIG_IN" "$OUT/config.json"
elif [ -n "$SCHED" ]; then
  # for the image's filesystem only (run-one.sh puts its mount point for @MNT@): never a scheduled check of the
  # machine's own / (the root filesystem is never unmounted: its check would be a boot-time fsck mark)
  printf '{ "rules": [ { "name": "corpus-image", "match": { "mount_point": "@MNT@" }, "max_check_age_seconds": %s, "scheduled_check": { "enabled": true } } ] }\n' "$SCHED" > "$OUT/config.json"
else echo '{}' > "$OUT/config.json"; fi
# unmountable images: the daemon may repair the refused device and mount it as the image's fstab line says
# (@FSTAB@ and @MNT@ become this image's; a configuration with its own "unmountable" section keeps it)
if [ $UNMOUNTABLE = 1 ] && [ "$(jq 'has("unmountable")' "$OUT/config.json")" = false ]; then
  jq '. + { unmountable: { repair: true, fstab: "@FSTAB@", xfs_zero_log: true, match: { mount_point: "@MNT@" } } }' "$OUT/config.json" > "$OUT/config.json.new"
  mv "$OUT/config.json.new" "$OUT/config.json"
fi
[ ${#DARGS[@]} -gt 0 ] || DARGS=(--offline-repair --poll-interval 1)
if [ -n "$SCHED" ]; then SMAX=$(( SMAX + SCHED * 4 + 30 )); fi

# ------------------------------------------------------------------ the image list
sel="$OUT/selection.tsv"
grep -v '^#' "$MANIFEST" > "$sel.all"
if [ $QUICK = 1 ]; then
  grep -v '^#' "$CORPUS_DIR/quick.list" | awk 'NF{print $1}' > "$OUT/quick.ids"
  awk -F'\t' 'NR==FNR {w[$1]=1; next} w[$1]' "$OUT/quick.ids" "$sel.all" > "$sel"
else cp "$sel.all" "$sel"; fi
[ -n "$FSF" ] && { awk -F'\t' -v f=",$FSF," 'index(f, "," $2 ",")' "$sel" > "$sel.f"; mv "$sel.f" "$sel"; }
[ -n "$ONLY" ] && { awk -F'\t' '{print}' "$sel" | while IFS= read -r l; do [[ "${l%%$'\t'*}" =~ $ONLY ]] && echo "$l"; done > "$sel.f" || true; mv "$sel.f" "$sel"; }
rm -f "$sel.all"
total=$(wc -l < "$sel")
[ "$total" -gt 0 ] || die "no image selected"
{
  echo "fshealer: ${FSH:-none (--no-daemon)}"
  [ -n "$FSH" ] && echo "fshealer version: $("$FSH" --version 2>/dev/null | head -1)"
  echo "daemon args: ${DARGS[*]}"; echo "config: $(tr -d '\n' < "$OUT/config.json")"
  echo "kernel: $(uname -r); e2fsprogs $(e2fsck -V 2>&1 | awk 'NR==1{print $2}'); $(xfs_repair -V); $(btrfs --version)"
  echo "manifest: $MANIFEST ($total images selected)"; echo "started: $(date -Is)"
} > "$OUT/run-info.txt"
say "$(cat "$OUT/run-info.txt")"

# ------------------------------------------------------------------ run
loop_record_init
trap 'loop_record_done' EXIT
export FSHEALER="$FSH" CONFIG="$OUT/config.json" SETTLE_MIN=$SMIN SETTLE_MAX=$SMAX LOOP_RECORD SCHEDULED="$SCHED"
DAEMON_ARGS=$(printf '%s\n' "${DARGS[@]}"); export DAEMON_ARGS
[ $NODAEMON = 1 ] && export FSHEALER=""
n=0 t_start=$(date +%s)
while IFS=$'\t' read -r -u 3 id fs files origin prov desc; do
  n=$((n + 1))
  W="$OUT/images/$id"
  rc=0
  timeout -k 10 "$ITIMEOUT" "$CORPUS_DIR/run-one.sh" "$id" "$fs" "$files" "$CORPUS_IMAGES/$id" "$W" </dev/null > "$W.log" 2>&1 || rc=$?
  mkdir -p "$W"; mv "$W.log" "$W/run.log" 2>/dev/null || true
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "timeout=1" >> "$W/result.env"
    # the killed pass may have left its mount, daemon and loop devices: ours are recorded, detach them
    if [ -f "$W/daemon.pid" ]; then # the daemon of this image only (its command line names its state dir)
      p=$(cat "$W/daemon.pid"); grep -qF "$W/state" "/proc/$p/cmdline" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
    fi
    for m in "$W"/mnt "$W"/*-mnt; do is_mounted "$m" && umount -l "$m"; done
    loop_detach_all
  fi
  printf 'origin=%s\n' "$origin" >> "$W/result.env"
  line=$(awk -F= '{v[$1]=$2} END {printf "pre=%s mount=%s kernel=%s user_err=%s detected=%s acted=%s after=%s status=%s tool=%s %s", v["pre"], v["mount_ok"], v["kernel_lines"], v["user_euclean"]+v["user_eio"]+v["user_ebadmsg"], v["detected"], v["acted"], v["after"], v["status_health"], v["tool"], (v["timeout"] ? "TIMEOUT" : "")}' "$W/result.env")
  say "[$n/$total] $id: $line ($(( $(date +%s) - t_start ))s)"
done 3< "$sel"
echo "finished: $(date -Is) ($(( $(date +%s) - t_start )) s)" >> "$OUT/run-info.txt"
"$CORPUS_DIR/report.sh" "$OUT"
say "results: $OUT/results.csv, $OUT/summary.md"
