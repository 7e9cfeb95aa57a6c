#!/usr/bin/env bash
# A user on a mounted filesystem: read every directory, file, symlink and extended attribute, then write a little
# (new files, appends and an xattr on existing files, a rename, a delete) and sync. Never stops at an error: every
# error message goes to OUTDIR/workload.err, a summary by errno to OUTDIR/workload.txt.
#   workload.sh MOUNTPOINT FSTYPE OUTDIR
M=$1 FS=$2 O=$3
E="$O/workload.err"
: > "$E"
cd / || exit 1
# metadata: every entry (lstat), every directory listed
find "$M" -xdev -printf '%y %s %p\n' > "$O/tree.txt" 2>>"$E"
# (at most 5000 directories: e2fsprogs' f_many_subdirs has 65,000, and listing each would take minutes)
find "$M" -xdev -type d 2>/dev/null | head -5000 | tr '\n' '\0' | xargs -0 -r ls -la > /dev/null 2>>"$E"
# data: every regular file read through the page cache
find "$M" -xdev -type f -size -64M -print0 2>/dev/null | xargs -0 -r cat > /dev/null 2>>"$E"
# btrfs raid1: the copy a read goes to is the reading pid modulo the number of copies (read_policy "pid"). Read
# every file once more, uncached, from a process of each parity, so that both copies are read as two users would
if [ "$FS" = btrfs ]; then
  # (files of more than 4 KiB: smaller ones are usually inline in the tree blocks, read once above)
  find "$M" -xdev -type f -size +4k -size -64M 2>/dev/null | head -50 > "$O/files.txt"
  for parity in 0 1; do
    while IFS= read -r f; do
      for _ in $(seq 1 50); do # a new process until its pid has the parity (99: wrong pid, nothing read)
        # drop the file's cached pages first (POSIX_FADV_DONTNEED): btrfs serves a direct read of cached pages
        # from the cache, so without this the second copy is never read
        sh -c '[ $(($$ % 2)) = "$0" ] || exit 99; echo "$$ $1" >> "$2"; dd if="$1" iflag=nocache count=0 status=none; exec dd if="$1" of=/dev/null bs=1M iflag=direct status=none' "$parity" "$f" "$O/reads.txt" 2>>"$E"
        [ $? != 99 ] && break
      done
    done < "$O/files.txt"
  done
fi
find "$M" -xdev -type l -print0 2>/dev/null | xargs -0 -r readlink > /dev/null 2>>"$E"
# extended attributes of everything (getfattr -R does not cross into other mounts with -P)
getfattr -R -P -d -m - --absolute-names "$M" > /dev/null 2>>"$E"
# writes
W="$M/.corpus-user"
if mkdir -p "$W" 2>>"$E"; then
  dd if=/dev/urandom of="$W/new.bin" bs=64k count=8 conv=fsync status=none 2>>"$E"
  for i in 1 2 3 4 5 6 7 8 9 10; do echo "line $i" > "$W/small-$i" 2>>"$E"; done
  mv "$W/small-1" "$W/renamed" 2>>"$E"; rm -f "$W/small-2" 2>>"$E"
fi
find "$M" -xdev -type f ! -path "$W/*" -size -64M 2>/dev/null | head -10 | while IFS= read -r f; do
  setfattr -n user.corpus -v touched "$f" 2>>"$E"
  printf 'appended by the corpus workload\n' >> "$f" 2>>"$E"
done
sync -f "$M" 2>>"$E"

# summary: error lines by errno text (EUCLEAN "Structure needs cleaning", EIO, EBADMSG/EFSBADCRC "Bad message",
# EROFS, ESTALE, EFSCORRUPTED = EUCLEAN); ENOENT is not damage (races with our own writes) but is counted apart
count() { grep -c -- "$1" "$E" 2>/dev/null || true; }
{
  echo "entries=$(wc -l < "$O/tree.txt")"
  echo "err_lines=$(wc -l < "$E")"
  echo "euclean=$(count 'Structure needs cleaning')"
  echo "eio=$(count 'Input/output error')"
  echo "ebadmsg=$(count 'Bad message')"
  echo "erofs=$(count 'Read-only file system')"
  echo "estale=$(count 'Stale file handle')"
  echo "enoent=$(count 'No such file or directory')"
  echo "other=$(grep -v -e 'Structure needs cleaning' -e 'Input/output error' -e 'Bad message' -e 'Read-only file system' -e 'Stale file handle' -e 'No such file or directory' "$E" | wc -l)"
} > "$O/workload.txt"
