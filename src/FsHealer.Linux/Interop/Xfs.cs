using System.Buffers.Binary;
using FsHealer.Core.Xfs;

namespace FsHealer.Linux.Interop;

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
        if (Libc.ioctl(fd.Fd, XfsAbi.IocFsGeometry, buf) != 0) { geometry = default; return Libc.LastErrno; }
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
        int fd = Libc.ioctl(rootFd.Fd, XfsAbi.IocHealthMonitor, req);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd < 0 ? SafeFd.Invalid : new SafeFd(fd);
    }

    /// <summary>XFS_IOC_HEALTH_FD_ON_MONITORED_FS on the monitor fd: 0 if <paramref name="candidate"/> is on the monitored fs, ESTALE otherwise.</summary>
    public static int FdOnMonitoredFs(SafeFd monitorFd, SafeFd candidate)
    {
        byte* req = stackalloc byte[XfsAbi.HealthFdOnMonitoredFsSize];
        *(int*)req = candidate.Fd;
        *(uint*)(req + 4) = 0;
        return Libc.ioctl(monitorFd.Fd, XfsAbi.IocHealthFdOnMonitoredFs, req) == 0 ? 0 : Libc.LastErrno;
    }

    /// <summary>XFS_IOC_SCRUB_METADATA; on success req.Flags holds the out flags.</summary>
    public static int ScrubMetadata(SafeFd fd, ref ScrubRequest req)
    {
        byte* sm = stackalloc byte[XfsAbi.ScrubMetadataSize];
        new Span<byte>(sm, XfsAbi.ScrubMetadataSize).Clear();
        *(uint*)sm = req.Type;
        *(uint*)(sm + 4) = req.Flags;
        *(ulong*)(sm + 8) = req.Ino;
        *(uint*)(sm + 16) = req.Gen;
        *(uint*)(sm + 20) = req.Agno;
        if (Libc.ioctl(fd.Fd, XfsAbi.IocScrubMetadata, sm) != 0) return Libc.LastErrno;
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
