using System.Buffers.Binary;
using FsHealer.Fanotify;

namespace FsHealer.Core.Tests.Ext4;

/// <summary>Builds fanotify FAN_FS_ERROR buffers with the byte layouts measured on Linux 6.18.</summary>
internal static class FanBuf
{
    public static byte[] Meta(ulong mask, int pid, params byte[][] records)
    {
        int len = 24 + records.Sum(r => r.Length);
        var b = new byte[len];
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)len);
        b[4] = 3;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), 24);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), mask);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), -1);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(20), pid);
        int off = 24;
        foreach (var r in records) { r.CopyTo(b, off); off += r.Length; }
        return b;
    }

    public static byte[] Fid(int v0, int v1, int type, byte[] handle, int? lenOverride = null, uint? hbOverride = null)
    {
        int len = (20 + handle.Length + 3) & ~3;
        var b = new byte[len];
        b[0] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), (ushort)(lenOverride ?? len));
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), v0);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), v1);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), hbOverride ?? (uint)handle.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), type);
        handle.CopyTo(b, 20);
        return b;
    }

    public static byte[] Err(int error, uint count)
    {
        var b = new byte[12];
        b[0] = 5;
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), 12);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), error);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), count);
        return b;
    }

    public static byte[] Ino(uint ino, uint gen)
    {
        var h = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(h, ino);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), gen);
        return h;
    }

    public static byte[] SbEvent(int pid = 1234) => Meta(0x8000, pid, Fid(0x770018a1, 0x097c8fa1, 0xFF, []), Err(117, 1));
    public static byte[] InodeEvent(int pid = 4321) => Meta(0x8000, pid, Fid(0x770018a1, 0x097c8fa1, 1, Convert.FromHexString("0c000000a2486c0e")), Err(117, 2));
}

public class FsErrorDecoderTests
{
    [Fact]
    public void SuperblockLevelEvent_56Bytes_IsFilesystemWide()
    {
        var buf = FanBuf.SbEvent();
        Assert.Equal(56, buf.Length);
        var r = FsErrorDecoder.Decode(buf);
        Assert.Empty(r.Diagnostics);
        var e = Assert.Single(r.Events);
        Assert.Equal(FsErrorKind.Error, e.Kind);
        Assert.True(e.FilesystemWide);
        Assert.Null(e.Inode);
        Assert.Equal(new FsId(0x770018a1, 0x097c8fa1), e.Fsid);
        Assert.Equal("770018a1 097c8fa1", e.Fsid!.Value.ToString());
        Assert.Equal(117, e.Error);
        Assert.Equal("EUCLEAN", e.ErrorName);
        Assert.Equal("Structure needs cleaning", e.ErrorMessage);
        Assert.Equal(1u, e.ErrorCount);
        Assert.Equal(1234, e.Pid);
        Assert.Empty(e.Notes);
    }

    [Fact]
    public void InodeEvent_64Bytes_DecodesIno32Gen_AndFoldedCount()
    {
        var buf = FanBuf.InodeEvent();
        Assert.Equal(64, buf.Length);
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.False(e.FilesystemWide);
        Assert.Equal(12u, e.Inode);
        Assert.Equal(0x0e6c48a2u, e.Generation);
        Assert.Equal(2u, e.ErrorCount);
        Assert.Equal(1, e.HandleType);
        Assert.Contains("inode 12", e.ToString());
    }

    [Fact]
    public void RecordOrder_IsNotAssumed()
    {
        var buf = FanBuf.Meta(0x8000, 7, FanBuf.Err(74, 3), FanBuf.Fid(1, 2, 1, FanBuf.Ino(62, 0)));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Equal(74, e.Error);
        Assert.Equal("EBADMSG", e.ErrorName);
        Assert.Equal(62u, e.Inode);
        Assert.Equal(0u, e.Generation);
        Assert.Equal(3u, e.ErrorCount);
    }

    [Fact]
    public void Overflow_IsRecognised()
    {
        var buf = FanBuf.Meta(0x4000, 0);
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Equal(FsErrorKind.Overflow, e.Kind);
        Assert.Contains("overflow", e.ToString());
    }

    [Fact]
    public void UnknownInfoType_IsSkippedWithNote()
    {
        var unknown = new byte[8]; unknown[0] = 99; unknown[2] = 8;
        var buf = FanBuf.Meta(0x8000, 1, unknown, FanBuf.Fid(1, 2, 0xFF, []), FanBuf.Err(5, 1));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Equal(5, e.Error);
        Assert.Contains(e.Notes, n => n.Contains("unknown info record type 99"));
    }

    [Fact]
    public void SeveralEvents_BackToBack()
    {
        var buf = FanBuf.SbEvent().Concat(FanBuf.InodeEvent()).Concat(FanBuf.Meta(0x4000, 0)).ToArray();
        var r = FsErrorDecoder.Decode(buf);
        Assert.Equal(3, r.Events.Count);
        Assert.Equal([FsErrorKind.Error, FsErrorKind.Error, FsErrorKind.Overflow], r.Events.Select(e => e.Kind));
    }

    [Fact]
    public void HandleBytesBeyondRecord_AreDroppedWithNote()
    {
        var buf = FanBuf.Meta(0x8000, 1, FanBuf.Fid(1, 2, 1, FanBuf.Ino(12, 5), hbOverride: 200), FanBuf.Err(117, 1));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Null(e.Inode);
        Assert.True(e.FilesystemWide);
        Assert.Contains(e.Notes, n => n.Contains("200 handle bytes"));
    }

    [Fact]
    public void TruncatedIno32Handle_GivesNoteNotInode()
    {
        var buf = FanBuf.Meta(0x8000, 1, FanBuf.Fid(1, 2, 1, [1, 2, 3, 4]), FanBuf.Err(117, 1));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Null(e.Inode);
        Assert.Contains(e.Notes, n => n.Contains("shorter than 8"));
    }

    [Fact]
    public void RecordLengthBeyondEvent_IsReported()
    {
        var buf = FanBuf.Meta(0x8000, 1, FanBuf.Fid(1, 2, 0xFF, [], lenOverride: 400), FanBuf.Err(117, 1));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Contains(e.Notes, n => n.Contains("claims 400 bytes"));
        Assert.Contains(e.Notes, n => n.Contains("no FID record"));
    }

    [Fact]
    public void ShortRecords_AndMissingRecords_AreNoted()
    {
        var shortErr = new byte[8]; shortErr[0] = 5; shortErr[2] = 8;
        var e = Assert.Single(FsErrorDecoder.Decode(FanBuf.Meta(0x8000, 1, shortErr)).Events);
        Assert.Contains(e.Notes, n => n.Contains("ERROR record of 8 bytes"));
        Assert.Contains(e.Notes, n => n.Contains("no ERROR record"));
        Assert.Equal(0, e.Error);
        Assert.Equal("none", e.ErrorName);
    }

    [Fact]
    public void EventLengthBeyondBuffer_IsDiagnosed()
    {
        var buf = FanBuf.SbEvent();
        var r = FsErrorDecoder.Decode(buf.AsSpan(0, 40));
        Assert.Empty(r.Events);
        Assert.Contains(r.Diagnostics, d => d.Contains("bad fanotify event lengths"));
    }

    [Fact]
    public void DuplicateRecords_KeepFirst()
    {
        var buf = FanBuf.Meta(0x8000, 1, FanBuf.Err(5, 1), FanBuf.Err(117, 9), FanBuf.Fid(1, 2, 0xFF, []));
        var e = Assert.Single(FsErrorDecoder.Decode(buf).Events);
        Assert.Equal(5, e.Error);
        Assert.Contains(e.Notes, n => n.Contains("duplicate ERROR"));
    }

    [Fact]
    public void UnexpectedMask_IsDiagnosed()
    {
        var r = FsErrorDecoder.Decode(FanBuf.Meta(0x1, 1));
        Assert.Empty(r.Events);
        Assert.Contains(r.Diagnostics, d => d.Contains("unexpected mask bits 0x1"));
    }

    [Fact]
    public void RandomMutations_NeverThrow()
    {
        var rng = new Random(20261121);
        var seeds = new[] { FanBuf.SbEvent(), FanBuf.InodeEvent(), FanBuf.SbEvent().Concat(FanBuf.InodeEvent()).ToArray(), FanBuf.Meta(0x4000, 0) };
        int events = 0, diags = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var b = (byte[])seeds[rng.Next(seeds.Length)].Clone();
            int flips = rng.Next(1, 6);
            for (int k = 0; k < flips; k++)
            {
                switch (rng.Next(4))
                {
                    case 0: b[rng.Next(b.Length)] = (byte)rng.Next(256); break;
                    case 1: b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8)); break;
                    case 2: b = b.AsSpan(0, rng.Next(b.Length + 1)).ToArray(); if (b.Length == 0) b = [0]; break;
                    default: b = b.Concat(Enumerable.Range(0, rng.Next(1, 40)).Select(_ => (byte)rng.Next(256))).ToArray(); break;
                }
            }
            var r = FsErrorDecoder.Decode(b);
            events += r.Events.Count;
            diags += r.Diagnostics.Count;
            foreach (var e in r.Events) { _ = e.ToString(); Assert.True(e.Handle.Length <= FsErrorDecoder.MaxHandleSize); }
        }
        Assert.True(events > 0 && diags > 0, $"mutations exercised both paths: {events} events, {diags} diagnostics");
    }
}
