# Shared helpers of the corruption corpus scripts (sourced, not run).
# CORPUS: the cache every generated file goes to (never the repository).
CORPUS=${FSHEALER_CORPUS:-/var/cache/fshealer/corpus}
CORPUS_SRC="$CORPUS/src"
CORPUS_IMAGES="$CORPUS/images"
CORPUS_MANIFEST="$CORPUS/manifest.tsv"
CORPUS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CORPUS_DIR/../.." && pwd)

say() { printf '%s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (apt-get install xfsprogs btrfs-progs e2fsprogs util-linux attr xz-utils jq)"
}

# Loop devices we attached, recorded in a file (subshells attach too) so that every exit path detaches exactly
# ours: others use loop devices at the same time, and a number we freed may already be someone else's.
LOOP_RECORD=${LOOP_RECORD:-}
loop_record_init() { [ -n "$LOOP_RECORD" ] || { LOOP_RECORD=$(mktemp /tmp/fshealer-corpus-loops.XXXXXX); export LOOP_RECORD; }; }
loop_attach() { # FILE -> prints /dev/loopN (recorded)
  loop_record_init
  local dev f
  f=$(readlink -f "$1")
  dev=$(losetup -f --show "$f") || return 1
  printf '%s %s\n' "$dev" "$f" >> "$LOOP_RECORD"
  echo "$dev"
}
loop_backing() { losetup -nO BACK-FILE "$1" 2>/dev/null | sed 's/ (deleted)$//'; }
loop_detach() { # DEV: detach one of ours (only if it still is ours) and forget it
  local dev=$1 f
  f=$(awk -v d="$dev" '$1==d {sub(/^[^ ]* /, ""); print; exit}' "$LOOP_RECORD" 2>/dev/null)
  [ -n "$f" ] || return 0
  if [ "$(loop_backing "$dev")" = "$f" ]; then
    command -v btrfs >/dev/null && btrfs device scan --forget "$dev" >/dev/null 2>&1
    losetup -d "$dev" 2>/dev/null
  fi
  awk -v d="$dev" '$1!=d' "$LOOP_RECORD" > "$LOOP_RECORD.new" && mv "$LOOP_RECORD.new" "$LOOP_RECORD"
}
loop_detach_all() {
  [ -n "$LOOP_RECORD" ] && [ -f "$LOOP_RECORD" ] || return 0
  local d
  for d in $(awk '{print $1}' "$LOOP_RECORD"); do loop_detach "$d"; done
}
loop_record_done() { loop_detach_all; [ -n "$LOOP_RECORD" ] && rm -f "$LOOP_RECORD" "$LOOP_RECORD.new"; }

# Is PATH a mount point in our namespace? From mountinfo, not stat(2): a shut-down XFS answers stat with EIO, and
# mountpoint(1) then says "not a mountpoint" while the filesystem is still mounted (and its UUID still taken).
is_mounted() { awk -v m="$1" '$5 == m {f=1} END {exit !f}' /proc/self/mountinfo; }

# btrfs: logical address -> "devid physical" for every stripe of the chunk holding it (chunk tree of DEV).
btrfs_map() {
  btrfs inspect-internal dump-tree -t chunk "$1" 2>/dev/null | awk -v L="$2" '
    /CHUNK_ITEM/ { match($0, /CHUNK_ITEM [0-9]+/); start = substr($0, RSTART+11, RLENGTH-11)+0; inchunk=0 }
    /length [0-9]+ owner/ { len=$2+0; if (L >= start && L < start+len) inchunk=1 }
    inchunk && /stripe [0-9]+ devid/ { print $4, $6 + (L - start) }'
}

# the device file of btrfs devid N among the given devices
btrfs_dev_of() { # DEVID DEV...
  local want=$1 d id; shift
  for d in "$@"; do
    id=$(btrfs inspect-internal dump-super "$d" 2>/dev/null | awk '/^dev_item.devid/{print $2}')
    [ "$id" = "$want" ] && { echo "$d"; return 0; }
  done
  return 1
}
