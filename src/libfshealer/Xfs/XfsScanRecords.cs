using System.Buffers.Binary;
using System.Numerics;

namespace FsHealer.Xfs;

/// <summary>Sizes, offsets and flags of the pre-7.0 XFS health query structs (struct xfs_fsop_geom, xfs_ag_geometry, xfs_rtgroup_geometry, xfs_bulk_ireq,
/// xfs_inumbers and xfs_bulkstat in fs/xfs/libxfs/xfs_fs.h; x86_64).</summary>
public static class XfsScanAbi
{
    public const int AgGeometrySize = 128;
    public const int RtGroupGeometrySize = 128;
    public const int BulkIreqSize = 64;
    public const int BulkstatSize = 192;
    public const int InumbersSize = 24;
    /// <summary>Inodes per inode chunk (XFS_INODES_PER_CHUNK): one INUMBERS record describes 64 inodes.</summary>
    public const int InodesPerChunk = 64;

    public const uint BulkIreqAgno = 1, BulkIreqSpecial = 2, BulkIreqNrext64 = 4, BulkIreqMetadir = 8;

    // struct xfs_bulkstat offsets
    public const int BsOffsetIno = 0, BsOffsetGen = 64, BsOffsetVersion = 124, BsOffsetSick = 128,
        BsOffsetChecked = 130, BsOffsetMode = 132;
}

/// <summary>struct xfs_ag_geometry (128 bytes): the health fields of one allocation group.</summary>
public readonly record struct AgGeometry(uint Number, uint Length, uint FreeBlocks, uint ICount, uint IFree, uint Sick, uint Checked, uint Flags)
{
    public static bool TryDecode(ReadOnlySpan<byte> b, out AgGeometry g)
    {
        if (b.Length < XfsScanAbi.AgGeometrySize) { g = default; return false; }
        g = new AgGeometry(
            BinaryPrimitives.ReadUInt32LittleEndian(b),
            BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[24..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[28..]));
        return true;
    }

    /// <summary>The request: ag_number set, every other field zero.</summary>
    public static void EncodeRequest(Span<byte> b, uint agno)
    {
        if (b.Length < XfsScanAbi.AgGeometrySize) throw new ArgumentException($"xfs_ag_geometry is {XfsScanAbi.AgGeometrySize} bytes, got {b.Length}", nameof(b));
        b[..XfsScanAbi.AgGeometrySize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, agno);
    }

    public void Encode(Span<byte> b)
    {
        EncodeRequest(b, Number);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], FreeBlocks);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], ICount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], IFree);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], Sick);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], Checked);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], Flags);
    }
}

/// <summary>struct xfs_rtgroup_geometry (128 bytes, 6.13+): rg_number @0, rg_length @4, rg_sick @8, rg_checked @12, rg_flags @16.</summary>
public readonly record struct RtGroupGeometry(uint Number, uint Length, uint Sick, uint Checked, uint Flags)
{
    public static bool TryDecode(ReadOnlySpan<byte> b, out RtGroupGeometry g)
    {
        if (b.Length < XfsScanAbi.RtGroupGeometrySize) { g = default; return false; }
        g = new RtGroupGeometry(
            BinaryPrimitives.ReadUInt32LittleEndian(b),
            BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[16..]));
        return true;
    }

    public static void EncodeRequest(Span<byte> b, uint rgno)
    {
        if (b.Length < XfsScanAbi.RtGroupGeometrySize) throw new ArgumentException($"xfs_rtgroup_geometry is {XfsScanAbi.RtGroupGeometrySize} bytes, got {b.Length}", nameof(b));
        b[..XfsScanAbi.RtGroupGeometrySize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, rgno);
    }
}

/// <summary>struct xfs_bulk_ireq (64 bytes): the header of BULKSTAT and INUMBERS requests.</summary>
public readonly record struct BulkIreq(ulong Ino, uint Flags, uint ICount, uint OCount, uint Agno)
{
    public static bool TryDecode(ReadOnlySpan<byte> b, out BulkIreq r)
    {
        if (b.Length < XfsScanAbi.BulkIreqSize) { r = default; return false; }
        r = new BulkIreq(
            BinaryPrimitives.ReadUInt64LittleEndian(b),
            BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[20..]));
        return true;
    }

    /// <summary>Writes the header; the 40 reserved bytes are zeroed (the kernel rejects anything else).</summary>
    public void Encode(Span<byte> b)
    {
        if (b.Length < XfsScanAbi.BulkIreqSize) throw new ArgumentException($"xfs_bulk_ireq is {XfsScanAbi.BulkIreqSize} bytes, got {b.Length}", nameof(b));
        b[..XfsScanAbi.BulkIreqSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b, Ino);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], ICount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], OCount);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], Agno);
    }
}

/// <summary>The fields of struct xfs_bulkstat (192 bytes, v5) the health scan needs.</summary>
public readonly record struct BulkstatRecord(ulong Ino, uint Gen, ushort Version, ushort Sick, ushort Checked, ushort Mode)
{
    public static bool TryDecode(ReadOnlySpan<byte> b, out BulkstatRecord r)
    {
        if (b.Length < XfsScanAbi.BulkstatSize) { r = default; return false; }
        r = new BulkstatRecord(
            BinaryPrimitives.ReadUInt64LittleEndian(b[XfsScanAbi.BsOffsetIno..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[XfsScanAbi.BsOffsetGen..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[XfsScanAbi.BsOffsetVersion..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[XfsScanAbi.BsOffsetSick..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[XfsScanAbi.BsOffsetChecked..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[XfsScanAbi.BsOffsetMode..]));
        return true;
    }

    /// <summary>Writes a record with only these fields set (simulator and tests).</summary>
    public void Encode(Span<byte> b)
    {
        if (b.Length < XfsScanAbi.BulkstatSize) throw new ArgumentException($"xfs_bulkstat is {XfsScanAbi.BulkstatSize} bytes, got {b.Length}", nameof(b));
        b[..XfsScanAbi.BulkstatSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b[XfsScanAbi.BsOffsetIno..], Ino);
        BinaryPrimitives.WriteUInt32LittleEndian(b[XfsScanAbi.BsOffsetGen..], Gen);
        BinaryPrimitives.WriteUInt16LittleEndian(b[XfsScanAbi.BsOffsetVersion..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b[XfsScanAbi.BsOffsetSick..], Sick);
        BinaryPrimitives.WriteUInt16LittleEndian(b[XfsScanAbi.BsOffsetChecked..], Checked);
        BinaryPrimitives.WriteUInt16LittleEndian(b[XfsScanAbi.BsOffsetMode..], Mode);
    }
}

/// <summary>struct xfs_inumbers (24 bytes): one inode chunk — start inode, allocation bitmap (bit i = startino+i), count.</summary>
public readonly record struct InumbersRecord(ulong StartIno, ulong AllocMask, byte AllocCount, byte Version)
{
    public static bool TryDecode(ReadOnlySpan<byte> b, out InumbersRecord r)
    {
        if (b.Length < XfsScanAbi.InumbersSize) { r = default; return false; }
        r = new InumbersRecord(BinaryPrimitives.ReadUInt64LittleEndian(b), BinaryPrimitives.ReadUInt64LittleEndian(b[8..]), b[16], b[17]);
        return true;
    }

    public void Encode(Span<byte> b)
    {
        if (b.Length < XfsScanAbi.InumbersSize) throw new ArgumentException($"xfs_inumbers is {XfsScanAbi.InumbersSize} bytes, got {b.Length}", nameof(b));
        b[..XfsScanAbi.InumbersSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(b, StartIno);
        BinaryPrimitives.WriteUInt64LittleEndian(b[8..], AllocMask);
        b[16] = AllocCount;
        b[17] = Version;
    }

    /// <summary>The allocated inode numbers of this chunk, ascending.</summary>
    public int AllocatedInodes(Span<ulong> into)
    {
        int n = 0;
        for (int i = 0; i < XfsScanAbi.InodesPerChunk && n < into.Length; i++)
            if ((AllocMask & (1UL << i)) != 0) into[n++] = StartIno + (ulong)i;
        return n;
    }

    /// <summary>One past the last inode of the chunk (a resume cursor that cannot go backwards or overflow).</summary>
    public ulong EndIno => StartIno > ulong.MaxValue - XfsScanAbi.InodesPerChunk ? ulong.MaxValue : StartIno + XfsScanAbi.InodesPerChunk;
}

/// <summary>Decodes the record arrays that follow an xfs_bulk_ireq header, bounded by ocount and the buffer.</summary>
public static class BulkRecords
{
    /// <summary>Number of whole records present: min(ocount, records that fit in the payload).</summary>
    public static int Count(ReadOnlySpan<byte> payload, uint ocount, int recordSize) =>
        (int)Math.Min(ocount, (uint)(payload.Length / recordSize));

    public static int DecodeInumbers(ReadOnlySpan<byte> payload, uint ocount, Span<InumbersRecord> into)
    {
        int n = Math.Min(Count(payload, ocount, XfsScanAbi.InumbersSize), into.Length);
        for (int i = 0; i < n; i++) InumbersRecord.TryDecode(payload.Slice(i * XfsScanAbi.InumbersSize), out into[i]);
        return n;
    }

    public static int DecodeBulkstat(ReadOnlySpan<byte> payload, uint ocount, Span<BulkstatRecord> into)
    {
        int n = Math.Min(Count(payload, ocount, XfsScanAbi.BulkstatSize), into.Length);
        for (int i = 0; i < n; i++) BulkstatRecord.TryDecode(payload.Slice(i * XfsScanAbi.BulkstatSize), out into[i]);
        return n;
    }
}

/// <summary>
/// How XFS numbers inodes: ino = (agno &lt;&lt; (agblklog + inopblog)) | agino, where agblklog = ceil(log2(agblocks))
/// and inopblog = log2(blocksize / inodesize). Decoded from the 256-byte xfs_fsop_geom.
/// </summary>
public readonly record struct XfsInodeLayout(uint BlockSize, uint AgBlocks, uint AgCount, uint InodeSize)
{
    public static bool TryDecode(ReadOnlySpan<byte> geom, out XfsInodeLayout l)
    {
        l = default;
        if (geom.Length < 28) return false;
        l = new XfsInodeLayout(BinaryPrimitives.ReadUInt32LittleEndian(geom), BinaryPrimitives.ReadUInt32LittleEndian(geom[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(geom[12..]), BinaryPrimitives.ReadUInt32LittleEndian(geom[24..]));
        return l.IsValid;
    }

    public bool IsValid => BlockSize >= 512 && InodeSize >= 256 && InodeSize <= BlockSize && AgBlocks >= 2
        && BitOperations.IsPow2(BlockSize) && BitOperations.IsPow2(InodeSize) && AgShift < 64;

    private int AgBlkLog => 32 - BitOperations.LeadingZeroCount(AgBlocks - 1);
    private int InopbLog => BitOperations.Log2(BlockSize / InodeSize);
    /// <summary>Bits of an inode number below the AG number.</summary>
    public int AgShift => AgBlkLog + InopbLog;

    public uint AgOf(ulong ino) => AgShift >= 64 ? 0 : (uint)Math.Min(ino >> AgShift, uint.MaxValue);

    /// <summary>The first inode number of the AG after the one holding <paramref name="ino"/>; null past the last AG.</summary>
    public ulong? NextAgStart(ulong ino)
    {
        ulong next = (ulong)AgOf(ino) + 1;
        if (next >= AgCount) return null;
        return next << AgShift;
    }
}
