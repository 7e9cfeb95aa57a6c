#!/usr/bin/env python3
"""Builds the tier-4 VM's initramfs: a static busybox, the kernel modules the tests need (decompressed, with their
dependencies, in load order) and tests/vm/init. The module order is computed from each module's own `depends=` and
`softdep=pre:` modinfo fields, so a new kernel needs no hand-kept list.

    mkinitrd.py MODULES_DIR BUSYBOX INIT OUT.cpio.gz MODULE...

MODULES_DIR is /lib/modules/<version> of the unpacked kernel (holding kernel/**.ko.xz). Prints the load order.
"""
import gzip, io, lzma, os, stat, sys


def modinfo(blob):
    """The .modinfo key=value strings of an ELF module (a scan for NUL-separated fields is enough here)."""
    out = {}
    for field in blob.split(b'\0'):
        for key in (b'depends=', b'softdep=', b'name='):
            if field.startswith(key):
                out.setdefault(key[:-1].decode(), field[len(key):].decode())
    return out


def main():
    moddir, busybox, init, out, *wanted = sys.argv[1:]
    files = {}
    for root, _, names in os.walk(os.path.join(moddir, 'kernel')):
        for n in names:
            if n.endswith('.ko.xz') or n.endswith('.ko'):
                files[n.split('.ko')[0].replace('-', '_')] = os.path.join(root, n)
    blobs, order = {}, []

    def load(name, chain=()):
        name = name.replace('-', '_')
        if name in order:
            return
        if name in chain:
            raise SystemExit(f'module dependency cycle: {" -> ".join(chain + (name,))}')
        if name not in files:
            raise SystemExit(f'module {name} not found under {moddir} (built in? then leave it out)')
        path = files[name]
        data = lzma.open(path).read() if path.endswith('.xz') else open(path, 'rb').read()
        info = modinfo(data)
        for pre in info.get('softdep', '').split('pre:')[1:2]:
            for d in pre.split('post:')[0].split():
                if d.replace('-', '_') in files:
                    load(d, chain + (name,))
        for d in filter(None, info.get('depends', '').split(',')):
            load(d, chain + (name,))
        blobs[name] = data
        order.append(name)

    for w in wanted:
        load(w)

    # newc cpio, written directly (no staging directory, reproducible: fixed mtimes and inode numbers)
    buf = io.BytesIO()
    ino = [1]

    def entry(path, mode, data=b''):
        hdr = '070701' + ''.join(f'{v:08x}' for v in (ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                                                          len(path) + 1, 0))
        ino[0] += 1
        buf.write(hdr.encode() + path.encode() + b'\0')
        buf.write(b'\0' * (-buf.tell() % 4))
        buf.write(data)
        buf.write(b'\0' * (-buf.tell() % 4))

    for d in ('bin', 'dev', 'proc', 'sys', 'host', 'out', 'lib', 'lib/modules'):
        entry(d, stat.S_IFDIR | 0o755)
    entry('bin/busybox', stat.S_IFREG | 0o755, open(busybox, 'rb').read())
    entry('init', stat.S_IFREG | 0o755, open(init, 'rb').read())
    for i, name in enumerate(order):
        entry(f'lib/modules/{i:02d}-{name}.ko', stat.S_IFREG | 0o644, blobs[name])
    entry('TRAILER!!!', 0)
    with open(out + '.tmp', 'wb') as f:
        f.write(gzip.compress(buf.getvalue(), compresslevel=1, mtime=0))
    os.replace(out + '.tmp', out)
    print(' '.join(order))


if __name__ == '__main__':
    main()
