using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Xfs.Live;

/// <summary>
/// The weak handle of a monitored XFS filesystem (xfs_healer's weakhandle.c): it remembers the root directory's
/// file handle, the unique mount id, the filesystem source and the mount point, but holds no fd on the filesystem.
/// A repair reopens it — stored path first, then every mount of the same source in /proc/self/mounts — and accepts
/// the fd only if its root handle matches and, when a health monitor is open, the kernel confirms with
/// XFS_IOC_HEALTH_FD_ON_MONITORED_FS that it is the very superblock being monitored (this defeats byte-identical
/// clones mounted with -o nouuid, which have the same handle).
/// </summary>
public sealed class LinuxXfsTarget : IXfsTarget
{
    private readonly ReaderWriterLockSlim _lock = new();
    private string _mountpoint;
    private readonly FileHandles.FileHandle _rootHandle;
    private readonly string _fsname;
    private readonly XfsHandle _xfsRoot;
    private readonly bool _hasXfsRoot;
    private readonly ulong _dev;

    /// <summary>The monitor fd used for the same-superblock check (null on kernels without a health monitor).</summary>
    public SafeFd? MonitorFd { get; set; }
    public ulong MountId { get; }
    public bool HasParentPointers { get; }
    public bool HasRmapBt { get; }

    private LinuxXfsTarget(string mountpoint, FileHandles.FileHandle root, ulong mountId, string fsname, XfsGeometry geo, XfsHandle xfsRoot, bool hasXfsRoot, ulong dev)
    {
        _dev = dev;
        _mountpoint = mountpoint;
        _rootHandle = root;
        MountId = mountId;
        _fsname = fsname;
        HasParentPointers = geo.HasParent;
        HasRmapBt = geo.HasRmapBt;
        _xfsRoot = xfsRoot;
        _hasXfsRoot = hasXfsRoot;
    }

    /// <summary>Create from an open root directory fd. Returns errno (0 on success).</summary>
    public static int Create(SafeFd rootFd, string mountpoint, string fsname, XfsGeometry geo, out LinuxXfsTarget? target)
    {
        target = null;
        int err = FileHandles.NameToHandle(rootFd.Fd, "", FileHandles.AT_EMPTY_PATH | FileHandles.AT_HANDLE_MNT_ID_UNIQUE, out var h, out var mnt);
        if (err == Errno.EINVAL)
            err = FileHandles.NameToHandle(rootFd.Fd, "", FileHandles.AT_EMPTY_PATH, out h, out mnt);
        if (err != 0) return err;
        bool hasXfs = XfsHandleIoctl.FdToHandle(rootFd, out var xh) == 0;
        err = Libc.DeviceOf(rootFd, out var dev);
        if (err != 0) return err;
        target = new LinuxXfsTarget(mountpoint, h, mnt, fsname, geo, xh, hasXfs, dev);
        return 0;
    }

    public string CurrentMountpoint
    {
        get { _lock.EnterReadLock(); try { return _mountpoint; } finally { _lock.ExitReadLock(); } }
    }

    public int OpenForRepair(out IScrubHandle? handle)
    {
        // The common case in xfs_healer's three system calls: open the stored mount point, compare its XFS handle
        // (fsid, root inode and generation) and let the kernel confirm it is the monitored superblock — which makes
        // the VFS handle and st_dev checks of the general path redundant. Anything else takes the general path.
        if (_hasXfsRoot && MonitorFd is { IsInvalid: false } mon)
        {
            int fd = Libc.open(CurrentMountpoint, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
            if (fd >= 0)
            {
                if (XfsHandleIoctl.FdToHandle(fd, out var xh) == 0 && xh == _xfsRoot && XfsIoctl.FdOnMonitoredFs(mon.Fd, fd) == 0)
                {
                    handle = RawFdScrubHandle.For(fd);
                    return 0;
                }
                Libc.close(fd);
            }
        }
        var sfd = Reopen(validate: true, out int err);
        handle = sfd is null ? null : new FdScrubHandle(sfd);
        return sfd is null ? err : 0;
    }

    /// <summary>Reopen the filesystem root. Returns null with errno (ESTALE when nothing acceptable is mounted).</summary>
    public SafeFd? Reopen(bool validate, out int errno)
    {
        var stored = CurrentMountpoint;
        var fd = TryPath(stored, validate);
        if (fd is not null) { errno = 0; return fd; }
        // the mount may have moved: ask statmount(mnt_id) where it is now
        if (MountId != 0 && Interop.MountSyscalls.Statmount(MountId, FsHealer.Mounts.StatmountAbi.MNT_POINT, 0, out var sm) == 0
            && FsHealer.Mounts.StatmountDecoder.Decode(sm, []) is { MntPoint: { } point } && point != stored
            && TryPath(point, validate) is { } moved)
        {
            _lock.EnterWriteLock();
            try { _mountpoint = point; } finally { _lock.ExitWriteLock(); }
            errno = 0;
            return moved;
        }
        foreach (var dir in XfsMounts.WithSource(_fsname))
        {
            if (dir == stored) continue;
            fd = TryPath(dir, validate);
            if (fd is null) continue;
            _lock.EnterWriteLock();
            try { _mountpoint = dir; } finally { _lock.ExitWriteLock(); }
            errno = 0;
            return fd;
        }
        errno = Errno.ESTALE;
        return null;
    }

    private SafeFd? TryPath(string path, bool validate)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        if (fd.IsInvalid) return null;
        // Identity: the VFS handle (ino/gen), the XFS handle (which adds the filesystem's fsid) and the device
        // number. A byte-identical clone has the same handles; on another device it differs in st_dev; only the
        // Linux 7.0 same-superblock ioctl below can tell a clone apart when everything else matches.
        if (FileHandles.NameToHandle(fd.Fd, "", FileHandles.AT_EMPTY_PATH, out var h, out _) != 0 || !h.SameAs(_rootHandle)
            || (_hasXfsRoot && (XfsHandleIoctl.FdToHandle(fd, out var xh) != 0 || xh != _xfsRoot))
            || Libc.DeviceOf(fd, out var dev) != 0 || dev != _dev)
        {
            fd.Dispose();
            return null;
        }
        if (validate && MonitorFd is { IsInvalid: false } mon && XfsIoctl.FdOnMonitoredFs(mon, fd) != 0)
        {
            fd.Dispose();
            return null;
        }
        return fd;
    }

    /// <summary>Walk parent pointers (GETPARENTS_BY_HANDLE) to the root: first complete path, or null.</summary>
    public string? LookupPath(ulong ino, uint gen)
    {
        if (!HasParentPointers || !_hasXfsRoot) return null;
        using var fd = Reopen(validate: false, out _);
        if (fd is null) return null;
        var components = new List<string>();
        var cur = new XfsHandle(_xfsRoot.Fsid, gen, ino);
        Span<byte> buf = stackalloc byte[600];
        Span<byte> cursor = stackalloc byte[16];
        for (int depth = 0; depth < 512; depth++)
        {
            if (cur.Ino == _xfsRoot.Ino) break;
            cursor.Clear();
            if (XfsHandleIoctl.GetParentsByHandle(fd, cur, buf, ref cursor, out var oflags) != 0) return null;
            if ((oflags & GetParentsDecoder.OFlagRoot) != 0) break;
            var recs = GetParentsDecoder.Decode(buf);
            if (recs.Count == 0) return null;
            components.Add(recs[0].Name);
            cur = recs[0].Parent;
        }
        components.Reverse();
        var mnt = CurrentMountpoint.TrimEnd('/');
        return components.Count == 0 ? (mnt.Length == 0 ? "/" : mnt) : mnt + "/" + string.Join('/', components);
    }

    private sealed class FdScrubHandle(SafeFd fd) : IScrubHandle
    {
        public int Scrub(ref ScrubRequest req) => XfsIoctl.ScrubMetadata(fd, ref req);
        public void Dispose() => fd.Dispose();
    }

    /// <summary>
    /// A repair fd that lives for one event's repairs, in one object per thread that is reused: a storm of SICK events
    /// allocates nothing (no SafeHandle, no finalizer to register per repair). A thread finishes one event's repairs
    /// (and disposes the handle) before it opens the next, so one object per thread is enough.
    /// </summary>
    private sealed class RawFdScrubHandle : IScrubHandle
    {
        [ThreadStatic] private static RawFdScrubHandle? t_handle;
        private int _fd = -1;

        public static RawFdScrubHandle For(int fd)
        {
            var h = t_handle ??= new RawFdScrubHandle();
            if (h._fd >= 0) Libc.close(h._fd);   // not disposed by its last user: do not leak the fd
            h._fd = fd;
            return h;
        }

        public int Scrub(ref ScrubRequest req) => XfsIoctl.ScrubMetadata(_fd, ref req);

        public void Dispose()
        {
            int fd = _fd;
            _fd = -1;
            if (fd >= 0) Libc.close(fd);
        }
    }
}

/// <summary>The process's own mount table (what xfs_healer reads through getmntent), from /proc/self/mountinfo.</summary>
public static class XfsMounts
{
    public static IEnumerable<FsHealer.Mounts.MountEntry> All()
    {
        var entries = new List<FsHealer.Mounts.MountEntry>();
        FsHealer.Mounts.Live.MountTable.ReadMountInfo(FsHealer.Mounts.Live.MountTable.MountInfoPath, entries, []);
        return entries;
    }

    /// <summary>Mount points of XFS mounts whose source is <paramref name="fsname"/> (xfs_healer's fsname scan).</summary>
    public static IEnumerable<string> WithSource(string fsname) =>
        All().Where(e => e.FsType == "xfs" && e.Source == fsname).Select(e => e.MountPoint);
}
