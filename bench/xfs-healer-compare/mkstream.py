#!/usr/bin/env python3
"""Write a stream of 64-byte XFS health monitor records (struct xfs_health_monitor_event, format V0, little endian).

    mkstream.py OUT COUNT [--no-unmount] [--truncate BYTES] [--extras]

COUNT records: RUNNING first, UNMOUNT last (unless --no-unmount), and in between a fixed cycle of 16 records that
touches every domain and type a kernel reports during a storm: FS/AG/RTGROUP/INODE metadata (SICK, CORRUPT, HEALTHY;
one or two structure bits, and one AG "inodes" bit no healer can repair), media errors on all three devices and file
I/O errors of every kind. 6 of every 16 are SICK (5 with repairable structures, 7 scrub calls per cycle), so
`--repair` exercises the repair path about every third event. No LOST and no SHUTDOWN records in the cycle: they
start a full check or stop repairs, which a throughput comparison must not depend on (--extras adds them, plus
unknown domains/types/bits, for parity checks). --truncate appends BYTES bytes of a partial record.
"""
import argparse
import struct
import sys

MOUNT, FS, AG, INODE, RTGROUP, DATADEV, RTDEV, LOGDEV, FILERANGE = range(9)
RUNNING, LOST, UNMOUNT, SICK, CORRUPT, HEALTHY, SHUTDOWN, MEDIA, BUFREAD, BUFWRITE, DIOREAD, DIOWRITE, DATALOST = range(13)


def rec(domain, typ, w0=0, w1=0, w2=0, w3=0, t=0):
    return struct.pack("<IIQQQQQQQ", domain, typ, t, w0, w1, w2, w3, 0, 0)


def group(domain, typ, gno, mask):
    return rec(domain, typ, mask | (gno << 32))


def inode(typ, ino, gen, mask):
    return rec(INODE, typ, mask | (gen << 32), ino)


def filerange(typ, ino, gen, pos, length, err):
    return rec(FILERANGE, typ, pos, length, ino, gen | (err << 32))


def cycle(i):
    """Record number i of the storm (i >= 1)."""
    k = i % 16
    ino = 131 + 64 * (i % 100003)
    gen = (i * 2654435761) & 0xFFFFFFFF
    gno = i % 7
    if k == 0: return rec(FS, SICK, 0x81)                      # fscounters, nlinks: 2 repairs
    if k == 1: return group(AG, SICK, gno, 0x10)               # bnobt: 1 repair
    if k == 2: return inode(SICK, ino, gen, 0x90)              # directory, parent: 2 repairs
    if k == 3: return rec(FS, CORRUPT, 0x2)
    if k == 4: return group(AG, HEALTHY, gno, 0x0A)
    if k == 5: return group(RTGROUP, SICK, gno, 0x02)          # bitmap: 1 repair
    if k == 6: return rec(DATADEV, MEDIA, 0x1000 + i, 8)
    if k == 7: return filerange(BUFREAD, ino, gen, 4096 * (i % 1000), 4096, 5)
    if k == 8: return inode(CORRUPT, ino, gen, 0x01)
    if k == 9: return filerange(DATALOST, ino, gen, 8192, 65536, 0)
    if k == 10: return rec(LOGDEV, MEDIA, 0x40 + i, 16)
    if k == 11: return filerange(DIOWRITE, ino, gen, 1 << 20, 512, 28)
    if k == 12: return group(AG, CORRUPT, gno, 0x400)          # inodes: corrupt (scrub found it; logged only)
    if k == 13: return rec(RTDEV, MEDIA, i, 1)
    if k == 14: return inode(HEALTHY, ino, gen, 0x06)
    return inode(SICK, ino, gen, 0x01)                         # core: 1 repair


def extras():
    """Records a parity check needs beyond the storm cycle."""
    return [
        rec(MOUNT, LOST, 32),
        rec(MOUNT, SHUTDOWN, 0x3F | 0x100),                   # every reason plus an unknown bit
        rec(FS, SICK, 0x3FF | 0x1000),                        # every FS structure plus an unknown bit
        group(AG, CORRUPT, 0x12345, 0x7FF | 0x8000),
        group(RTGROUP, HEALTHY, 3, 0x1F | 0x40),
        inode(CORRUPT, 2**63 + 5, 0xFFFFFFFF, 0x1FF | 0x4000),
        filerange(DIOREAD, 99, 1, 2**64 - 1, 2**63, 61),
        filerange(BUFWRITE, 99, 1, 0, 1, 4095),               # an errno strerror does not know
        filerange(BUFREAD, 99, 1, 0, 1, 0),                   # error 0: "failed"
        rec(9, SICK, 1),                                      # unknown domain
        rec(MOUNT, 13),                                       # unknown MOUNT-domain type
        rec(FS, 7, 1),                                        # FS domain, a type that belongs elsewhere
        rec(FS, 99, 1),                                       # unknown type in a known domain
        rec(DATADEV, 99, 1, 2),
        rec(FILERANGE, 77, 1, 2, 3, 4),
    ]


def main(argv):
    ap = argparse.ArgumentParser(description="write a stream of XFS health monitor records")
    ap.add_argument("out")
    ap.add_argument("count", type=int)
    ap.add_argument("--no-unmount", action="store_true")
    ap.add_argument("--truncate", type=int, default=0)
    ap.add_argument("--extras", action="store_true")
    a = ap.parse_args(argv[1:])
    out, unmount, trunc = a.out, not a.no_unmount, a.truncate
    body = a.count - 1 - (1 if unmount else 0)
    with open(out, "wb") as f:
        f.write(rec(MOUNT, RUNNING))
        if a.extras:
            for r in extras():
                f.write(r)
        chunk = []
        for i in range(1, body + 1):
            chunk.append(cycle(i))
            if len(chunk) == 4096:
                f.write(b"".join(chunk))
                chunk.clear()
        f.write(b"".join(chunk))
        if unmount:
            f.write(rec(MOUNT, UNMOUNT))
        if trunc:
            f.write(rec(FS, SICK, 1)[:trunc])


if __name__ == "__main__":
    main(sys.argv)
