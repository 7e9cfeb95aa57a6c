#!/usr/bin/env bash
# Builds the corruption corpus into the cache ($FSHEALER_CORPUS, default /var/cache/fshealer/corpus) from public
# sources only: e2fsprogs' regression images, xfstests-style field fuzzing of XFS metadata with xfs_db, btrfs-progs'
# fsck test images, and one-mirror block damage of btrfs raid1/DUP. Writes $CORPUS/manifest.tsv (one line per
# image: id, fs, files, origin, provenance, description). Idempotent: an image already built is kept unless --force.
#   sudo bench/corpus/build.sh [--fs ext4,xfs,btrfs] [--force] [--ext4-all]
# --ext4-all builds every e2fsprogs f_* image (the screening set the committed ext4.list was chosen from).
# Needs root (XFS/btrfs populate mounts loop devices, inside a private mount namespace).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FSLIST=ext4,xfs,btrfs FORCE=0 EXT4_ALL=0
while [ $# -gt 0 ]; do
  case "$1" in
    --fs) FSLIST=$2; shift 2 ;;
    --force) FORCE=1; shift ;;
    --ext4-all) EXT4_ALL=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (loop devices, mounts)"
if [ -z "${CORPUS_IN_NS:-}" ]; then
  export CORPUS_IN_NS=1
  exec unshare -m --propagation private "$0" --fs "$FSLIST" $([ $FORCE = 1 ] && echo --force) $([ $EXT4_ALL = 1 ] && echo --ext4-all)
fi
need_tools curl sha256sum tar xz gzip bzip2 mkfs.xfs xfs_db xfs_io mkfs.ext4 tune2fs e2fsck mkfs.btrfs btrfs btrfs-image setfattr filefrag
loop_record_init
trap 'loop_record_done' EXIT
mkdir -p "$CORPUS_SRC" "$CORPUS_IMAGES"

# ---------------------------------------------------------------- sources
fetch() { # NAME -> path of the verified download
  local name=$1 sum urls u
  read -r sum urls < <(awk -F'\t' -v n="$name" '$1==n {print $2, $3}' "$CORPUS_DIR/sources.tsv")
  [ -n "$sum" ] || die "$name is not in sources.tsv"
  local f="$CORPUS_SRC/$name"
  if [ -f "$f" ] && echo "$sum  $f" | sha256sum -c --quiet - 2>/dev/null; then echo "$f"; return; fi
  for u in $urls; do
    say "fetching $u"
    if curl -fsSL --retry 2 -o "$f.part" "$u" && echo "$sum  $f.part" | sha256sum -c --quiet - 2>/dev/null; then
      mv "$f.part" "$f"; echo "$f"; return
    fi
    say "  $u: download failed or checksum mismatch"
  done
  rm -f "$f.part"; die "could not fetch $name with sha256 $sum"
}
extract() { # TARBALL SUBDIR... -> extracts into $CORPUS_SRC/x
  mkdir -p "$CORPUS_SRC/x"
  local stamp="$CORPUS_SRC/x/.$(basename "$1").done"
  [ -f "$stamp" ] || { tar xf "$1" -C "$CORPUS_SRC/x" "${@:2}"; touch "$stamp"; }
}

# one image directory: files + meta (id, fs, files, origin, provenance, description)
img_dir() { echo "$CORPUS_IMAGES/$1"; }
have_image() { [ $FORCE = 0 ] && [ -f "$(img_dir "$1")/meta" ]; }
write_meta() { # ID FS FILES ORIGIN PROVENANCE DESCRIPTION
  local d; d=$(img_dir "$1")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$(tr '\t\n' '  ' <<<"$6")" > "$d/meta"
}

# ---------------------------------------------------------------- ext4
E2T=""
ext4_src() { E2T="$CORPUS_SRC/x/e2fsprogs-1.47.0/tests"; [ -d "$E2T" ] || extract "$(fetch e2fsprogs_1.47.0.orig.tar.gz)" e2fsprogs-1.47.0/tests; }

ext4_regression() { # TEST [uuid] : one e2fsprogs regression image (optionally given a UUID: the null-UUID pair)
  local t=$1 variant=${2:-} id="ext4-$1${2:+-$2}" d src sum desc
  have_image "$id" && return 0
  d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  if [ -f "$E2T/$t/image.gz" ]; then src="$E2T/$t/image.gz"; gzip -dc "$src" > "$d/disk.img"
  elif [ -f "$E2T/$t/image.bz2" ]; then src="$E2T/$t/image.bz2"; bzip2 -dc "$src" > "$d/disk.img"
  else say "skip $t: no image"; rm -rf "$d"; return 0; fi
  sum=$(sha256sum "$src" | cut -d' ' -f1)
  desc=$(cat "$E2T/$t/name" 2>/dev/null || echo "$t")
  local prov="e2fsprogs-1.47.0/tests/$t/${src##*/} sha256=$sum"
  if [ "$variant" = uuid ]; then
    # the same damage with a filesystem UUID: fanotify marks need a non-zero fsid (issue 17, defect 1)
    tune2fs -f -U 5a1e17e5-0000-4000-8000-000000000017 "$d/disk.img" >/dev/null 2>&1 || { say "skip $id: tune2fs -U failed"; rm -rf "$d"; return 0; }
    prov="$prov; then tune2fs -f -U 5a1e17e5-0000-4000-8000-000000000017"
    desc="$desc (given a UUID)"
  fi
  write_meta "$id" ext4 disk.img e2fsprogs "$prov" "$desc"
}

populate_generic() { # MNT: a small, varied tree (dirs, files with data, xattrs, symlinks, hard links)
  local m=$1 i
  mkdir -p "$m/docs/sub" "$m/many"
  for i in $(seq 1 40); do printf 'file %d\n%s\n' "$i" "$(seq 1 $((i * 20)))" > "$m/docs/f$i.txt"; done
  for i in $(seq 1 300); do : > "$m/many/entry-with-a-longer-name-$i"; done
  head -c 3M /dev/zero | tr '\0' 'x' > "$m/docs/sub/big.bin"
  ln -s docs/f1.txt "$m/link"; ln "$m/docs/f2.txt" "$m/hardlink"
  setfattr -n user.note -v "corpus" "$m/docs/f3.txt"
}

ext4_clean() { # ID MKFS-OPTIONS : a clean, populated control image (any report about it is a false positive)
  local id=$1 d; shift
  have_image "$id" && return 0
  d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  truncate -s 64M "$d/disk.img"
  mkfs.ext4 -q -F -U 5a1e17e5-0000-4000-8000-0000000000c1 "$@" "$d/disk.img"
  local L m; L=$(loop_attach "$d/disk.img"); m=$(mktemp -d)
  mount -t ext4 "$L" "$m"; populate_generic "$m"; umount "$m"; rmdir "$m"
  e2fsck -fn "$L" >/dev/null || die "$id: clean control is not clean"
  loop_detach "$L"
  write_meta "$id" ext4 disk.img clean "mkfs.ext4 -F $* (e2fsprogs $(mke2fs -V 2>&1 | awk 'NR==1{print $2}')) + populate_generic" "clean control: any detection is a false positive"
}

build_ext4() {
  ext4_src
  local list t v
  if [ $EXT4_ALL = 1 ]; then list=$(cd "$E2T" && ls -d f_*/ | tr -d /)
  else list=$(grep -v '^#' "$CORPUS_DIR/ext4.list" | awk 'NF{print $1 (NF>1 && $2=="uuid" ? " uuid" : "")}' | tr ' ' ':'); fi
  for t in $list; do
    ext4_regression "${t%%:*}"
    [ "${t#*:}" = uuid ] && ext4_regression "${t%%:*}" uuid
  done
  ext4_clean ext4-clean-default
  ext4_clean ext4-clean-1k -b 1024 -O ^metadata_csum
}

# ---------------------------------------------------------------- XFS (xfstests-style field fuzzing, xfs_db)
XFS_UUID=5a1e17e5-0000-4000-8000-0000000000f5
xfs_base() { # the populated base image every fuzz case starts from (like fstests' _scratch_populate, smaller)
  local base="$CORPUS_IMAGES/.xfs-base/disk.img"
  if [ -f "$base" ] && [ $FORCE = 0 ]; then echo "$base"; return; fi
  mkdir -p "${base%/*}"; rm -f "$base"; truncate -s 320M "$base"
  mkfs.xfs -q -f -m uuid=$XFS_UUID "$base"
  local L m i; L=$(loop_attach "$base"); m=$(mktemp -d)
  mount -t xfs "$L" "$m"
  mkdir "$m/S_IFDIR.FMT_LOCAL" "$m/S_IFDIR.FMT_BLOCK" "$m/S_IFDIR.FMT_LEAF" "$m/S_IFDIR.FMT_NODE"
  for i in 1 2 3; do : > "$m/S_IFDIR.FMT_LOCAL/e$i"; done
  for i in $(seq 1 40); do : > "$m/S_IFDIR.FMT_BLOCK/entry-$i"; done
  for i in $(seq 1 400); do : > "$m/S_IFDIR.FMT_LEAF/a-longer-directory-entry-name-$i"; done
  for i in $(seq 1 2500); do : > "$m/S_IFDIR.FMT_NODE/a-much-longer-directory-entry-name-for-node-format-$i"; done
  # file data: extents format, and a fragmented file whose data fork is a btree
  seq 1 200000 > "$m/S_IFREG.FMT_EXTENTS"
  xfs_io -f -c "pwrite -S 0x61 -b 4096 0 4m" -c fsync "$m/S_IFREG.FMT_BTREE" >/dev/null
  for i in $(seq 1 2 1023); do xfs_io -c "fpunch $((i * 4096)) 4096" "$m/S_IFREG.FMT_BTREE"; done
  for i in $(seq 1 20); do seq $((i * 1000)) > "$m/data$i"; done
  # xattrs: shortform, leaf, node, remote value
  : > "$m/ATTR.FMT_LOCAL"; setfattr -n user.a -v 1 "$m/ATTR.FMT_LOCAL"
  : > "$m/ATTR.FMT_LEAF"; for i in $(seq 1 40); do setfattr -n "user.attribute-$i" -v "value-of-attribute-number-$i" "$m/ATTR.FMT_LEAF"; done
  : > "$m/ATTR.FMT_NODE"; for i in $(seq 1 400); do setfattr -n "user.attribute-$i" -v "value-of-attribute-number-$i" "$m/ATTR.FMT_NODE"; done
  : > "$m/ATTR.REMOTE"; setfattr -n user.remote -v "$(head -c 3000 /dev/zero | tr '\0' r)" "$m/ATTR.REMOTE"
  # symlinks: inline and remote (a 1000-character target)
  ln -s S_IFREG.FMT_EXTENTS "$m/S_IFLNK.FMT_LOCAL"
  ln -s "$(head -c 1000 /dev/zero | tr '\0' l)" "$m/S_IFLNK.FMT_EXTENTS"
  # shared extents (refcount btree records) and special files
  cp --reflink=always "$m/data20" "$m/REFLINK.dst"
  mkfifo "$m/S_IFIFO"; mknod "$m/S_IFCHR" c 1 3
  umount "$m"; rmdir "$m"
  xfs_repair -n "$L" >/dev/null 2>&1 || die "XFS base image is not clean"
  loop_detach "$L"
  echo "$base"
}

xfs_fuzz_case() { # ID NAV FIELD VERB DESCRIPTION
  local id=$1 nav=$2 field=$3 verb=$4 desc=$5 d args=() c flag before after
  have_image "$id" && return 0
  d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  cp --sparse=always "$XFS_BASE" "$d/disk.img"
  IFS=';' read -ra cmds <<<"$nav"
  for c in "${cmds[@]}"; do args+=(-c "$c"); done
  if [ "$verb" = "clean" ]; then
    write_meta "$id" xfs disk.img clean "mkfs.xfs (xfsprogs $(xfs_db -V | awk '{print $3}')) -m uuid=$XFS_UUID + populate (build.sh xfs_base)" "$desc"
    return 0
  fi
  # fstests' rule (common/fuzzy): CRC fields are fuzzed with -c (leave the CRC wrong), the rest with -d (skip the
  # write verifier, recompute the CRC) so that the damage is semantic, not a checksum mismatch
  [[ "$field" == *crc ]] && flag=-c || flag=-d
  before=$(xfs_db -F "${args[@]}" -c "print $field" "$d/disk.img" 2>&1 | tail -1 || true)
  xfs_db -x "${args[@]}" -c "fuzz $flag $field $verb" "$d/disk.img" >/dev/null 2>&1 || true
  after=$(xfs_db -F "${args[@]}" -c "print $field" "$d/disk.img" 2>&1 | tail -1 || true)
  if [ "$before" = "$after" ]; then say "skip $id: $field unchanged by '$verb' ($before)"; rm -rf "$d"; return 0; fi
  write_meta "$id" xfs disk.img fuzz "base + xfs_db -x ${nav//;/ ; } ; fuzz $flag $field $verb ($before -> $after)" "$desc"
}

build_xfs() {
  XFS_BASE=$(xfs_base)
  local id nav field verb desc
  while IFS=$'\t' read -r -u 3 id nav field verb desc; do
    [ -z "$id" ] || [[ "$id" == \#* ]] && continue
    xfs_fuzz_case "xfs-$id" "$nav" "$field" "$verb" "$desc" </dev/null
  done 3< "$CORPUS_DIR/xfs-fuzz.tsv"
}

# ---------------------------------------------------------------- btrfs
BTT=""
btrfs_src() { BTT="$CORPUS_SRC/x/btrfs-progs-v6.2/tests/fsck-tests"; [ -d "$BTT" ] || extract "$(fetch btrfs-progs_6.2.orig.tar.xz)" btrfs-progs-v6.2/tests/fsck-tests; }

btrfs_fsck_image() { # ID RELPATH [init-csum] : one btrfs-progs fsck test image, restored the way its test harness does
  local id=$1 rel=$2 fix=${3:-} d src sum
  have_image "$id" && return 0
  src="$BTT/$rel"; [ -f "$src" ] || { say "skip $id: no $rel"; return 0; }
  d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  sum=$(sha256sum "$src" | cut -d' ' -f1)
  local how
  case "$src" in
    *.raw.xz) xz -dc "$src" > "$d/disk.img"; how="xz -d" ;;
    *.img.xz) xz -dc "$src" > "$d/dump.img"; btrfs-image -r "$d/dump.img" "$d/disk.img" >/dev/null 2>&1; rm -f "$d/dump.img"; how="xz -d; btrfs-image -r" ;;
    *.img) btrfs-image -r "$src" "$d/disk.img" >/dev/null 2>&1; how="btrfs-image -r" ;;
    *.tar.xz) tar xJf "$src" -C "$d"; local f; f=$(ls "$d" | grep -v meta | head -1); mv "$d/$f" "$d/disk.img"; how="tar xJ" ;;
  esac
  [ -s "$d/disk.img" ] || { say "skip $id: could not restore $rel"; rm -rf "$d"; return 0; }
  if [[ "$how" == *btrfs-image* ]]; then
    # btrfs-image restores only the primary superblock with a valid checksum: rewrite the backups from it, so that
    # the only damage left is the one the test image carries
    btrfs rescue super-recover -y "$d/disk.img" >/dev/null 2>&1 || true
    how="$how; btrfs rescue super-recover -y"
    if [ "$fix" = init-csum ]; then
      # btrfs-image keeps metadata only: the restored data blocks are zeros, and every read of a file with data
      # would fail its checksum (damage the test image never had). Recompute the data checksums; the metadata
      # damage the image carries stays (btrfs check reports the same errors before and after).
      btrfs check --init-csum-tree --force "$d/disk.img" >/dev/null 2>&1 || true
      how="$how; btrfs check --init-csum-tree (data blocks are not in btrfs-image dumps)"
    fi
  fi
  local desc; desc=$(cat "$BTT/${rel%%/*}/description.txt" 2>/dev/null | head -3 | tr '\n' ' ' || true)
  write_meta "$id" btrfs disk.img btrfs-progs "btrfs-progs-v6.2/tests/fsck-tests/$rel sha256=$sum ($how)" "${desc:-fsck test ${rel%%/*}}"
}

BTRFS_UUID=5a1e17e5-0000-4000-8000-0000000000b7
btrfs_populate() { # MNT
  local m=$1 i
  mkdir -p "$m/dir/sub"
  for i in $(seq 1 100); do echo "small file $i" > "$m/dir/f$i"; done
  for i in 1 2 3 4; do head -c $((256 * 1024)) /dev/urandom > "$m/dir/sub/data$i"; done
  head -c 2M /dev/urandom > "$m/victim"
  setfattr -n user.note -v corpus "$m/dir/f1"
  ln -s dir/f2 "$m/link"
}

# base images: raid1 on two devices, and one device (DUP metadata, single data)
btrfs_base() { # raid1|single -> directory holding the base image(s)
  local kind=$1 b="$CORPUS_IMAGES/.btrfs-base-$1"
  if [ -f "$b/done" ] && [ $FORCE = 0 ]; then echo "$b"; return; fi
  rm -rf "$b"; mkdir -p "$b"
  local m L1 L2; m=$(mktemp -d)
  if [ "$kind" = raid1 ]; then
    truncate -s 256M "$b/dev1.img" "$b/dev2.img"
    L1=$(loop_attach "$b/dev1.img"); L2=$(loop_attach "$b/dev2.img")
    mkfs.btrfs -q -f -U $BTRFS_UUID -d raid1 -m raid1 "$L1" "$L2" >/dev/null
    mount -t btrfs -o device="$L2" "$L1" "$m"
  else
    truncate -s 256M "$b/dev1.img"
    L1=$(loop_attach "$b/dev1.img")
    mkfs.btrfs -q -f -U $BTRFS_UUID "$L1" >/dev/null
    mount -t btrfs "$L1" "$m"
  fi
  btrfs_populate "$m"; umount "$m"; rmdir "$m"
  btrfs check --readonly "$L1" >/dev/null 2>&1 || die "btrfs $kind base is not clean"
  loop_detach "$L1"; [ -n "${L2:-}" ] && loop_detach "$L2"
  touch "$b/done"; echo "$b"
}

# damage recipes (build time, on the unmounted copy): TARGET = data:FILE / tree:TREE[:level] / super:N ; COPY = 1|2|all
btrfs_damage_case() { # ID BASE(raid1|single) TARGET COPY BYTES DESCRIPTION
  local id=$1 kind=$2 target=$3 copy=$4 bytes=$5 desc=$6 d b files
  have_image "$id" && return 0
  b=$(btrfs_base "$kind"); d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  if [ "$kind" = raid1 ]; then files="dev1.img,dev2.img"; cp --sparse=always "$b/dev1.img" "$b/dev2.img" "$d/"
  else files="dev1.img"; cp --sparse=always "$b/dev1.img" "$d/"; fi
  local devs=() f; IFS=, read -ra fl <<<"$files"
  for f in "${fl[@]}"; do devs+=("$(loop_attach "$d/$f")"); done
  local logical="" prov=""
  case "$target" in
    data:*)
      # the file's first extent, found through the fs tree (no mount: the layout stays what the base wrote)
      local ino; ino=$(btrfs inspect-internal dump-tree -t 5 "${devs[0]}" | grep -B1 -E "name: ${target#data:}\$" | sed -n 's/.*key (\([0-9]*\) INODE_REF.*/\1/p' | sed -n 1p || true)
      logical=$(btrfs inspect-internal dump-tree -t 5 "${devs[0]}" | awk -v ino="$ino" '$0 ~ "key \\(" ino " EXTENT_DATA " && !x {getline; getline; if (match($0, /disk byte [0-9]+/)) {print substr($0, RSTART+10, RLENGTH-10); x=1}}')
      [ -n "$logical" ] || die "$id: cannot find the data of ${target#data:}"
      logical=$((logical + 8192)); prov="data block of /${target#data:} (ino $ino) logical $logical" ;;
    tree:*)
      local tree=${target#tree:}
      logical=$(btrfs inspect-internal dump-tree -t "$tree" "${devs[0]}" 2>/dev/null | awk '/^(leaf|node) [0-9]+/ && !x {print $2; x=1}')
      [ -n "$logical" ] || die "$id: cannot find the root block of tree $tree"
      prov="root block of the $tree tree at logical $logical" ;;
    super:*)
      local off=$((${target#super:} == 1 ? 67108864 : 65536))
      dd if=/dev/zero of="${devs[0]}" bs=1 seek=$((off + 64)) count=32 conv=notrunc status=none
      prov="superblock copy at byte $off of devid 1: 32 bytes zeroed" ;;
  esac
  if [ -n "$logical" ]; then
    local stripes n=0 devid phys dev
    stripes=$(btrfs_map "${devs[0]}" "$logical")
    [ -n "$stripes" ] || die "$id: no chunk maps logical $logical"
    while read -r devid phys; do
      n=$((n + 1))
      [ "$copy" = all ] || [ "$copy" = "$n" ] || continue
      dev=$(btrfs_dev_of "$devid" "${devs[@]}")
      # overwrite inside the block, past its header/first bytes: a checksum mismatch, nothing else
      head -c "$bytes" /dev/urandom | dd of="$dev" bs=1 seek=$((phys + 512)) conv=notrunc status=none
      prov="$prov; copy $n (devid $devid physical $phys): $bytes random bytes at +512"
    done <<<"$stripes"
  fi
  sync
  for f in "${devs[@]}"; do loop_detach "$f"; done
  write_meta "$id" btrfs "$files" damage "$kind base (mkfs.btrfs $( [ "$kind" = raid1 ] && echo '-d raid1 -m raid1, 2x256M' || echo '1x256M, DUP metadata') -U $BTRFS_UUID + btrfs_populate): $prov" "$desc"
}

btrfs_clean() { # ID raid1|single
  local id=$1 b d; have_image "$id" && return 0
  b=$(btrfs_base "$2"); d=$(img_dir "$id"); rm -rf "$d"; mkdir -p "$d"
  cp --sparse=always "$b"/*.img "$d/"
  write_meta "$id" btrfs "$(cd "$d" && ls *.img | tr '\n' , | sed 's/,$//')" clean "$2 base (build.sh btrfs_base)" "clean control: any detection is a false positive"
}

build_btrfs() {
  btrfs_src
  local id kind a b c e desc
  while IFS=$'\t' read -r -u 3 id kind a b c e desc; do
    [ -z "$id" ] || [[ "$id" == \#* ]] && continue
    case "$kind" in
      fsck) btrfs_fsck_image "btrfs-$id" "$a" "$([ "$e" = init-csum ] && echo init-csum)" ;;
      damage) btrfs_damage_case "btrfs-$id" "$a" "$b" "$c" "$e" "$desc" ;;
      clean) btrfs_clean "btrfs-$id" "$a" ;;
    esac </dev/null
  done 3< "$CORPUS_DIR/btrfs.tsv"
}

IFS=, read -ra want <<<"$FSLIST"
for fs in "${want[@]}"; do
  case "$fs" in ext4) build_ext4 ;; xfs) build_xfs ;; btrfs) build_btrfs ;; *) die "unknown fs $fs" ;; esac
done

# the manifest: the images the committed lists select (an image a recipe could not produce is left out, said above)
selected_ids() {
  grep -v '^#' "$CORPUS_DIR/ext4.list" | awk 'NF{print "ext4-" $1; if (NF>1 && $2=="uuid") print "ext4-" $1 "-uuid"}'
  echo ext4-clean-default; echo ext4-clean-1k
  awk -F'\t' '!/^#/ && NF {print "xfs-" $1}' "$CORPUS_DIR/xfs-fuzz.tsv"
  awk -F'\t' '!/^#/ && NF {print "btrfs-" $1}' "$CORPUS_DIR/btrfs.tsv"
}
write_manifest() { # FILE ID...
  local out=$1 id; shift
  { printf '# id\tfs\tfiles\torigin\tprovenance\tdescription\n'
    for id in "$@"; do [ -f "$CORPUS_IMAGES/$id/meta" ] && cat "$CORPUS_IMAGES/$id/meta"; done | sort; } > "$out"
  say "manifest: $out ($(grep -vc '^#' "$out" || true) images; $(du -sh "$CORPUS_IMAGES" | cut -f1) on disk in $CORPUS_IMAGES)"
}
if [ $EXT4_ALL = 1 ]; then
  write_manifest "$CORPUS/manifest-ext4-all.tsv" $(cd "$CORPUS_IMAGES" && ls -d ext4-f_* 2>/dev/null)
fi
write_manifest "$CORPUS_MANIFEST" $(selected_ids)
