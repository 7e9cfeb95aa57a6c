using System.Buffers.Binary;
using System.Text;
using FsHealer.Btrfs;

namespace FsHealer.Core.Tests.Btrfs;

public sealed class BtrfsDecodeTests
{
    private static void W64(byte[] b, int off, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(off), v);
    private static ulong R64(byte[] b, int off) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(off));

    private static uint Ioc(uint dir, uint nr, uint size) => (dir << 30) | (size << 16) | ((uint)BtrfsAbi.IoctlMagic << 8) | nr;

    [Fact]
    public void RequestCodes_MatchIocEncodingOfStructSizes()
    {
        const uint RW = 3, R = 2, None = 0;
        Assert.Equal(BtrfsAbi.IocScrub, Ioc(RW, 27, BtrfsAbi.ScrubArgsSize));
        Assert.Equal(0xC400941Bu, Ioc(RW, 27, 1024));
        Assert.Equal(BtrfsAbi.IocScrubCancel, Ioc(None, 28, 0));
        Assert.Equal(BtrfsAbi.IocScrubProgress, Ioc(RW, 29, BtrfsAbi.ScrubArgsSize));
        Assert.Equal(BtrfsAbi.IocDevInfo, Ioc(RW, 30, BtrfsAbi.DevInfoArgsSize));
        Assert.Equal(0xD000941Eu, Ioc(RW, 30, 4096));
        Assert.Equal(BtrfsAbi.IocFsInfo, Ioc(R, 31, BtrfsAbi.FsInfoArgsSize));
        Assert.Equal(BtrfsAbi.IocGetDevStats, Ioc(RW, 52, BtrfsAbi.GetDevStatsSize));
        Assert.Equal(0xC4089434u, Ioc(RW, 52, 1032));
        Assert.Equal(BtrfsAbi.IocInoPaths, Ioc(RW, 35, BtrfsAbi.InoPathArgsSize));
        Assert.Equal(BtrfsAbi.IocLogicalIno, Ioc(RW, 36, BtrfsAbi.LogicalInoArgsSize));
        Assert.Equal(BtrfsAbi.IocLogicalInoV2, Ioc(RW, 59, BtrfsAbi.LogicalInoArgsSize));
        Assert.Equal(BtrfsAbi.IocInoLookup, Ioc(RW, 18, BtrfsAbi.InoLookupArgsSize));
        // Layout facts from include/uapi/linux/btrfs.h.
        Assert.Equal(32 + 120 + 872, BtrfsAbi.ScrubArgsSize);
        Assert.Equal(24 + 40 + 968, BtrfsAbi.GetDevStatsSize);
        Assert.Equal(4096 - 1024, BtrfsAbi.DevInfoOffPath);
    }

    [Fact]
    public void FsInfo_DecodesEveryFieldAtItsOffset()
    {
        var b = new byte[1024];
        W64(b, 0, 3); W64(b, 8, 2);
        var fsid = Guid.Parse("2e5a8ab0-4828-4e67-bbb5-41da6f3bbf31");
        fsid.TryWriteBytes(b.AsSpan(16), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(32), 16384);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(36), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(40), 4096);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(44), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(46), 8);
        W64(b, 48, 7); W64(b, 56, 42);
        Assert.True(BtrfsDecode.TryDecodeFsInfo(b, out var fi, out var err), err);
        Assert.Equal(3UL, fi!.MaxId);
        Assert.Equal(2UL, fi.NumDevices);
        Assert.Equal("2e5a8ab0-4828-4e67-bbb5-41da6f3bbf31", fi.FsidText);
        Assert.Equal(16384u, fi.NodeSize);
        Assert.Equal(4096u, fi.SectorSize);
        Assert.Equal("xxhash64", BtrfsAbi.CsumTypeName(fi.CsumType));
        Assert.Equal((ushort)8, fi.CsumSize);
        Assert.Equal(7UL, fi.Flags);
        Assert.Equal(42UL, fi.Generation);
        Assert.False(BtrfsDecode.TryDecodeFsInfo(b.AsSpan(0, 1023), out _, out err));
        Assert.Contains("btrfs_ioctl_fs_info_args", err);

        var req = new byte[1024];
        BtrfsDecode.EncodeFsInfoRequest(req);
        Assert.Equal(7UL, R64(req, 48));
    }

    [Fact]
    public void DevInfo_DecodesPathAt3072()
    {
        var b = new byte[4096];
        W64(b, 0, 2);
        W64(b, 24, 1 << 20); W64(b, 32, 300 << 20);
        Encoding.UTF8.GetBytes("/dev/loop5").CopyTo(b, 3072);
        Assert.True(BtrfsDecode.TryDecodeDevInfo(b, out var d, out _));
        Assert.Equal(2UL, d!.Devid);
        Assert.Equal(1UL << 20, d.BytesUsed);
        Assert.Equal(300UL << 20, d.TotalBytes);
        Assert.Equal("/dev/loop5", d.Path);
        // A path that fills the whole field without a NUL is still bounded by the field.
        b.AsSpan(3072).Fill((byte)'x');
        Assert.True(BtrfsDecode.TryDecodeDevInfo(b, out d, out _));
        Assert.Equal(1024, d!.Path.Length);
        Assert.False(BtrfsDecode.TryDecodeDevInfo(new byte[4095], out _, out _));
        var req = new byte[4096];
        BtrfsDecode.EncodeDevInfoRequest(req, 9);
        Assert.Equal(9UL, R64(req, 0));
    }

    [Fact]
    public void DevStats_RequestAndDecode()
    {
        var b = new byte[1032];
        BtrfsDecode.EncodeDevStatsRequest(b, 4, reset: true);
        Assert.Equal(4UL, R64(b, 0));
        Assert.Equal(5UL, R64(b, 8));
        Assert.Equal(1UL, R64(b, 16));
        for (int i = 0; i < 5; i++) W64(b, 24 + 8 * i, (ulong)(10 + i));
        Assert.True(BtrfsDecode.TryDecodeDevStats(b, out ulong devid, out var c, out _));
        Assert.Equal(4UL, devid);
        Assert.Equal(new DevStatCounters(10, 11, 12, 13, 14), c);
        Assert.Equal(13UL, c[DevStatKind.CorruptionErrs]);
        Assert.Equal("write_io_errs=10 read_io_errs=11 flush_io_errs=12 corruption_errs=13 generation_errs=14", c.ToString());
        // An older kernel filling fewer items: the rest read as zero.
        W64(b, 8, 2);
        Assert.True(BtrfsDecode.TryDecodeDevStats(b, out _, out c, out _));
        Assert.Equal(new DevStatCounters(10, 11, 0, 0, 0), c);
        Assert.False(BtrfsDecode.TryDecodeDevStats(new byte[1031], out _, out _, out _));
    }

    [Fact]
    public void ScrubArgs_EncodeAndDecodeProgressAtAbsoluteOffsets()
    {
        var b = new byte[1024];
        BtrfsDecode.EncodeScrubArgs(b, 2, 0, ulong.MaxValue, readOnly: true);
        Assert.Equal(2UL, R64(b, 0));
        Assert.Equal(0UL, R64(b, 8));
        Assert.Equal(ulong.MaxValue, R64(b, 16));
        Assert.Equal(1UL, R64(b, 24));
        // Each progress u64 at 32 + 8*i holds i+1.
        for (int i = 0; i < 15; i++) W64(b, 32 + 8 * i, (ulong)(i + 1));
        Assert.True(BtrfsDecode.TryDecodeScrubArgs(b, out ulong devid, out var p, out _));
        Assert.Equal(2UL, devid);
        Assert.Equal(1UL, p!.DataExtentsScrubbed);
        Assert.Equal(3UL, p.DataBytesScrubbed);
        Assert.Equal(5UL, p.ReadErrors);      // @64
        Assert.Equal(6UL, p.CsumErrors);      // @72
        Assert.Equal(7UL, p.VerifyErrors);    // @80
        Assert.Equal(10UL, p.SuperErrors);    // @104
        Assert.Equal(12UL, p.UncorrectableErrors); // @120
        Assert.Equal(13UL, p.CorrectedErrors);     // @128
        Assert.Equal(14UL, p.LastPhysical);        // @136
        Assert.Equal(15UL, p.UnverifiedErrors);    // @144
        Assert.False(BtrfsDecode.TryDecodeScrubArgs(new byte[1000], out _, out _, out _));
        Assert.False(BtrfsDecode.TryDecodeScrubProgress(new byte[119], out _, out _));
    }

    [Fact]
    public void LogicalIno_ContainerTriples()
    {
        var c = new byte[16 + 6 * 8];
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 6);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(12), 3);
        W64(c, 16, 257); W64(c, 24, 8192); W64(c, 32, 5);
        W64(c, 40, 300); W64(c, 48, 0); W64(c, 56, 256);
        Assert.True(BtrfsDecode.TryDecodeLogicalIno(c, out var r, out _));
        Assert.Equal([new LogicalInoRef(257, 8192, 5), new LogicalInoRef(300, 0, 256)], r!.Refs);
        Assert.Equal(3u, r.ElemMissed);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 9);
        Assert.False(BtrfsDecode.TryDecodeLogicalIno(c, out _, out var err));
        Assert.Contains("elem_cnt 9", err);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 4);
        Assert.False(BtrfsDecode.TryDecodeLogicalIno(c, out _, out err));
        Assert.Contains("multiple of 3", err);

        var args = new byte[56];
        BtrfsDecode.EncodeLogicalInoArgs(args, 13631488, 65536, 0xdead0000, BtrfsAbi.LogicalInoFlagIgnoreOffset);
        Assert.Equal(13631488UL, R64(args, 0));
        Assert.Equal(65536UL, R64(args, 8));
        Assert.Equal(0UL, R64(args, 16) | R64(args, 24) | R64(args, 32));
        Assert.Equal(1UL, R64(args, 40));
        Assert.Equal(0xdead0000UL, R64(args, 48));
    }

    [Fact]
    public void InoPaths_OffsetsRelativeToValArray()
    {
        // Two paths: val[0], val[1] then strings.
        var c = new byte[16 + 16 + 32];
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 2);
        W64(c, 16, 16); W64(c, 24, 22);
        Encoding.UTF8.GetBytes("a/b.x\0dir/ü\0").CopyTo(c, 32);
        Assert.True(BtrfsDecode.TryDecodeInoPaths(c, out var r, out var err), err);
        Assert.Equal(["a/b.x", "dir/ü"], r!.Paths);
        W64(c, 24, 4); // points into the offset table
        Assert.False(BtrfsDecode.TryDecodeInoPaths(c, out _, out err));
        Assert.Contains("outside", err);
        W64(c, 24, 22);
        c.AsSpan(38).Fill((byte)'z');
        Assert.False(BtrfsDecode.TryDecodeInoPaths(c, out _, out err));
        Assert.Contains("NUL", err);
        var args = new byte[56];
        BtrfsDecode.EncodeInoPathArgs(args, 257, 4096, 0x1000);
        Assert.Equal(257UL, R64(args, 0));
        Assert.Equal(4096UL, R64(args, 8));
        Assert.Equal(0x1000UL, R64(args, 48));
    }

    [Fact]
    public void ErrorStats_SysfsText()
    {
        Assert.True(BtrfsDecode.TryParseErrorStats("write_errs 1\nread_errs 2\nflush_errs 3\ncorruption_errs 4\ngeneration_errs 5\n", out var c, out _));
        Assert.Equal(new DevStatCounters(1, 2, 3, 4, 5), c);
        Assert.True(BtrfsDecode.TryParseErrorStats("read_errs 2\nwrite_errs 1\nflush_errs 0\ncorruption_errs 0\ngeneration_errs 0\nfuture_errs 9\n", out c, out _));
        Assert.Equal(2UL, c.ReadErrs);
        Assert.False(BtrfsDecode.TryParseErrorStats("write_errs 1\n", out _, out var err));
        Assert.Contains("missing read_errs", err);
        Assert.False(BtrfsDecode.TryParseErrorStats("write_errs -1\nread_errs 0\nflush_errs 0\ncorruption_errs 0\ngeneration_errs 0", out _, out err));
        Assert.Contains("bad value", err);
        Assert.False(BtrfsDecode.TryParseErrorStats(null, out _, out _));
        Assert.False(BtrfsDecode.TryParseErrorStats("garbage", out _, out _));
    }

    [Fact]
    public void KmsgLines_ScrubErrorsParsed_FixedOnesExcluded()
    {
        string[] lines =
        [
            "4,901,123456,-;BTRFS warning (device loop4): scrub: checksum error at logical 13631488 on dev /dev/loop4, physical 13631488 root 5 inode 257 offset 0 length 4096 links 1 (path: victim)",
            "3,902,123457,-;BTRFS error (device loop4): unable to fixup (regular) error at logical 13631488 on dev /dev/loop4 physical 13631488",
            "3,903,123458,-;BTRFS error (device loop4): fixed up error at logical 88211456 on dev /dev/loop4 physical 67239936",
            "4,904,123459,-;BTRFS warning (device loop4): checksum error at logical 88211456 on dev /dev/loop4, physical 67239936",
            "4,905,123460,-;BTRFS warning (device loop9): checksum error at logical 999 on dev /dev/loop9, physical 999",
            "6,906,1,-;EXT4-fs (loop3): error at logical 5",
            "6,907,1,-;BTRFS info (device loop4): scrub: started on devid 1",
        ];
        Assert.True(DamageResolver.ParseKmsgLine(lines[0], out var e));
        Assert.Equal(new KmsgScrubError(13631488, "/dev/loop4", false), e);
        Assert.True(DamageResolver.ParseKmsgLine(lines[2], out e));
        Assert.True(e.Fixed);
        Assert.False(DamageResolver.ParseKmsgLine(lines[5], out _));
        Assert.False(DamageResolver.ParseKmsgLine(lines[6], out _));
        Assert.Equal([13631488UL], DamageResolver.UncorrectedLogicals(lines, ["/dev/loop4"]));
        Assert.Equal([13631488UL, 999UL], DamageResolver.UncorrectedLogicals(lines, []));
    }

    [Fact]
    public void ByteSizes()
    {
        Assert.True(ByteSize.TryParse("4096", out ulong b, out _)); Assert.Equal(4096UL, b);
        Assert.True(ByteSize.TryParse("10M", out b, out _)); Assert.Equal(10UL << 20, b);
        Assert.True(ByteSize.TryParse("1.5GiB/s", out b, out _)); Assert.Equal(3UL << 29, b);
        Assert.False(ByteSize.TryParse("fast", out _, out var err)); Assert.Contains("invalid size", err);
        Assert.False(ByteSize.TryParse("-5", out _, out _));
        Assert.False(ByteSize.TryParse("99999999999999999999T", out _, out _));
    }

    /// <summary>10,000 seeded random mutations of valid buffers through every decoder: no exception escapes.</summary>
    [Fact]
    public void Decoders_SurviveRandomMutations()
    {
        var rng = new Random(20261121);
        var seeds = new List<byte[]>();
        var fs = new byte[1024]; BtrfsDecode.EncodeFsInfoRequest(fs); seeds.Add(fs);
        var dev = new byte[4096]; Encoding.UTF8.GetBytes("/dev/loop0").CopyTo(dev, 3072); seeds.Add(dev);
        var st = new byte[1032]; BtrfsDecode.EncodeDevStatsRequest(st, 1); seeds.Add(st);
        var sc = new byte[1024]; BtrfsDecode.EncodeScrubArgs(sc, 1); seeds.Add(sc);
        var li = new byte[64]; BinaryPrimitives.WriteUInt32LittleEndian(li.AsSpan(8), 3); seeds.Add(li);
        var ip = new byte[48]; BinaryPrimitives.WriteUInt32LittleEndian(ip.AsSpan(8), 1); W64(ip, 16, 8); Encoding.UTF8.GetBytes("x\0").CopyTo(ip, 32); seeds.Add(ip);
        int decodedOk = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var src = seeds[rng.Next(seeds.Count)];
            int len = rng.Next(4) == 0 ? rng.Next(0, src.Length + 64) : src.Length;
            var b = new byte[len];
            src.AsSpan(0, Math.Min(len, src.Length)).CopyTo(b);
            int flips = rng.Next(1, 16);
            for (int f = 0; f < flips && len > 0; f++)
            {
                int pos = rng.Next(len);
                b[pos] = rng.Next(3) switch { 0 => (byte)rng.Next(256), 1 => 0xFF, _ => 0 };
            }
            if (BtrfsDecode.TryDecodeFsInfo(b, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeDevInfo(b, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeDevStats(b, out _, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeScrubArgs(b, out _, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeScrubProgress(b, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeLogicalIno(b, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeInoPaths(b, out _, out _)) decodedOk++;
            if (BtrfsDecode.TryDecodeInoLookupTreeId(b, out _, out _)) decodedOk++;
            string text = Encoding.Latin1.GetString(b, 0, Math.Min(b.Length, 200));
            BtrfsDecode.TryParseErrorStats(text, out _, out _);
            DamageResolver.ParseKmsgLine("BTRFS x at logical " + text, out _);
            _ = DevStatsState.FromJson(text, out _);
        }
        Assert.True(decodedOk > 0);
    }
}
