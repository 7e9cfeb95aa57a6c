using System.Buffers.Binary;
using System.Text;
using FsHealer.Text;
using FsHealer.Mounts;
using static FsHealer.Mounts.StatmountAbi;

namespace FsHealer.Core.Tests.Mounts;

/// <summary>Builds struct statmount buffers by hand.</summary>
internal sealed class StatmountBuilder
{
    private readonly byte[] _fixed = new byte[FixedSize];
    private readonly MemoryStream _str = new();
    public ulong Mask;

    public StatmountBuilder U32(int off, uint v) { BinaryPrimitives.WriteUInt32LittleEndian(_fixed.AsSpan(off), v); return this; }
    public StatmountBuilder U64(int off, ulong v) { BinaryPrimitives.WriteUInt64LittleEndian(_fixed.AsSpan(off), v); return this; }
    public StatmountBuilder Str(int off, ulong bit, string s)
    {
        U32(off, (uint)_str.Length);
        var b = PathBytes.Encode(s);
        _str.Write(b); _str.WriteByte(0);
        Mask |= bit;
        return this;
    }
    public StatmountBuilder Arr(int numOff, int off, ulong bit, params string[] items)
    {
        U32(numOff, (uint)items.Length);
        U32(off, (uint)_str.Length);
        foreach (var s in items) { _str.Write(PathBytes.Encode(s)); _str.WriteByte(0); }
        Mask |= bit;
        return this;
    }
    public byte[] Build(uint? sizeOverride = null)
    {
        U64(OffMask, Mask);
        var all = new byte[FixedSize + _str.Length];
        U32(OffSize, sizeOverride ?? (uint)all.Length);
        _fixed.CopyTo(all, 0);
        _str.ToArray().CopyTo(all, FixedSize);
        return all;
    }

    public static StatmountBuilder Xfs()
    {
        var b = new StatmountBuilder();
        b.Mask |= SB_BASIC | MNT_BASIC | PROPAGATE_FROM | MNT_NS_ID | SUPPORTED_MASK;
        b.U32(OffSbDevMajor, 7).U32(OffSbDevMinor, 1).U64(OffSbMagic, 0x58465342).U32(OffSbFlags, 0x2000001)
         .U64(OffMntId, 2147483725).U64(OffMntParentId, 2147483650).U32(OffMntIdOld, 43).U32(OffMntParentIdOld, 1)
         .U64(OffMntAttr, 0x2 | 0x4).U64(OffMntPropagation, 1UL << 18).U64(OffMntPeerGroup, 5).U64(OffMntMaster, 6)
         .U64(OffPropagateFrom, 7).U64(OffMntNsId, 4).U64(OffSupportedMask, 0x7fff);
        b.Str(OffFsType, FS_TYPE, "xfs").Str(OffMntRoot, MNT_ROOT, "/").Str(OffMntPoint, MNT_POINT, "/mnt/my xfs")
         .Str(OffMntOpts, MNT_OPTS, "inode64,logbufs=8").Str(OffFsSubtype, FS_SUBTYPE, "sub").Str(OffSbSource, SB_SOURCE, "/dev/loop1")
         .Arr(OffOptNum, OffOptArray, OPT_ARRAY, "inode64", "logbufs=8")
         .Arr(OffOptSecNum, OffOptSecArray, OPT_SEC_ARRAY, "context=x")
         .Arr(OffUidmapNum, OffUidmap, MNT_UIDMAP, "0 1000 1", "1 2000 5")
         .Arr(OffGidmapNum, OffGidmap, MNT_GIDMAP, "0 1000 1");
        return b;
    }
}

public class StatmountDecoderTests
{
    [Fact]
    public void DecodesEveryField()
    {
        var d = new List<string>();
        var s = StatmountDecoder.Decode(StatmountBuilder.Xfs().Build(), d);
        Assert.Empty(d);
        Assert.NotNull(s);
        Assert.Equal(0x7fffUL, s.Mask);
        Assert.Equal(7u, s.SbDevMajor); Assert.Equal(1u, s.SbDevMinor);
        Assert.Equal(0x58465342UL, s.SbMagic); Assert.Equal(0x2000001u, s.SbFlags);
        Assert.Equal("xfs", s.FsType);
        Assert.Equal(2147483725UL, s.MntId); Assert.Equal(2147483650UL, s.MntParentId);
        Assert.Equal(43u, s.MntIdOld); Assert.Equal(1u, s.MntParentIdOld);
        Assert.Equal(6UL, s.MntAttr); Assert.Equal(1UL << 18, s.MntPropagation);
        Assert.Equal(5UL, s.MntPeerGroup); Assert.Equal(6UL, s.MntMaster); Assert.Equal(7UL, s.PropagateFrom);
        Assert.Equal("/", s.MntRoot); Assert.Equal("/mnt/my xfs", s.MntPoint);
        Assert.Equal(4UL, s.MntNsId);
        Assert.Equal("inode64,logbufs=8", s.MntOpts);
        Assert.Equal("sub", s.FsSubtype); Assert.Equal("/dev/loop1", s.SbSource);
        Assert.Equal(["inode64", "logbufs=8"], s.OptArray!);
        Assert.Equal(["context=x"], s.OptSecArray!);
        Assert.Equal(0x7fffUL, s.SupportedMask);
        Assert.Equal(["0 1000 1", "1 2000 5"], s.UidMap!);
        Assert.Equal(["0 1000 1"], s.GidMap!);

        var e = s.ToMountEntry();
        Assert.Equal(2147483725UL, e.Key);
        Assert.Equal("7:1", e.Dev);
        Assert.True(e.IsRootMount);
        Assert.True(e.ReadOnly);
        Assert.True(e.SuperblockReadOnly);
        Assert.Equal("rw,nosuid,nodev,relatime", e.MountOptions);
    }

    [Fact]
    public void FieldsWithoutMaskBitAreNotTrusted()
    {
        var b = StatmountBuilder.Xfs();
        var buf = b.Build();
        // keep only FS_TYPE|MNT_POINT; the fixed fields still hold data but must be ignored
        BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(OffMask), FS_TYPE | MNT_POINT);
        var d = new List<string>();
        var s = StatmountDecoder.Decode(buf, d)!;
        Assert.Empty(d);
        Assert.Null(s.SbDevMajor); Assert.Null(s.MntId); Assert.Null(s.MntRoot); Assert.Null(s.SbSource);
        Assert.Null(s.OptArray); Assert.Null(s.SupportedMask); Assert.Null(s.PropagateFrom);
        Assert.Equal("xfs", s.FsType); Assert.Equal("/mnt/my xfs", s.MntPoint);
        var e = s.ToMountEntry(99);
        Assert.Equal(99UL, e.UniqueId);
        Assert.False(e.HasDev);
        Assert.False(e.IsRootMount);
    }

    [Fact]
    public void OffsetOutOfRangeGivesDiagnosticAndDropsOnlyThatField()
    {
        var buf = StatmountBuilder.Xfs().Build();
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(OffMntPoint), 100000);
        var d = new List<string>();
        var s = StatmountDecoder.Decode(buf, d)!;
        Assert.Null(s.MntPoint);
        Assert.Equal("xfs", s.FsType);
        Assert.Contains(d, x => x.Contains("mnt_point offset 100000"));
    }

    [Fact]
    public void SizeFieldLimitsTheStringArea()
    {
        var b = StatmountBuilder.Xfs();
        var full = b.Build();
        // the size says the strings end right after "xfs\0/\0": later strings are out of range
        var buf = StatmountBuilder.Xfs().Build((uint)(FixedSize + 6));
        var d = new List<string>();
        var s = StatmountDecoder.Decode(buf, d)!;
        Assert.Equal("xfs", s.FsType);
        Assert.Equal("/", s.MntRoot);
        Assert.Null(s.MntPoint);
        Assert.Null(s.SbSource);
        Assert.NotEmpty(d);
        Assert.True(full.Length > buf.Length - 1);
    }

    [Fact]
    public void SizeBeyondBufferAndMissingNul()
    {
        var buf = StatmountBuilder.Xfs().Build(1 << 20);
        var d = new List<string>();
        Assert.NotNull(StatmountDecoder.Decode(buf, d));
        Assert.Contains(d, x => x.Contains("exceeds"));

        // cut the buffer inside the last string: no terminating NUL
        var cut = StatmountBuilder.Xfs().Build();
        var trunc = cut.AsSpan(0, cut.Length - 2).ToArray();
        d.Clear();
        var s = StatmountDecoder.Decode(trunc, d)!;
        Assert.Contains(d, x => x.Contains("mnt_gidmap") || x.Contains("runs past"));
        Assert.Equal("xfs", s.FsType);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(511)]
    public void TruncatedFixedPart(int len)
    {
        var d = new List<string>();
        Assert.Null(StatmountDecoder.Decode(new byte[len], d));
        Assert.Single(d);
    }

    [Fact]
    public void HugeArrayCountIsRejected()
    {
        var buf = StatmountBuilder.Xfs().Build();
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(OffOptNum), uint.MaxValue);
        var d = new List<string>();
        var s = StatmountDecoder.Decode(buf, d)!;
        Assert.Null(s.OptArray);
        Assert.Contains(d, x => x.Contains("opt_array count"));
    }

    [Fact]
    public void TenThousandRandomMutationsNeverThrow()
    {
        var rng = new Random(12345);
        var good = StatmountBuilder.Xfs().Build();
        int decoded = 0, withDiag = 0;
        for (int i = 0; i < 10_000; i++)
        {
            byte[] buf;
            switch (rng.Next(4))
            {
                case 0: buf = good.AsSpan(0, rng.Next(good.Length + 1)).ToArray(); break; // truncation
                case 1: buf = new byte[rng.Next(2048)]; rng.NextBytes(buf); break; // pure garbage
                default:
                    buf = (byte[])good.Clone();
                    int n = rng.Next(1, 16);
                    for (int k = 0; k < n; k++)
                    {
                        // bias mutations toward the header and the offset fields
                        int pos = rng.Next(3) == 0 ? rng.Next(buf.Length) : rng.Next(Math.Min(buf.Length, 172));
                        buf[pos] = (byte)rng.Next(256);
                    }
                    break;
            }
            var d = new List<string>();
            var s = StatmountDecoder.Decode(buf, d);
            if (s is not null)
            {
                decoded++;
                _ = s.ToMountEntry();
            }
            if (d.Count > 0) withDiag++;
        }
        Assert.True(decoded > 1000, $"only {decoded} decoded");
        Assert.True(withDiag > 1000, $"only {withDiag} with diagnostics");
    }

    [Fact]
    public void MaskNamesTable()
    {
        Assert.Equal("sb_basic,mnt_point,0x10000", NamesOf(SB_BASIC | MNT_POINT | 0x10000, MaskNames));
        Assert.Equal("ro,nosuid,noatime", MountOptionsFromAttr(0x1 | 0x2 | 0x10));
    }
}
