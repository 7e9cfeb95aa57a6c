using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;
using FsHealer.Media;
using FsHealer.Model;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;
using FsHealer.Media.Live;

namespace FsHealer.Kernel.Tests.Media;

internal sealed class ListSink : IEventSink
{
    public List<FsEvent> Events { get; } = [];
    public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
}

public class MediaScanKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static void SkipUnlessPossible(string fsType)
    {
        Ext4Loop.SkipUnlessPossible();
        FaultyDevice.SkipUnlessPossible();
        Sh.RequireTools($"mkfs.{fsType}", "filefrag");
    }

    /// <summary>XFS or ext4 on the faulty device with d/f1..fN of seeded random bytes (path → contents in <paramref name="files"/>).</summary>
    private static FaultyDevice FaultyDisk(string fsType, out Dictionary<string, byte[]> files, int count = 8, int fileSize = 256 * 1024)
    {
        var written = files = [];
        return new FaultyDevice(fsType == "xfs" ? 320 : 64, fsType, fsType == "xfs" ? null : ["-E", "lazy_itable_init=0"], tag: "media").Then(fs =>
        {
            Directory.CreateDirectory(Path.Combine(fs.Mnt, "d"));
            var rng = new Random(11);
            for (int i = 1; i <= count; i++)
            {
                var b = new byte[fileSize];
                rng.NextBytes(b);
                string p = Path.Combine(fs.Mnt, "d", $"f{i}");
                File.WriteAllBytes(p, b);
                written[p] = b;
            }
            Sh.Check("sync");
        });
    }

    private static FaultyDevice FaultyDisk(string fsType, int count) => FaultyDisk(fsType, out _, count);

    /// <summary>Device byte offset of the first extent of a file, from filefrag (independent of our FIEMAP code).</summary>
    private static long PhysicalStart(string path)
    {
        var o = Sh.Check("filefrag", "-b512", "-e", path);
        var line = o.Split('\n').First(l => l.TrimStart().StartsWith("0:", StringComparison.Ordinal));
        var f = line.Split(':');
        long sector = long.Parse(f[2].Split("..")[0].Trim());
        return sector * 512;
    }

    private static string State(FaultyDevice fs) => Path.Combine(fs.Dir, "state");

    [Theory]
    [InlineData("xfs")]
    [InlineData("ext4")]
    public void InjectedEio_FoundExactly_FilesNamed_OtherFilesIntact(string fsType)
    {
        SkipUnlessPossible(fsType);
        using var fs = FaultyDisk(fsType, out var written);

        using (var dfd = Libc.Open(fs.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _))
        {
            var recs = new List<FsmapRecord>();
            Out($"GETFSMAP: {Fsmap.GetAll(dfd, recs)}, {recs.Count} records");
            foreach (var r in recs.Take(12)) Out($"  {r}");
            // batching: the same map when read 3 records per call (low key = last record returned)
            var small = new List<FsmapRecord>();
            Assert.Equal(0, Fsmap.GetAll(dfd, small, batch: 3));
            Assert.Equal(recs, small);
            Assert.True(recs.Count > 3);
            Assert.True((recs[^1].Flags & FsmapRecord.OfLast) != 0);
        }
        // clean device first: no false positives; report throughput (allocated space, then whole device)
        var clean = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt }, null, out var err);
        Assert.True(clean is not null, err);
        Assert.Empty(clean.Result.Bad);
        Assert.True(clean.AllocatedOnly, "GETFSMAP should give the allocated space");
        Out($"{fsType} clean, allocated only: {clean.Result.ScannedBytes / 1048576.0:0.0} MiB in {clean.Result.Elapsed.TotalSeconds:0.000} s = {clean.Result.MiBPerSecond:0.0} MiB/s ({clean.Result.Reads} reads)");
        var whole = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, WholeDevice = true }, null, out err)!;
        Assert.Empty(whole.Result.Bad);
        Assert.Equal(whole.Result.TotalBytes, whole.Result.ScannedBytes);
        Out($"{fsType} clean, whole device: {whole.Result.ScannedBytes / 1048576.0:0.0} MiB in {whole.Result.Elapsed.TotalSeconds:0.000} s = {whole.Result.MiBPerSecond:0.0} MiB/s");
        Assert.True(clean.Result.ScannedBytes < whole.Result.ScannedBytes);

        string f3 = Path.Combine(fs.Mnt, "d", "f3"), f6 = Path.Combine(fs.Mnt, "d", "f6");
        long p3 = PhysicalStart(f3), p6 = PhysicalStart(f6);
        var injected = new[] { new BadRange(p3 + 8192, 4096, 5), new BadRange(p6 + 1536, 512, 5) };
        foreach (var b in injected) fs.FailReads(b.Offset, b.Length);
        FaultyDevice.DropCaches();

        var sink = new ListSink();
        var rep = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, Events = sink }, null, out err);
        Assert.True(rep is not null, err);
        foreach (var b in rep.Result.Bad) Out($"bad: {b}");
        foreach (var o in rep.Owners) Out($"owner: {o}");
        foreach (var e in sink.Events) Out($"event: {e.Class} {e.Message}");
        Assert.Equal(injected.OrderBy(b => b.Offset), rep.Result.Bad);
        var files = rep.Owners.Where(o => o.IsFile).Select(o => (o.Path, o.FileOffset, o.Length)).OrderBy(x => x.Path).ToList();
        Assert.Equal([(f3, 8192L, 4096L), (f6, 1536L, 512L)], files);
        Assert.All(rep.Owners, o => Assert.True(o.IsFile, $"file data misnamed as metadata: {o}"));
        Assert.Equal(2, sink.Events.Count(e => e.Class == EventClass.MediaError));
        var lost = sink.Events.Where(e => e.Class == EventClass.DataLost).ToList();
        Assert.Equal([f3, f6], lost.Select(e => e.Path).Order());
        Assert.All(lost, e => Assert.EndsWith("media failed", e.Message));

        // the other files are readable and unchanged while the faults are active
        FaultyDevice.DropCaches();
        foreach (var (path, data) in written.Where(f => f.Key != f3 && f.Key != f6))
            Assert.Equal(data, File.ReadAllBytes(path));
        Assert.Throws<IOException>(() => File.ReadAllBytes(f3));
    }

    [Fact]
    public void Ext4InodeTableEio_IsNamedAsInodeMetadata()
    {
        SkipUnlessPossible("ext4");
        using var fs = FaultyDisk("ext4", 2);
        var (off, bs, _) = fs.InodeTableBlock("d/f1");
        fs.FailReads(off, bs);
        var sink = new ListSink();
        var rep = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, Events = sink }, null, out var err);
        Assert.True(rep is not null, err);
        foreach (var o in rep.Owners) Out($"owner: {o}");
        Assert.Equal([new BadRange(off, bs, 5)], rep.Result.Bad);
        Assert.Equal("inodes", Assert.Single(rep.Owners).Metadata);
        Assert.Contains(sink.Events, e => e.Class == EventClass.MediaError && e.Structure == "inodes" && e.Severity == Severity.Critical);
        Assert.DoesNotContain(sink.Events, e => e.Class == EventClass.DataLost);
    }

    [Fact]
    public void Cli_OnKernelWithoutIoctl_FallsBack_AndPrintsXfsIoErrorLines()
    {
        SkipUnlessPossible("xfs");
        using var fs = FaultyDisk("xfs", 2);
        using (var fd = Libc.Open(fs.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _))
        {
            int probe = VerifyMediaTool.Probe(new XfsVerifyMedia(fd));
            Out($"XFS_IOC_VERIFY_MEDIA probe (start=1,end=0): {(probe == 0 ? "supported" : FsHealer.Text.Errno.Name(probe))}");
            Assert.Contains(probe, new[] { 0, 25 });
            if (probe == 0) Assert.Skip("kernel has XFS_IOC_VERIFY_MEDIA: the fallback is not taken by default");
        }
        string f1 = Path.Combine(fs.Mnt, "d", "f1");
        long p = PhysicalStart(f1);
        fs.FailReads(p + 4096, 1024);
        var so = new StringWriter(); var se = new StringWriter();
        var sink = new ListSink();
        int rc = VerifyMediaCommand.Run(new VerifyMediaCommand.Args(fs.Mnt, Report: true, StateDir: State(fs)), so, se, sink, default);
        Out(so.ToString()); Out(se.ToString());
        Assert.Equal(1, rc);
        Assert.Contains("kernel has no XFS_IOC_VERIFY_MEDIA (ENOTTY)", se.ToString());
        Assert.Contains($"datadev: verify error at offset {p + 4096} length 1024: Input/output error", se.ToString());
        Assert.Contains($"hit {f1} pos 4096 len 1024", se.ToString());
        Assert.Matches(@"verified \d+/\d+ bytes at offset 0", so.ToString());
        Assert.Contains(": media failed", so.ToString()); // --report prints the events in xfs_healer's format
        Assert.Equal(2, sink.Events.Count);

        // bad arguments: xfs_io's message
        se = new StringWriter();
        Assert.Equal(64, VerifyMediaCommand.Run(new VerifyMediaCommand.Args(fs.Mnt, Start: "abc"), so, se, null, default));   // EX_USAGE
        Assert.Equal("non-numeric start argument -- abc", se.ToString().Trim());
    }

    [Fact]
    public void Cancel_ThenResumeFromCheckpoint_CoversTheRest()
    {
        SkipUnlessPossible("ext4");
        using var fs = FaultyDisk("ext4", 2);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var slow = new MediaScanOptions { BytesPerSecond = 16 << 20, CheckpointEvery = 1 << 20 };
        var first = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, WholeDevice = true, StateDir = State(fs), Options = slow }, null, out var err, cts.Token);
        Assert.True(first is not null, err);
        Out($"first run: {first.Result.Outcome} after {first.Result.ScannedBytes} bytes, next {first.Result.NextOffset}");
        Assert.Equal(MediaScanOutcome.Cancelled, first.Result.Outcome);
        Assert.InRange(first.Result.NextOffset, 1, first.Result.TotalBytes - 1);
        var cp = MediaScanCheckpoint.FromJson(File.ReadAllText(MediaScan.CheckpointPath(State(fs), fs.Mnt)), out err);
        Assert.True(cp is not null, err);
        Assert.Equal(first.Result.NextOffset, cp.NextOffset);

        var second = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, WholeDevice = true, StateDir = State(fs) }, null, out err)!;
        Out($"second run: resumed at {second.ResumedFrom}, {second.Result.Outcome}, read {second.Result.ScannedBytes} of {second.Result.TotalBytes}");
        Assert.Equal(cp.NextOffset, second.ResumedFrom);
        Assert.Equal(MediaScanOutcome.Completed, second.Result.Outcome);
        Assert.Equal(second.Result.TotalBytes - cp.NextOffset, second.Result.ScannedBytes);
        // a completed checkpoint does not resume: the next run starts from the beginning
        var third = MediaScan.Run(new MediaScanRequest { Mount = fs.Mnt, WholeDevice = true, StateDir = State(fs) }, null, out _)!;
        Assert.Equal(0, third.ResumedFrom);
        Assert.Equal(third.Result.TotalBytes, third.Result.ScannedBytes);
    }

    [Fact]
    public void Unmount_StopsTheScan_AndTheScanDoesNotBlockUnmount()
    {
        SkipUnlessPossible("ext4");
        using var fs = FaultyDisk("ext4", 1);
        MediaScanReport? rep = null; string? err = null;
        var progress = new List<MediaScanProgress>();
        var t = new Thread(() => rep = MediaScan.Run(new MediaScanRequest
        {
            Mount = fs.Mnt, WholeDevice = true, Options = new MediaScanOptions { BytesPerSecond = 8 << 20, ProgressEvery = TimeSpan.FromMilliseconds(100) },
        }, p => { lock (progress) progress.Add(p); }, out err));
        t.Start();
        Thread.Sleep(600);
        var (exit, output) = Ext4Loop.Run("umount", fs.Mnt);
        Assert.True(exit == 0, $"umount while scanning: {output}");
        Assert.True(t.Join(TimeSpan.FromSeconds(10)), "scan did not stop after unmount");
        Assert.True(rep is not null, err);
        Out($"stopped: {rep.Result.StopReason} at {rep.Result.NextOffset}; last progress: {progress.LastOrDefault()?.Format()}");
        Assert.Equal(MediaScanOutcome.Stopped, rep.Result.Outcome);
        Assert.Contains("unmounted", rep.Result.StopReason);
        Assert.NotEmpty(progress);
        Assert.Contains(progress, p => p.Eta is not null);
        Assert.InRange(progress[^1].BytesPerSecond, 1, 8.0 * 1.25 * (1 << 20)); // the bandwidth limit holds
    }
}
