using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;
using FsHealer.Interop;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;

namespace FsHealer.Xfs.Live;

/// <summary>
/// The weak handle of a monitored XFS filesystem (xfs_healer's weakhandle.c): it remembers the root directory's
/// file handle, the unique mount id, the device number, the filesystem UUID (FS_IOC_GETFSUUID, when the kernel has
/// it), the filesystem source and the mount point, but holds no fd on the filesystem. A repair reopens it — the
/// stored path first, then where statmount(mnt_id) says the mount is now (a moved mount keeps its id), then every
/// mount of the same source in /proc/self/mountinfo — and accepts an fd only if its root handle, XFS handle (which
/// adds the fsid), device number and UUID match and, when a health monitor is open, the kernel confirms with
/// XFS_IOC_HEALTH_FD_ON_MONITORED_FS that it is the very superblock being monitored (this defeats byte-identical
/// clones mounted with -o nouuid on the same device, which have the same handles and UUID). Apart from the XFS handle
/// and the monitor check, the identity checks are not XFS-specific (they hold for ext4 too; tests use that).
/// </summary>
public sealed class LinuxXfsTarget : IXfsTarget
{
    private readonly ReaderWriterLockSlim _lock = new();
    private string _mountpoint;
    private ulong _mountId;
    private readonly FileHandles.FileHandle _rootHandle;
    private readonly string _fsname;
    private readonly XfsHandle _xfsRoot;
    private readonly bool _hasXfsRoot;
    private readonly ulong _dev;
    private readonly Guid? _uuid;

    /// <summary>The monitor fd used for the same-superblock check (null on kernels without a health monitor).</summary>
    public SafeFd? MonitorFd { get; set; }
    /// <summary>Unique id of the mount last opened (it changes when a reopen lands on another mount of the same
    /// filesystem, e.g. the bind mount left after the original place was unmounted).</summary>
    public ulong MountId { get { _lock.EnterReadLock(); try { return _mountId; } finally { _lock.ExitReadLock(); } } }
    public bool HasParentPointers { get; }
    public bool HasRmapBt { get; }
    /// <summary>Device number (major &lt;&lt; 32 | minor) of the filesystem.</summary>
    public ulong DevKey => _dev;
    public string Dev => $"{_dev >> 32}:{_dev & 0xffffffff}";
    /// <summary>The root directory's file handle (name_to_handle_at).</summary>
    public FileHandles.FileHandle RootHandle => _rootHandle;
    /// <summary>The filesystem UUID, or null when FS_IOC_GETFSUUID is not available.</summary>
    public Guid? Uuid => _uuid;
    /// <summary>Which identity check rejected the last candidate ("root handle", "xfs handle", "dev", "uuid",
    /// "monitor"), for diagnostics and tests; null when the last reopen succeeded at once.</summary>
    public string? LastMismatch { get; private set; }
    /// <summary>How the last successful reopen found the filesystem: "stored path", "statmount" or "mount table".</summary>
    public string? LastReopenVia { get; private set; }

    private LinuxXfsTarget(string mountpoint, FileHandles.FileHandle root, ulong mountId, string fsname, XfsGeometry geo, XfsHandle xfsRoot, bool hasXfsRoot, ulong dev, Guid? uuid)
    {
        _dev = dev;
        _uuid = uuid;
        _mountpoint = mountpoint;
        _rootHandle = root;
        _mountId = mountId;
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
        int err = Identify(rootFd, out var h, out var mnt, out var dev, out var uuid);
        if (err != 0) return err;
        bool hasXfs = XfsHandleIoctl.FdToHandle(rootFd, out var xh) == 0;
        target = new LinuxXfsTarget(mountpoint, h, mnt, fsname, geo, xh, hasXfs, dev, uuid);
        return 0;
    }

    /// <summary>Root handle, unique mount id (0 when the kernel cannot say), device number and UUID of an open root.</summary>
    private static int Identify(SafeFd fd, out FileHandles.FileHandle h, out ulong mountId, out ulong dev, out Guid? uuid)
    {
        dev = 0; uuid = null;
        int err = FileHandles.NameToHandle(fd, FileHandles.AT_HANDLE_MNT_ID_UNIQUE, out h, out mountId);
        if (err == Errno.EINVAL) // before Linux 6.12: no AT_HANDLE_MNT_ID_UNIQUE; statx below gives the unique id
        {
            err = FileHandles.NameToHandle(fd, 0, out h, out _);
            mountId = 0;
        }
        if (err != 0) return err;
        err = Statx.Get(fd, out var st);
        if (err != 0) return err;
        dev = st.DevKey;
        if (mountId == 0 && st.MountIdUnique) mountId = st.MountId;
        uuid = FsIoctl.GetFsUuid(fd, out _);
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

    /// <summary>Reopen the filesystem root. Returns null with errno (ESTALE when nothing acceptable is mounted);
    /// why each candidate was rejected goes to <paramref name="diagnostics"/>.</summary>
    public SafeFd? Reopen(bool validate, out int errno, List<string>? diagnostics = null)
    {
        LastMismatch = null;
        LastReopenVia = null;
        var stored = CurrentMountpoint;
        var fd = TryPath(stored, validate, diagnostics);
        if (fd is not null) { errno = 0; LastReopenVia = "stored path"; return fd; }
        // the mount may have moved: ask statmount(mnt_id) where it is now
        ulong mountId = MountId;
        if (mountId != 0 && MountSyscalls.Statmount(mountId, StatmountAbi.MNT_POINT, null, out var sm) == 0
            && StatmountDecoder.Decode(sm, []) is { MntPoint: { } point } && point != stored
            && TryPath(point, validate, diagnostics) is { } moved)
        {
            Store(point);
            errno = 0;
            LastReopenVia = "statmount";
            return moved;
        }
        foreach (var dir in XfsMounts.WithSource(_fsname))
        {
            if (dir == stored) continue;
            fd = TryPath(dir, validate, diagnostics);
            if (fd is null) continue;
            Store(dir);
            errno = 0;
            LastReopenVia = "mount table";
            return fd;
        }
        errno = Errno.ESTALE;
        return null;
    }

    private void Store(string path)
    {
        _lock.EnterWriteLock();
        try { _mountpoint = path; } finally { _lock.ExitWriteLock(); }
    }

    private SafeFd? TryPath(string path, bool validate, List<string>? diagnostics)
    {
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out int e);
        if (fd.IsInvalid) { diagnostics?.Add($"{path}: open: {Errno.Message(e)}"); return null; }
        // Identity: the VFS handle (ino/gen), the XFS handle (which adds the filesystem's fsid), the device number
        // and the UUID. A byte-identical clone has the same handles and UUID; on another device it differs in st_dev;
        // only the Linux 7.0 same-superblock ioctl below can tell a clone apart when everything else matches.
        e = Identify(fd, out var h, out var mnt, out var dev, out var uuid);
        string? mismatch = e != 0 ? $"identify: {Errno.Message(e)}"
            : !h.SameAs(_rootHandle) ? "root handle"
            : dev != _dev ? "dev"
            : _uuid is not null && uuid != _uuid ? "uuid"
            : _hasXfsRoot && (XfsHandleIoctl.FdToHandle(fd, out var xh) != 0 || xh != _xfsRoot) ? "xfs handle"
            : validate && MonitorFd is { IsInvalid: false } mon && XfsIoctl.FdOnMonitoredFs(mon, fd) != 0 ? "monitor"
            : null;
        if (mismatch is not null)
        {
            LastMismatch = mismatch;
            diagnostics?.Add($"{path}: not the same filesystem ({mismatch} differs from dev {Dev}, root {_rootHandle})");
            fd.Dispose();
            return null;
        }
        if (mnt != 0)
        {
            _lock.EnterWriteLock();
            try { _mountId = mnt; } finally { _lock.ExitWriteLock(); }
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
    public static IEnumerable<MountEntry> All()
    {
        var entries = new List<MountEntry>();
        MountTable.ReadMountInfo(MountTable.MountInfoPath, entries, []);
        return entries;
    }

    /// <summary>Mount points of XFS mounts whose source is <paramref name="fsname"/> (xfs_healer's fsname scan).</summary>
    public static IEnumerable<string> WithSource(string fsname) =>
        All().Where(e => e.FsType == "xfs" && e.Source == fsname).Select(e => e.MountPoint);
}
