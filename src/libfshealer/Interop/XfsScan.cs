using FsHealer.Xfs;

namespace FsHealer.Interop;

/// <summary>
/// Pre-7.0 XFS health query ioctls: XFS_IOC_AG_GEOMETRY, XFS_IOC_RTGROUP_GEOMETRY, XFS_IOC_INUMBERS and
/// XFS_IOC_BULKSTAT (v5). Each returns 0 or an errno; decoding is done by the core record types.
/// </summary>
public static unsafe class XfsScan
{
    /// <summary>XFS_IOC_FSGEOMETRY into a caller buffer (256 bytes), for decoders beyond <see cref="XfsGeometry"/>.</summary>
    public static int FsGeometryRaw(SafeFd fd, Span<byte> buffer)
    {
        if (buffer.Length < XfsAbi.FsGeometrySize) throw new ArgumentException($"xfs_fsop_geom is {XfsAbi.FsGeometrySize} bytes", nameof(buffer));
        buffer[..XfsAbi.FsGeometrySize].Clear();
        fixed (byte* p = buffer)
            return Libc.ioctl(fd, XfsAbi.IocFsGeometry, p) != 0 ? Libc.LastErrno : 0;
    }

    public static int AgGeometry(SafeFd fd, uint agno, out AgGeometry geometry)
    {
        byte* buf = stackalloc byte[XfsScanAbi.AgGeometrySize];
        var span = new Span<byte>(buf, XfsScanAbi.AgGeometrySize);
        FsHealer.Xfs.AgGeometry.EncodeRequest(span, agno);
        if (Libc.ioctl(fd, XfsAbi.IocAgGeometry, buf) != 0) { geometry = default; return Libc.LastErrno; }
        FsHealer.Xfs.AgGeometry.TryDecode(span, out geometry);
        return 0;
    }

    public static int RtGroupGeometry(SafeFd fd, uint rgno, out RtGroupGeometry geometry)
    {
        byte* buf = stackalloc byte[XfsScanAbi.RtGroupGeometrySize];
        var span = new Span<byte>(buf, XfsScanAbi.RtGroupGeometrySize);
        FsHealer.Xfs.RtGroupGeometry.EncodeRequest(span, rgno);
        if (Libc.ioctl(fd, XfsAbi.IocRtGroupGeometry, buf) != 0) { geometry = default; return Libc.LastErrno; }
        FsHealer.Xfs.RtGroupGeometry.TryDecode(span, out geometry);
        return 0;
    }

    /// <summary>
    /// XFS_IOC_INUMBERS from <paramref name="cursor"/> (inclusive). Fills <paramref name="into"/>; advances the
    /// cursor to the kernel's resume point. 0 records with errno 0 = end of filesystem.
    /// </summary>
    public static int Inumbers(SafeFd fd, ref ulong cursor, Span<InumbersRecord> into, out int count)
    {
        count = 0;
        int size = XfsScanAbi.BulkIreqSize + into.Length * XfsScanAbi.InumbersSize;
        var buf = new byte[size];
        new BulkIreq(cursor, 0, (uint)into.Length, 0, 0).Encode(buf);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, XfsAbi.IocInumbers, p) != 0) return Libc.LastErrno;
        BulkIreq.TryDecode(buf, out var hdr);
        count = BulkRecords.DecodeInumbers(buf.AsSpan(XfsScanAbi.BulkIreqSize), hdr.OCount, into);
        cursor = hdr.Ino;
        return 0;
    }

    /// <summary>
    /// XFS_IOC_BULKSTAT of up to <paramref name="into"/>.Length inodes starting at <paramref name="startIno"/>
    /// (inclusive). The kernel stops with an errno (EUCLEAN, EFSCORRUPTED…) at the first inode it cannot read;
    /// records already filled are then lost, so callers retry inode by inode.
    /// </summary>
    public static int Bulkstat(SafeFd fd, ulong startIno, Span<BulkstatRecord> into, out int count, out ulong next)
    {
        count = 0; next = startIno;
        int size = XfsScanAbi.BulkIreqSize + into.Length * XfsScanAbi.BulkstatSize;
        var buf = new byte[size];
        new BulkIreq(startIno, 0, (uint)into.Length, 0, 0).Encode(buf);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, XfsAbi.IocBulkstat, p) != 0) return Libc.LastErrno;
        BulkIreq.TryDecode(buf, out var hdr);
        count = BulkRecords.DecodeBulkstat(buf.AsSpan(XfsScanAbi.BulkIreqSize), hdr.OCount, into);
        next = hdr.Ino;
        return 0;
    }
}
