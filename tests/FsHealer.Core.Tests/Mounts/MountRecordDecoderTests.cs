using System.Buffers.Binary;
using FsHealer.Fanotify;
using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Mounts;

public class MountRecordDecoderTests
{
    internal static byte[] Event(ulong mask, ulong? mntId, int recLen = 16, byte recType = 7)
    {
        int len = 24 + (mntId is null ? 0 : recLen);
        var b = new byte[len];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)len);
        b[4] = 3;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), 24);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), mask);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), -1);
        if (mntId is not null)
        {
            b[24] = recType;
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(26), (ushort)recLen);
            if (recLen >= 16) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(32), mntId.Value);
        }
        return b;
    }

    [Fact]
    public void DecodesAttachDetachMoveAndOverflow()
    {
        var buf = Event(FanotifyAbi.FAN_MNT_ATTACH, 2147483778)
            .Concat(Event(FanotifyAbi.FAN_MNT_DETACH, 2147483778))
            .Concat(Event(FanotifyAbi.FAN_MNT_ATTACH | FanotifyAbi.FAN_MNT_DETACH, 0x80000083))
            .Concat(Event(FanotifyAbi.FAN_Q_OVERFLOW, null)).ToArray();
        var d = new List<string>();
        var n = MountRecordDecoder.DecodeAll(buf, d);
        Assert.Empty(d);
        Assert.Equal(4, n.Count);
        Assert.True(n[0].Attach && !n[0].Detach); Assert.Equal(2147483778UL, n[0].MountId);
        Assert.True(n[1].Detach && !n[1].Attach);
        Assert.True(n[2].Move); Assert.Equal(0x80000083UL, n[2].MountId);
        Assert.True(n[3].Overflow);
    }

    [Fact]
    public void BadRecordsGiveDiagnostics()
    {
        var d = new List<string>();
        Assert.Empty(MountRecordDecoder.DecodeAll(Event(FanotifyAbi.FAN_MNT_ATTACH, 5, recLen: 12), d));
        Assert.NotEmpty(d); d.Clear();
        Assert.Empty(MountRecordDecoder.DecodeAll(Event(FanotifyAbi.FAN_MNT_ATTACH, 5, recType: 1), d));
        Assert.Contains(d, x => x.Contains("type 1")); d.Clear();
        Assert.Empty(MountRecordDecoder.DecodeAll(Event(FanotifyAbi.FAN_MNT_ATTACH, null), d));
        Assert.Contains(d, x => x.Contains("without a mount record")); d.Clear();
        Assert.Empty(MountRecordDecoder.DecodeAll(Event(FanotifyAbi.FAN_FS_ERROR, 5), d));
        Assert.Contains(d, x => x.Contains("unexpected event mask")); d.Clear();
        var bad = Event(FanotifyAbi.FAN_MNT_ATTACH, 5);
        BinaryPrimitives.WriteUInt16LittleEndian(bad.AsSpan(26), 200);
        Assert.Empty(MountRecordDecoder.DecodeAll(bad, d));
        Assert.Contains(d, x => x.Contains("claims 200")); d.Clear();
    }

    [Fact]
    public void RandomMutationsNeverThrow()
    {
        var rng = new Random(99);
        var good = Event(FanotifyAbi.FAN_MNT_ATTACH, 1).Concat(Event(FanotifyAbi.FAN_MNT_DETACH, 2)).ToArray();
        for (int i = 0; i < 10_000; i++)
        {
            var b = (byte[])good.Clone();
            for (int k = rng.Next(1, 6); k > 0; k--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            _ = MountRecordDecoder.DecodeAll(b.AsSpan(0, rng.Next(b.Length + 1)), []);
        }
    }
}
