using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;

namespace FsHealer.Core.Tests.Xfs;

public sealed class ManualTime : TimeProvider
{
    public DateTimeOffset Now = new(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
    public override DateTimeOffset GetUtcNow() => Now;
    public void Advance(TimeSpan t) => Now += t;
}

public class GateAndMiscTests
{
    [Fact]
    public void Gate_OnePerWindow_BackoffDoubles_ResetsAfterQuiet()
    {
        var t = new ManualTime();
        var g = new ActionGate(TimeSpan.FromMinutes(5), t);
        Assert.True(g.TryAcquire(out _));
        for (int i = 0; i < 1000; i++) Assert.False(g.TryAcquire(out _));
        t.Advance(TimeSpan.FromMinutes(5));
        Assert.True(g.TryAcquire(out _));       // storm continues: next window doubles to 10 min
        t.Advance(TimeSpan.FromMinutes(6));
        Assert.False(g.TryAcquire(out var next));
        Assert.Equal(t.Now + TimeSpan.FromMinutes(4), next);
        t.Advance(TimeSpan.FromMinutes(4));
        Assert.True(g.TryAcquire(out _));       // 20 min window now
        t.Advance(TimeSpan.FromMinutes(60));    // quiet > 2 windows: back to 5 min
        Assert.True(g.TryAcquire(out _));
        t.Advance(TimeSpan.FromMinutes(5));
        Assert.True(g.TryAcquire(out _));
        Assert.Equal(5, g.Started);
        Assert.Equal(1001, g.Suppressed);
    }

    [Fact]
    public void Gate_BackoffIsCapped()
    {
        var t = new ManualTime();
        var g = new ActionGate(TimeSpan.FromSeconds(1), t, TimeSpan.FromSeconds(4));
        Assert.True(g.TryAcquire(out _));
        for (int i = 0; i < 10; i++)
        {
            while (!g.TryAcquire(out _)) t.Advance(TimeSpan.FromMilliseconds(100));
        }
        t.Advance(TimeSpan.FromSeconds(3.9));
        Assert.False(g.TryAcquire(out _));
        t.Advance(TimeSpan.FromSeconds(0.2));
        Assert.True(g.TryAcquire(out _));
    }

    [Fact]
    public void Gate_ZeroInterval_NeverSuppresses()
    {
        var g = new ActionGate(TimeSpan.Zero, new ManualTime());
        for (int i = 0; i < 100; i++) Assert.True(g.TryAcquire(out _));
    }

    [Theory]
    [InlineData(5, "EIO", "Input/output error")]
    [InlineData(116, "ESTALE", "Stale file handle")]
    [InlineData(117, "EUCLEAN", "Structure needs cleaning")]
    [InlineData(25, "ENOTTY", "Inappropriate ioctl for device")]
    [InlineData(95, "EOPNOTSUPP", "Operation not supported")]
    [InlineData(0, "E0", "Unknown error 0")]
    [InlineData(-3, "E-3", "Unknown error -3")]
    [InlineData(9999, "E9999", "Unknown error 9999")]
    public void ErrnoTexts(int n, string name, string msg)
    {
        Assert.Equal(name, Errno.Name(n));
        Assert.Equal(msg, Errno.Message(n));
    }

    [Fact]
    public void GetParents_DecodesRecordsAndSurvivesGarbage()
    {
        var buf = new byte[600];
        new XfsHandle(0x1122334455667788, 5, 128).Encode(buf);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(24), 48);
        "victimdir\0"u8.CopyTo(buf.AsSpan(32));
        // last record stretched to the end of the buffer
        new XfsHandle(0x1122334455667788, 1, 64).Encode(buf.AsSpan(48));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(72), 552);
        "some\0"u8.CopyTo(buf.AsSpan(80));
        var recs = GetParentsDecoder.Decode(buf);
        Assert.Equal(2, recs.Count);
        Assert.Equal("victimdir", recs[0].Name);
        Assert.Equal(128UL, recs[0].Parent.Ino);
        Assert.Equal("some", recs[1].Name);

        var rnd = new Random(7);
        for (int i = 0; i < 10_000; i++)
        {
            rnd.NextBytes(buf);
            _ = GetParentsDecoder.Decode(buf.AsSpan(0, rnd.Next(0, 600)));
        }
    }
}
