using System.Buffers.Binary;
using FsHealer.Xfs;

namespace FsHealer.Core.Tests.XfsPoll;

public class ScanRecordTests
{
    [Fact]
    public void Sizes_MatchTheKernelAbi()
    {
        Assert.Equal(128, XfsScanAbi.AgGeometrySize);
        Assert.Equal(128, XfsScanAbi.RtGroupGeometrySize);
        Assert.Equal(64, XfsScanAbi.BulkIreqSize);
        Assert.Equal(192, XfsScanAbi.BulkstatSize);
        Assert.Equal(24, XfsScanAbi.InumbersSize);
        Assert.Equal((128, 130, 64, 132), (XfsScanAbi.BsOffsetSick, XfsScanAbi.BsOffsetChecked, XfsScanAbi.BsOffsetGen, XfsScanAbi.BsOffsetMode));
    }

    [Fact]
    public void AgGeometry_DecodesHandBuiltBuffer()
    {
        var b = new byte[128];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 32768);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), 64);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), 0x440);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), 0x1);
        Assert.True(AgGeometry.TryDecode(b, out var g));
        Assert.Equal(new AgGeometry(1, 32768, 0, 64, 0, 0x440, 0x1, 0), g);
        var round = new byte[128]; g.Encode(round);
        Assert.Equal(b, round);
        Assert.False(AgGeometry.TryDecode(b.AsSpan(0, 127), out _));
        Assert.Throws<ArgumentException>(() => AgGeometry.EncodeRequest(new byte[100], 0));
        var req = Enumerable.Repeat((byte)0xff, 128).ToArray();
        AgGeometry.EncodeRequest(req, 3);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(req));
        Assert.All(req.Skip(4), x => Assert.Equal(0, x));
    }

    [Fact]
    public void BulkIreq_RoundTrips_AndZeroesReserved()
    {
        var b = Enumerable.Repeat((byte)0xaa, 64).ToArray();
        new BulkIreq(0x1234_5678_9abc, XfsScanAbi.BulkIreqAgno, 64, 0, 2).Encode(b);
        Assert.All(b.Skip(24), x => Assert.Equal(0, x));
        Assert.Equal(0x1234_5678_9abcUL, BinaryPrimitives.ReadUInt64LittleEndian(b));
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(12)));
        Assert.True(BulkIreq.TryDecode(b, out var r));
        Assert.Equal(new BulkIreq(0x1234_5678_9abc, 1, 64, 0, 2), r);
    }

    [Fact]
    public void Bulkstat_ReadsSickAt128_CheckedAt130()
    {
        var b = new byte[192];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 262272);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(64), 0xdeadbeef);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(124), 5);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(128), 0x10);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(130), 0x30);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(132), 0x41ed);
        Assert.True(BulkstatRecord.TryDecode(b, out var r));
        Assert.Equal(new BulkstatRecord(262272, 0xdeadbeef, 5, 0x10, 0x30, 0x41ed), r);
        var round = new byte[192]; r.Encode(round);
        Assert.Equal(b, round);
        Assert.False(BulkstatRecord.TryDecode(b.AsSpan(0, 191), out _));
    }

    [Fact]
    public void Inumbers_DecodesAndListsAllocatedInodes()
    {
        var b = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(b, 128);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 0b1011UL | (1UL << 63));
        b[16] = 4; b[17] = 5;
        Assert.True(InumbersRecord.TryDecode(b, out var r));
        Assert.Equal(new InumbersRecord(128, 0b1011UL | (1UL << 63), 4, 5), r);
        Span<ulong> inos = stackalloc ulong[64];
        int n = r.AllocatedInodes(inos);
        Assert.Equal([128UL, 129, 131, 191], inos[..n].ToArray());
        Assert.Equal(192UL, r.EndIno);
        Assert.Equal(ulong.MaxValue, new InumbersRecord(ulong.MaxValue - 3, ~0UL, 64, 5).EndIno);
        Assert.Equal(2, new InumbersRecord(0, ~0UL, 64, 5).AllocatedInodes(stackalloc ulong[2]));
    }

    [Fact]
    public void BulkRecords_AreBoundedByOcountAndBuffer()
    {
        var payload = new byte[24 * 3 + 10];
        for (int i = 0; i < 3; i++) new InumbersRecord((ulong)(i * 64), 1, 1, 5).Encode(payload.AsSpan(i * 24));
        var into = new InumbersRecord[8];
        Assert.Equal(3, BulkRecords.DecodeInumbers(payload, 1000, into));   // ocount lies: buffer bounds win
        Assert.Equal(2, BulkRecords.DecodeInumbers(payload, 2, into));
        Assert.Equal(1, BulkRecords.DecodeInumbers(payload, 3, into.AsSpan(0, 1)));
        Assert.Equal(0, BulkRecords.DecodeBulkstat(new byte[191], 5, new BulkstatRecord[4]));
    }

    [Fact]
    public void InodeLayout_ComputesAgShiftLikeXfs()
    {
        // 512 MiB default mkfs: 4 AGs of 32768 4K blocks, 512-byte inodes → agblklog 15, inopblog 3
        var g = new byte[256];
        BinaryPrimitives.WriteUInt32LittleEndian(g, 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(8), 32768);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(12), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(g.AsSpan(24), 512);
        Assert.True(XfsInodeLayout.TryDecode(g, out var l));
        Assert.Equal(18, l.AgShift);
        Assert.Equal(1u, l.AgOf(262272));          // /bigdir of the test image (XfsPristine) lives in AG1
        Assert.Equal(262144UL, l.NextAgStart(576));
        Assert.Null(l.NextAgStart(3UL << 18));
        Assert.False(XfsInodeLayout.TryDecode(new byte[256], out _));
        Assert.False(XfsInodeLayout.TryDecode(new byte[10], out _));
    }

    [Fact]
    public void Decoders_Survive10000RandomMutations()
    {
        var rnd = new Random(20261121);
        var inum = new InumbersRecord[16];
        var bs = new BulkstatRecord[4];
        Span<ulong> inos = stackalloc ulong[64];
        for (int i = 0; i < 10_000; i++)
        {
            var buf = new byte[rnd.Next(0, 1200)];
            rnd.NextBytes(buf);
            AgGeometry.TryDecode(buf, out _);
            RtGroupGeometry.TryDecode(buf, out _);
            if (BulkIreq.TryDecode(buf, out var hdr))
            {
                var payload = buf.AsSpan(XfsScanAbi.BulkIreqSize);
                int n = BulkRecords.DecodeInumbers(payload, hdr.OCount, inum);
                for (int j = 0; j < n; j++) { inum[j].AllocatedInodes(inos); _ = inum[j].EndIno; }
                BulkRecords.DecodeBulkstat(payload, hdr.OCount, bs);
            }
            BulkstatRecord.TryDecode(buf, out _);
            if (XfsInodeLayout.TryDecode(buf, out var l)) { l.AgOf((ulong)rnd.NextInt64()); l.NextAgStart((ulong)rnd.NextInt64()); }
        }
    }
}
