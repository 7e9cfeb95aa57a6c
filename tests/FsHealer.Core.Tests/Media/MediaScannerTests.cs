using FsHealer.Media;
using FsHealer.Model;
using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Media;

internal sealed class FakeDevice : IBlockReader
{
    public long Size { get; init; } = 1 << 20;
    public int SectorSize { get; init; } = 512;
    public Dictionary<long, int> BadSectors { get; } = [];   // sector index -> errno
    public bool ShortReads { get; init; }
    public long BytesRead;
    public int Reads;
    public Action? OnRead;

    public int Read(long offset, Span<byte> buffer)
    {
        Reads++;
        OnRead?.Invoke();
        Assert.Equal(0, offset % SectorSize);
        if (offset >= Size) return 0;
        int len = (int)Math.Min(buffer.Length, Size - offset);
        for (long s = offset / SectorSize; s < (offset + len) / SectorSize; s++)
            if (BadSectors.TryGetValue(s, out int e))
            {
                long good = s * SectorSize - offset;
                if (ShortReads && good > 0) { BytesRead += good; return (int)good; }
                return -e;
            }
        BytesRead += len;
        return len;
    }
}

internal sealed class FakeClock : IScanClock
{
    public TimeSpan Now { get; set; }
    public TimeSpan Slept;
    public TimeSpan PerRead = TimeSpan.FromMilliseconds(1);
    public void Sleep(TimeSpan t, CancellationToken ct) { Now += t; Slept += t; }
}

public class MediaScannerTests
{
    private static readonly ByteRange[] Whole = [new(0, long.MaxValue / 2)];

    [Fact]
    public void CleanDevice_NoBadRanges_ReadsEverything()
    {
        var dev = new FakeDevice();
        var r = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions { ChunkBytes = 65536 });
        Assert.Equal(MediaScanOutcome.Completed, r.Outcome);
        Assert.Empty(r.Bad);
        Assert.Equal(dev.Size, r.ScannedBytes);
        Assert.Equal(dev.Size, dev.BytesRead);
        Assert.Equal(16, dev.Reads);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadSectors_FoundExactly_AdjacentMerged(bool shortReads)
    {
        var dev = new FakeDevice { ShortReads = shortReads };
        foreach (var s in new long[] { 7, 100, 101, 102, 103, 2047 }) dev.BadSectors[s] = 5;
        dev.BadSectors[104] = 61; // different errno: separate range
        var r = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions { ChunkBytes = 1 << 20 });
        Assert.Equal([new BadRange(7 * 512, 512, 5), new BadRange(100 * 512, 4 * 512, 5), new BadRange(104 * 512, 512, 61), new BadRange(2047 * 512, 512, 5)], r.Bad);
    }

    [Fact]
    public void RandomBadSectors_Property_ExactlyThoseSectors()
    {
        var rng = new Random(1234);
        for (int round = 0; round < 300; round++)
        {
            var dev = new FakeDevice { Size = 512L * rng.Next(1, 3000), SectorSize = rng.Next(2) == 0 ? 512 : 4096, ShortReads = rng.Next(2) == 0 };
            long sectors = dev.Size / dev.SectorSize;
            if (sectors == 0) continue;
            var bad = Enumerable.Range(0, rng.Next(0, 8)).Select(_ => rng.NextInt64(0, sectors)).ToHashSet();
            foreach (var b in bad) dev.BadSectors[b] = 5;
            var ranges = Enumerable.Range(0, rng.Next(1, 5)).Select(_ => { long o = rng.NextInt64(0, dev.Size); return new ByteRange(o, rng.NextInt64(1, dev.Size)); }).ToList();
            var r = new MediaScanner(dev, new FakeClock()).Run(ranges, new MediaScanOptions { ChunkBytes = rng.Next(1, 64) * 4096 });
            var norm = MediaScanner.Normalize(ranges, dev.Size, Math.Max(512, dev.SectorSize));
            var expected = bad.Where(b => norm.Any(n => b * dev.SectorSize >= n.Offset && b * dev.SectorSize < n.End)).ToHashSet();
            var found = r.Bad.SelectMany(x => Enumerable.Range(0, (int)(x.Length / dev.SectorSize)).Select(i => x.Offset / dev.SectorSize + i)).ToHashSet();
            Assert.True(expected.SetEquals(found), $"round {round}: expected [{string.Join(',', expected.Order())}] found [{string.Join(',', found.Order())}]");
            Assert.Equal(norm.Sum(n => n.Length), r.ScannedBytes);
        }
    }

    [Fact]
    public void OnlyGivenRanges_AreRead_AlignedAndMerged()
    {
        var n = MediaScanner.Normalize([new(1000, 100), new(5000, 10), new(0, 600), new(1 << 21, 10)], 1 << 20, 512);
        Assert.Equal([new ByteRange(0, 1536), new ByteRange(4608, 512)], n);
        var dev = new FakeDevice();
        dev.BadSectors[50] = 5; // outside the ranges: never read, never reported
        var r = new MediaScanner(dev, new FakeClock()).Run([new(0, 4096), new(65536, 4096)], new MediaScanOptions());
        Assert.Empty(r.Bad);
        Assert.Equal(8192, dev.BytesRead);
    }

    [Fact]
    public void Limit_ClipsRanges()
    {
        var dev = new FakeDevice();
        var r = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions { Limit = new ByteRange(4096, 8192) });
        Assert.Equal(8192, r.ScannedBytes);
        Assert.Equal(8192, dev.BytesRead);
    }

    [Fact]
    public void BandwidthLimit_SleepsToTheRate()
    {
        var dev = new FakeDevice { Size = 10 << 20 };
        var clock = new FakeClock();
        var r = new MediaScanner(dev, clock).Run(Whole, new MediaScanOptions { BytesPerSecond = 2 << 20 });
        Assert.Equal(5.0, r.Elapsed.TotalSeconds, 3);
        Assert.Equal(2.0, r.MiBPerSecond, 3);
    }

    [Fact]
    public void RestBetweenReads_SleepsPerRead()
    {
        var clock = new FakeClock();
        new MediaScanner(new FakeDevice(), clock).Run(Whole, new MediaScanOptions { ChunkBytes = 65536, RestBetweenReads = TimeSpan.FromMilliseconds(10) });
        Assert.Equal(TimeSpan.FromMilliseconds(160), clock.Slept);
    }

    [Fact]
    public void Progress_HasEta_AndFormats()
    {
        var dev = new FakeDevice { Size = 4 << 20 };
        var clock = new FakeClock();
        dev.OnRead = () => clock.Now += TimeSpan.FromSeconds(1);
        var seen = new List<MediaScanProgress>();
        new MediaScanner(dev, clock).Run(Whole, new MediaScanOptions(), seen.Add);
        Assert.True(seen.Count >= 4);
        var first = seen[0];
        Assert.Equal(1 << 20, first.DoneBytes);
        Assert.Equal(TimeSpan.FromSeconds(3), first.Eta);
        Assert.Equal("scanned 1.0/4.0 MiB (25.0%) at 1.0 MiB/s, ETA 0:00:03, 0 bad ranges", first.Format());
        Assert.Equal(100, seen[^1].Percent);
    }

    [Fact]
    public void Cancellation_StopsBetweenReads_AndCheckpointsPosition()
    {
        var dev = new FakeDevice { Size = 8 << 20 };
        using var cts = new CancellationTokenSource();
        dev.OnRead = () => { if (dev.Reads == 3) cts.Cancel(); };
        long? cp = null;
        var r = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions { Checkpoint = (next, _, _) => cp = next }, null, cts.Token);
        Assert.Equal(MediaScanOutcome.Cancelled, r.Outcome);
        Assert.Equal(3L << 20, r.NextOffset);
        Assert.Equal(3L << 20, cp);
    }

    [Fact]
    public void StopReason_StopsScan()
    {
        var dev = new FakeDevice { Size = 8 << 20 };
        var r = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions { StopReason = () => dev.Reads >= 2 ? "/mnt was unmounted" : null });
        Assert.Equal(MediaScanOutcome.Stopped, r.Outcome);
        Assert.Equal("/mnt was unmounted", r.StopReason);
        Assert.Equal(2L << 20, r.NextOffset);
    }

    [Fact]
    public void Resume_SkipsDonePart_KeepsKnownBad_SameResultAsOneRun()
    {
        var dev = new FakeDevice { Size = 8 << 20 };
        dev.BadSectors[10] = 5; dev.BadSectors[6000] = 5; dev.BadSectors[14000] = 61;
        var full = new MediaScanner(dev, new FakeClock()).Run(Whole, new MediaScanOptions());
        using var cts = new CancellationTokenSource();
        var dev2 = new FakeDevice { Size = 8 << 20 };
        foreach (var kv in dev.BadSectors) dev2.BadSectors[kv.Key] = kv.Value;
        dev2.OnRead = () => { if (dev2.BytesRead >= 4 << 20) cts.Cancel(); };
        var first = new MediaScanner(dev2, new FakeClock()).Run(Whole, new MediaScanOptions(), null, cts.Token);
        Assert.Equal(MediaScanOutcome.Cancelled, first.Outcome);
        var cp = new MediaScanCheckpoint { Mount = "/mnt", Device = "/dev/x", DeviceSize = dev.Size, NextOffset = first.NextOffset, Bad = first.Bad.Select(BadRangeDto.From).ToList() };
        var back = MediaScanCheckpoint.FromJson(cp.ToJson(), out var err)!;
        Assert.Null(err);
        Assert.True(back.Matches("/mnt", "/dev/x", dev.Size));
        Assert.False(back.Matches("/mnt", "/dev/y", dev.Size));
        var dev3 = new FakeDevice { Size = 8 << 20 };
        foreach (var kv in dev.BadSectors) dev3.BadSectors[kv.Key] = kv.Value;
        var second = new MediaScanner(dev3, new FakeClock()).Run(Whole, new MediaScanOptions { ResumeFrom = back.NextOffset, KnownBad = back.Bad.Select(b => b.ToRange()).ToList() });
        Assert.Equal(MediaScanOutcome.Completed, second.Outcome);
        Assert.Equal(full.Bad, second.Bad);
        Assert.Equal(dev.Size - back.NextOffset, second.ScannedBytes);
        Assert.True(dev3.BytesRead < dev.Size);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{\"nextOffset\":-5,\"mount\":\"/m\",\"device\":\"/d\"}")]
    [InlineData("{\"nextOffset\":\"x\"}")]
    public void Checkpoint_Garbage_GivesError(string json)
    {
        Assert.Null(MediaScanCheckpoint.FromJson(json, out var err));
        Assert.NotNull(err);
    }

    [Fact]
    public void Checkpoint_RandomGarbage_NeverThrows()
    {
        var rng = new Random(7);
        var good = new MediaScanCheckpoint { Mount = "/mnt", Device = "/dev/loop0", NextOffset = 4096, Bad = [new(0, 512, 5)] }.ToJson();
        for (int i = 0; i < 3000; i++)
        {
            var c = good.ToCharArray();
            for (int k = 0; k < rng.Next(1, 5); k++) c[rng.Next(c.Length)] = (char)rng.Next(32, 127);
            MediaScanCheckpoint.FromJson(new string(c, 0, rng.Next(c.Length + 1)), out _);
        }
    }
}

public class MediaMappingTests
{
    [Fact]
    public void Owners_IntersectFileExtents_AndMetadata()
    {
        var bad = new[] { new BadRange(8192, 1024, 5), new BadRange(1 << 20, 512, 61) };
        var files = new[] { new FileExtent(131, "/mnt/a", 0, 4096, 8192), new FileExtent(132, "/mnt/b", 65536, 9000, 100_000), new FileExtent(133, "/mnt/c", 0, 200_000, 4096) };
        var fsmap = new[] { new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 1 << 20, ((ulong)'X' << 32) | 5, 0, 16384), new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 0, FsmapOwners.Free, 0, 4096) };
        var o = MediaMapping.Owners(bad, files, fsmap);
        Assert.Equal(3, o.Count);
        Assert.Equal(new BadRangeOwner(bad[0], 131, "/mnt/a", 4096, 1024, null), o[0]);
        Assert.Equal(new BadRangeOwner(bad[0], 132, "/mnt/b", 65536, 216, null), o[1]); // [9000, 9216)
        Assert.Equal("inodes", o[2].Metadata);
    }

    [Fact]
    public void InUse_IsDeviceMinusFree()
    {
        var fsmap = new[]
        {
            new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 0, 3, 0, 1024),
            new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 4096, FsmapOwners.Free, 0, 4096),
            new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 6144, FsmapOwners.Free, 0, 4096), // overlapping free
            new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 20000, FsmapOwners.Free, 0, 100000), // beyond the end
        };
        Assert.Equal([new ByteRange(0, 4096), new ByteRange(10240, 20000 - 10240)], MediaMapping.InUse(fsmap, 30000));
        Assert.Equal([new ByteRange(0, 500)], MediaMapping.InUse([], 500));
    }

    [Fact]
    public void UnknownOwner_OnlyWhenNoFileClaimsTheRange()
    {
        var bad = new[] { new BadRange(0, 512, 5), new BadRange(8192, 512, 5) };
        var files = new[] { new FileExtent(5, "/m/f", 0, 8192, 4096) };
        var fsmap = new[] { new FsmapRecord(0, FsmapRecord.OfSpecialOwner, 0, FsmapOwners.Unknown, 0, 65536) };
        var o = MediaMapping.Owners(bad, files, fsmap);
        Assert.Equal(2, o.Count);
        Assert.Equal("unknown", o[0].Metadata);
        Assert.Equal("/m/f", o[1].Path);
    }

    [Fact]
    public void Events_AreTheMonitorsMediaErrorAndDataLost_FormattedLikeXfsHealer()
    {
        var bad = new[] { new BadRange(8192, 1024, 5) };
        var owners = new[] { new BadRangeOwner(bad[0], 131, "/mnt/a", 4096, 1024, null) };
        var ev = MediaMapping.Events(HealthDomain.DataDev, bad, owners);
        Assert.Equal(HealthMonitorEvent.Media(HealthDomain.DataDev, 16, 2), ev[0].Event);
        Assert.Equal(HealthMonitorEvent.FileRange(HealthEventType.DataLost, 131, 0, 4096, 1024, 5), ev[1].Event);
        var fs = MediaMapping.FsEvents("/mnt", "ext4", "/dev/loop9", HealthDomain.DataDev, bad, owners);
        Assert.Equal(EventClass.MediaError, fs[0].Class);
        Assert.Equal(XfsEventFormatter.FormatEvent(ev[0].Event, "/mnt"), fs[0].Message);
        Assert.Equal(5, fs[0].Errno);
        Assert.Equal(EventClass.DataLost, fs[1].Class);
        Assert.Equal(Severity.Critical, fs[1].Severity);
        Assert.Equal(131UL, fs[1].Inode);
        Assert.Equal("/mnt/a", fs[1].Path);
        Assert.Equal(XfsEventFormatter.FormatEvent(ev[1].Event, "/mnt", "/mnt/a"), fs[1].Message);
        Assert.EndsWith("pos 4096 len 1024: media failed", fs[1].Message); // xfs_healer words DATALOST as "media failed"
    }

    [Fact]
    public void MetadataOwner_BecomesCriticalMediaError()
    {
        var bad = new[] { new BadRange(0, 512, 5) };
        var owners = new[] { new BadRangeOwner(bad[0], 0, null, 0, 0, "static fs metadata") };
        var fs = MediaMapping.FsEvents("/mnt", "xfs", null, HealthDomain.DataDev, bad, owners);
        Assert.Equal(2, fs.Count);
        Assert.Equal("static fs metadata", fs[1].Structure);
        Assert.Equal(Severity.Critical, fs[1].Severity);
    }

    [Theory]
    [InlineData(((ulong)'X' << 32) | 1, "static fs metadata")]   // 0x5800000001
    [InlineData(((ulong)'X' << 32) | 2, "journalling log")]
    [InlineData(377957122053UL, "inodes")]                      // seen on ext4 6.18: inode tables
    [InlineData(438086664193UL, "group descriptors")]           // 'f',1 seen on ext4 6.18
    [InlineData(((ulong)'f' << 32) | 3, "block bitmap")]
    [InlineData(1UL, "free space")]
    [InlineData(0x1234UL, "special owner 0x1234")]
    public void SpecialOwnerNames(ulong owner, string name) => Assert.Equal(name, FsmapOwners.Name(owner));
}

public class MediaScanScheduleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void DefaultOff_NeverDue()
    {
        var s = new MediaScanSchedule();
        Assert.False(s.IsDue("/mnt", null, Now));
        Assert.Null(s.NextRun("/mnt", null, Now));
    }

    [Fact]
    public void Interval_DueAfterInterval_AndFirstRunImmediately()
    {
        var s = new MediaScanSchedule();
        s.Set("/mnt", TimeSpan.FromDays(30));
        Assert.True(s.IsDue("/mnt", null, Now));
        Assert.False(s.IsDue("/mnt", Now.AddDays(-29), Now));
        Assert.True(s.IsDue("/mnt", Now.AddDays(-30), Now));
        Assert.False(s.IsDue("/other", null, Now));
        Assert.False(s.IsDue("/mnt", Now.AddDays(2), Now)); // clock went back
        s.Set("/mnt", null);
        Assert.False(s.IsDue("/mnt", null, Now));
    }

    [Fact]
    public void DefaultInterval_AppliesToAll_PerMountOverrides()
    {
        var s = new MediaScanSchedule { Default = TimeSpan.FromDays(7) };
        s.Set("/fast", TimeSpan.FromDays(1));
        Assert.Equal(TimeSpan.FromDays(7), s.IntervalFor("/x"));
        Assert.True(s.IsDue("/fast", Now.AddDays(-2), Now));
        Assert.False(s.IsDue("/x", Now.AddDays(-2), Now));
    }

    [Theory]
    [InlineData("off", null)]
    [InlineData("30d", 30 * 24.0)]
    [InlineData("12h", 12.0)]
    [InlineData("1w", 168.0)]
    [InlineData("90m", 1.5)]
    public void ParseInterval(string s, double? hours)
    {
        Assert.True(MediaScanSchedule.TryParseInterval(s, out var i, out _));
        Assert.Equal(hours, i?.TotalHours);
    }

    [Theory]
    [InlineData("monthly")]
    [InlineData("-3d")]
    [InlineData("5x")]
    [InlineData("d")]
    public void ParseInterval_Rejects(string s)
    {
        Assert.False(MediaScanSchedule.TryParseInterval(s, out _, out var err));
        Assert.Contains(s, err);
    }
}
