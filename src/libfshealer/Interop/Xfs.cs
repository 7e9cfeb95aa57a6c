using System.Buffers.Binary;
using FsHealer.Text;
using FsHealer.Xfs;

namespace FsHealer.Interop;

/// <summary>Decoded XFS_IOC_FSGEOMETRY (v5) fields fshealer uses.</summary>
public readonly record struct XfsGeometry(uint BlockSize, uint AgCount, uint Flags, uint Sick, uint Checked, int Version, Guid Uuid)
{
    public bool HasRmapBt => (Flags & XfsAbi.GeomFlagRmapBt) != 0;
    public bool HasParent => (Flags & XfsAbi.GeomFlagParent) != 0;
    public bool HasReflink => (Flags & XfsAbi.GeomFlagReflink) != 0;

    public static XfsGeometry Decode(ReadOnlySpan<byte> b) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(b),
        BinaryPrimitives.ReadUInt32LittleEndian(b[XfsAbi.GeomOffsetAgCount..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[XfsAbi.GeomOffsetFlags..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[XfsAbi.GeomOffsetSick..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[XfsAbi.GeomOffsetChecked..]),
        BinaryPrimitives.ReadInt32LittleEndian(b[XfsAbi.GeomOffsetVersion..]),
        new Guid(b.Slice(XfsAbi.GeomOffsetUuid, 16), bigEndian: true));
}

/// <summary>XFS ioctls of the health monitor, scrub and geometry ABI. Each returns 0 or an errno.</summary>
public static unsafe class XfsIoctl
{
    /// <summary>XFS_IOC_FSGEOMETRY on any fd of the filesystem.</summary>
    public static int GetGeometry(SafeFd fd, out XfsGeometry geometry)
    {
        byte* buf = stackalloc byte[XfsAbi.FsGeometrySize];
        new Span<byte>(buf, XfsAbi.FsGeometrySize).Clear();
        if (Libc.ioctl(fd, XfsAbi.IocFsGeometry, buf) != 0) { geometry = default; return Libc.LastErrno; }
        geometry = XfsGeometry.Decode(new ReadOnlySpan<byte>(buf, XfsAbi.FsGeometrySize));
        return 0;
    }

    /// <summary>XFS_IOC_HEALTH_MONITOR on the root directory fd: a new monitor fd (format V0).</summary>
    public static SafeFd OpenHealthMonitor(SafeFd rootFd, bool verbose, out int errno)
    {
        byte* req = stackalloc byte[XfsAbi.HealthMonitorRequestSize];
        new Span<byte>(req, XfsAbi.HealthMonitorRequestSize).Clear();
        *(ulong*)req = verbose ? XfsAbi.HealthMonitorVerbose : 0;
        req[8] = XfsAbi.HealthMonitorFormatV0;
        int fd = Libc.ioctl(rootFd, XfsAbi.IocHealthMonitor, req);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd < 0 ? SafeFd.Invalid : new SafeFd(fd);
    }

    /// <summary>XFS_IOC_HEALTH_FD_ON_MONITORED_FS on the monitor fd: 0 if <paramref name="candidate"/> is on the monitored fs, ESTALE otherwise.</summary>
    public static int FdOnMonitoredFs(SafeFd monitorFd, SafeFd candidate) => FdOnMonitoredFs(monitorFd.Fd, candidate.Fd);

    /// <summary><see cref="FdOnMonitoredFs(SafeFd, SafeFd)"/> on raw descriptors.</summary>
    public static int FdOnMonitoredFs(int monitorFd, int candidate)
    {
        byte* req = stackalloc byte[XfsAbi.HealthFdOnMonitoredFsSize];
        *(int*)req = candidate;
        *(uint*)(req + 4) = 0;
        return Libc.ioctl(monitorFd, XfsAbi.IocHealthFdOnMonitoredFs, req) == 0 ? 0 : Libc.LastErrno;
    }

    /// <summary>XFS_IOC_SCRUB_METADATA; on success req.Flags holds the out flags.</summary>
    public static int ScrubMetadata(SafeFd fd, ref ScrubRequest req) => ScrubMetadata(fd.Fd, ref req);

    /// <summary><see cref="ScrubMetadata(SafeFd, ref ScrubRequest)"/> on a raw descriptor.</summary>
    public static int ScrubMetadata(int fd, ref ScrubRequest req)
    {
        byte* sm = stackalloc byte[XfsAbi.ScrubMetadataSize];
        new Span<byte>(sm, XfsAbi.ScrubMetadataSize).Clear();
        *(uint*)sm = req.Type;
        *(uint*)(sm + 4) = req.Flags;
        *(ulong*)(sm + 8) = req.Ino;
        *(uint*)(sm + 16) = req.Gen;
        *(uint*)(sm + 20) = req.Agno;
        if (Libc.ioctl(fd, XfsAbi.IocScrubMetadata, sm) != 0) return Libc.LastErrno;
        req.Flags = *(uint*)(sm + 4);
        return 0;
    }

    /// <summary>Probe for online repair: scrub type PROBE with IFLAG_REPAIR.</summary>
    public static int ProbeRepair(SafeFd fd)
    {
        var req = new ScrubRequest(ScrubType.Probe, ScrubFlags.IFlagRepair);
        return ScrubMetadata(fd, ref req);
    }
}

/// <summary>XFS handle ioctls (libhandle's FD_TO_HANDLE) and parent-pointer lookups.</summary>
public static unsafe class XfsHandleIoctl
{
    /// <summary>XFS_IOC_FD_TO_HANDLE: the 24-byte xfs_handle of an open file.</summary>
    public static int FdToHandle(SafeFd fd, out XfsHandle handle) => FdToHandle(fd.Fd, out handle);

    /// <summary><see cref="FdToHandle(SafeFd, out XfsHandle)"/> on a raw descriptor.</summary>
    public static int FdToHandle(int fd, out XfsHandle handle)
    {
        byte* h = stackalloc byte[64];
        uint hlen = 64;
        byte* req = stackalloc byte[56];
        new Span<byte>(req, 56).Clear();
        *(uint*)req = (uint)fd;
        *(nint*)(req + 40) = (nint)h;
        *(nint*)(req + 48) = (nint)(&hlen);
        if (Libc.ioctl(fd, XfsAbi.IocFdToHandle, req) != 0) { handle = default; return Libc.LastErrno; }
        return XfsHandle.TryDecode(new ReadOnlySpan<byte>(h, (int)Math.Min(hlen, 64)), out handle) ? 0 : Errno.EINVAL;
    }

    /// <summary>XFS_IOC_GETPARENTS_BY_HANDLE, one call: records + out flags.</summary>
    public static int GetParentsByHandle(SafeFd anyFd, XfsHandle handle, Span<byte> buffer, ref Span<byte> cursor16, out ushort oflags)
    {
        byte* req = stackalloc byte[64];
        new Span<byte>(req, 64).Clear();
        handle.Encode(new Span<byte>(req, 24));
        cursor16.CopyTo(new Span<byte>(req + 24, 16));
        buffer.Clear();
        fixed (byte* b = buffer)
        {
            *(uint*)(req + 24 + 20) = (uint)buffer.Length;
            *(nint*)(req + 24 + 32) = (nint)b;
            if (Libc.ioctl(anyFd, XfsAbi.IocGetParentsByHandle, req) != 0) { oflags = 0; return Libc.LastErrno; }
        }
        oflags = *(ushort*)(req + 24 + 18);
        new Span<byte>(req + 24, 16).CopyTo(cursor16);
        return 0;
    }
}
