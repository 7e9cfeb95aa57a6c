using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Xfs;

public class DecoderTests
{
    private static byte[] Raw(uint domain, uint type, ulong time, params (int off, ulong val, int size)[] fields)
    {
        var b = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(b, domain);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), type);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), time);
        foreach (var (off, val, size) in fields)
        {
            if (size == 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off), (uint)val);
            else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(off), val);
        }
        return b;
    }

    [Fact]
    public void LostUnion_CountAtOffset16()
    {
        var e = HealthMonitorEvent.Decode(Raw(0, 1, 123, (16, 0x1_0000_0020UL, 8)));
        Assert.Equal(HealthDomain.Mount, e.Domain);
        Assert.Equal(HealthEventType.Lost, e.Type);
        Assert.Equal(123UL, e.TimeNs);
        Assert.Equal(0x1_0000_0020UL, e.LostCount);
    }

    [Fact]
    public void InodeUnion_MaskGenIno()
    {
        var e = HealthMonitorEvent.Decode(Raw(3, 3, 0, (16, 0x10, 4), (20, 0x3a2b, 4), (24, 131, 8)));
        Assert.Equal(0x10u, e.Mask);
        Assert.Equal(0x3a2bu, e.InodeGen);
        Assert.Equal(131UL, e.InodeIno);
    }

    [Fact]
    public void GroupUnion_MaskThenGno()
    {
        var e = HealthMonitorEvent.Decode(Raw(2, 3, 0, (16, 0x110, 4), (20, 5, 4)));
        Assert.Equal(0x110u, e.Mask);
        Assert.Equal(5u, e.GroupNumber);
    }

    [Fact]
    public void MediaUnion_DaddrBbcount()
    {
        var e = HealthMonitorEvent.Decode(Raw(5, 7, 0, (16, 0x13, 8), (24, 5, 8)));
        Assert.Equal(0x13UL, e.MediaDaddr);
        Assert.Equal(5UL, e.MediaBbCount);
    }

    [Fact]
    public void FileRangeUnion_PosLenInoGenError()
    {
        var e = HealthMonitorEvent.Decode(Raw(8, 10, 0, (16, 8192, 8), (24, 4096, 8), (32, 77, 8), (40, 9, 4), (44, 5, 4)));
        Assert.Equal(8192UL, e.FilePos);
        Assert.Equal(4096UL, e.FileLen);
        Assert.Equal(77UL, e.FileIno);
        Assert.Equal(9u, e.FileGen);
        Assert.Equal(5u, e.FileError);
    }

    [Fact]
    public void ShutdownUnion_Reasons()
    {
        var e = HealthMonitorEvent.Decode(Raw(0, 6, 0, (16, 0x24, 4)));
        Assert.Equal(0x24u, e.ShutdownReasons);
    }

    [Fact]
    public void Padding_IsDetected()
    {
        var e = HealthMonitorEvent.Decode(Raw(0, 0, 0, (56, 1, 8)));
        Assert.True(e.HasNonZeroPadding);
        Assert.False(HealthMonitorEvent.Running().HasNonZeroPadding);
    }

    [Fact]
    public void ShortSpan_IsRejectedWithArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => HealthMonitorEvent.Decode(new byte[63]));
        Assert.Contains("64 bytes", ex.Message);
    }

    [Fact]
    public void Constructors_RoundTripThroughBytes()
    {
        HealthMonitorEvent[] all =
        [
            HealthMonitorEvent.Running(1), HealthMonitorEvent.Unmount(2), HealthMonitorEvent.Lost(32, 3),
            HealthMonitorEvent.Shutdown(0x3f, 4), HealthMonitorEvent.Fs(HealthEventType.Sick, 0x81),
            HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, 7, 0x30),
            HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Healthy, 9, 0x2),
            HealthMonitorEvent.Inode(HealthEventType.Sick, 1UL << 40, 0xdeadbeef, 0x1ff),
            HealthMonitorEvent.Media(HealthDomain.LogDev, 0x1234, 8),
            HealthMonitorEvent.FileRange(HealthEventType.DataLost, 99, 3, 1UL << 33, 65536, 0),
        ];
        foreach (var e in all)
            Assert.Equal(e, HealthMonitorEvent.Decode(e.ToBytes()));
    }

    [Fact]
    public void Property_AnyRecordRoundTripsAndFormatsWithoutThrowing()
    {
        var gen = ArbMap.Default.GeneratorFor<byte[]>().Where(b => b.Length >= 64).Select(b => b[..64]);
        Prop.ForAll(gen.ToArbitrary(), bytes =>
        {
            var e = HealthMonitorEvent.Decode(bytes);
            var back = e.ToBytes();
            _ = XfsEventFormatter.FormatEvent(e, "/mnt");
            _ = XfsEventFormatter.FormatEvent(e, "/mnt", "/mnt/a");
            _ = XfsEventFormatter.Describe(e);
            _ = RepairPlanner.Plan(e);
            return back.AsSpan().SequenceEqual(bytes);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void SeededMutation_TenThousandGarbageRecords_NeverThrow()
    {
        var rnd = new Random(20261121);
        var buf = new byte[64];
        int formatted = 0, silent = 0;
        for (int i = 0; i < 10_000; i++)
        {
            rnd.NextBytes(buf);
            // bias domain/type towards small values so every formatter branch is hit
            if (i % 2 == 0) { buf[0] = (byte)rnd.Next(0, 11); buf[1] = buf[2] = buf[3] = 0; buf[4] = (byte)rnd.Next(0, 15); buf[5] = buf[6] = buf[7] = 0; }
            var e = HealthMonitorEvent.Decode(buf);
            if (XfsEventFormatter.FormatEvent(e, "/mnt") is null) silent++; else formatted++;
            foreach (var s in RepairPlanner.Plan(e)) Assert.NotEqual(0u, s.ScrubType);
        }
        Assert.True(formatted > 1000 && silent > 1000, $"formatted {formatted}, silent {silent}");
    }
}
