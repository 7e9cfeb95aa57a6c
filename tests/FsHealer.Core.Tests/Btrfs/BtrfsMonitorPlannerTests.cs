using FsHealer.Text;
using FsHealer.Btrfs;

namespace FsHealer.Core.Tests.Btrfs;

public sealed class BtrfsMonitorTests
{
    private const string Fs = "2e5a8ab0-4828-4e67-bbb5-41da6f3bbf31";
    private static readonly Guid U1 = Guid.Parse("00000000-0000-0000-0000-000000000001");
    private static readonly Guid U2 = Guid.Parse("00000000-0000-0000-0000-000000000002");
    private static readonly Guid U3 = Guid.Parse("00000000-0000-0000-0000-000000000003");

    private static DeviceSample S(ulong devid, Guid uuid, ulong w = 0, ulong r = 0, ulong f = 0, ulong c = 0, ulong g = 0, string? path = null) =>
        new(devid, uuid, path ?? $"/dev/loop{devid}", new DevStatCounters(w, r, f, c, g));

    [Fact]
    public void Attach_TakesBaseline_ThenRiseNamesDeviceAndCounter()
    {
        var m = new DevStatsMonitor();
        var ev = m.Observe(Fs, [S(1, U1, c: 3), S(2, U2)]);
        Assert.DoesNotContain(ev, e => e.Kind == DevStatsEventKind.Rise);
        Assert.Contains(ev, e => e.Kind == DevStatsEventKind.Baseline && e.Devid == 1 && e.Counter == DevStatKind.CorruptionErrs && e.New == 3);
        Assert.Empty(m.Observe(Fs, [S(1, U1, c: 3), S(2, U2)]));
        ev = m.Observe(Fs, [S(1, U1, c: 3), S(2, U2, r: 2, c: 1)]);
        Assert.Equal(2, ev.Count);
        Assert.All(ev, e => { Assert.Equal(DevStatsEventKind.Rise, e.Kind); Assert.Equal(2UL, e.Devid); Assert.False(e.WhileDown); });
        var read = ev.Single(e => e.Counter == DevStatKind.ReadErrs);
        Assert.Equal((0UL, 2UL, 2UL), (read.Old, read.New, read.Delta));
        Assert.Contains("/dev/loop2 (devid 2): read_io_errs rose 0 -> 2 (+2)", read.Describe());
    }

    [Fact]
    public void PersistedBaseline_RiseWhileDownReportedAtStart()
    {
        var a = new DevStatsMonitor();
        a.Observe(Fs, [S(1, U1, c: 1), S(2, U2)]);
        Assert.True(a.Dirty);
        string json = a.Snapshot();
        Assert.False(a.Dirty);
        Assert.Contains("\"counters\"", json, StringComparison.Ordinal);

        var saved = DevStatsState.FromJson(json, out var err);
        Assert.Null(err);
        var b = new DevStatsMonitor(saved);
        var ev = b.Observe(Fs, [S(1, U1, c: 4), S(2, U2)]);
        var rise = Assert.Single(ev);
        Assert.Equal(DevStatsEventKind.Rise, rise.Kind);
        Assert.True(rise.WhileDown);
        Assert.Equal((1UL, 4UL), (rise.Old, rise.New));
        Assert.Contains("while fshealer was not running", rise.Describe());
        // Later rises are live ones.
        Assert.False(Assert.Single(b.Observe(Fs, [S(1, U1, c: 5), S(2, U2)])).WhileDown);
    }

    [Fact]
    public void CounterGoingDown_IsResetNotNegativeRise()
    {
        var m = new DevStatsMonitor();
        m.Observe(Fs, [S(1, U1, c: 7, r: 2)]);
        var ev = m.Observe(Fs, [S(1, U1)]);
        Assert.DoesNotContain(ev, e => e.Kind == DevStatsEventKind.Rise);
        Assert.Equal(2, ev.Count(e => e.Kind == DevStatsEventKind.Reset));
        // After the reset the baseline is the new value: no spurious events, then a real rise from 0.
        Assert.Empty(m.Observe(Fs, [S(1, U1)]));
        var r = Assert.Single(m.Observe(Fs, [S(1, U1, c: 1)]));
        Assert.Equal((DevStatsEventKind.Rise, 0UL, 1UL), (r.Kind, r.Old, r.New));
        // Reset and new errors within one poll: the errors since the reset count as a rise of that size.
        m.Observe(Fs, [S(1, U1, c: 10)]);
        ev = m.Observe(Fs, [S(1, U1, c: 2)]);
        Assert.Contains(ev, e => e.Kind == DevStatsEventKind.Reset);
        var rr = Assert.Single(ev, e => e.Kind == DevStatsEventKind.Rise);
        Assert.Equal(2UL, rr.Delta);
    }

    [Fact]
    public void DeviceReplaced_NewBaselineNoRise_RemovedDeviceReported()
    {
        var m = new DevStatsMonitor();
        m.Observe(Fs, [S(1, U1, c: 9), S(2, U2)]);
        var ev = m.Observe(Fs, [S(1, U3, c: 0, path: "/dev/loop7"), S(2, U2)]);
        var rep = Assert.Single(ev);
        Assert.Equal(DevStatsEventKind.Replaced, rep.Kind);
        Assert.Contains("/dev/loop7", rep.Describe());
        Assert.Single(m.Observe(Fs, [S(1, U3, c: 1, path: "/dev/loop7"), S(2, U2)]), e => e.Kind == DevStatsEventKind.Rise);
        var gone = Assert.Single(m.Observe(Fs, [S(1, U3, c: 1, path: "/dev/loop7")]));
        Assert.Equal((DevStatsEventKind.Removed, 2UL), (gone.Kind, gone.Devid));
        Assert.Single(m.State.Find(Fs)!.Devices);
    }

    [Fact]
    public void StateJson_RoundTrip_AndGarbageRejected()
    {
        var m = new DevStatsMonitor();
        m.Observe(Fs, [S(1, U1, 1, 2, 3, 4, 5)]);
        m.RecordFullScrub(Fs, new DateTimeOffset(2026, 11, 21, 18, 0, 0, TimeSpan.Zero));
        var s = DevStatsState.FromJson(m.Snapshot(), out var err)!;
        Assert.Null(err);
        var d = s.Find(Fs.ToUpperInvariant())!.Devices.Single();
        Assert.Equal([1UL, 2, 3, 4, 5], d.Counters);
        Assert.Equal(U1.ToString(), d.Uuid);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 18, 0, 0, TimeSpan.Zero), s.Find(Fs)!.LastFullScrub);
        Assert.Null(DevStatsState.FromJson("{not json", out err));
        Assert.Contains("state file", err);
        Assert.Null(DevStatsState.FromJson("null", out err));
        // Wrong-length counters are padded, nulls dropped.
        var fixedUp = DevStatsState.FromJson("""{"filesystems":[null,{"fsid":"x","devices":[null,{"devid":1,"counters":[1]}]}]}""", out err)!;
        Assert.Null(err);
        Assert.Equal([1UL, 0, 0, 0, 0], fixedUp.Find("x")!.Devices.Single().Counters);
    }
}

public sealed class BtrfsPlannerTests
{
    private const string Fs = "fs";
    private static DevStatsEvent Rise(ulong devid, DevStatKind k, ulong from = 0, ulong to = 1) =>
        new(DevStatsEventKind.Rise, Fs, devid, $"/dev/loop{devid}", k, from, to, false);

    [Fact]
    public void RiseOnTriggerCounter_ScrubsThatDeviceOnly_NeverTwiceAtOnce()
    {
        var p = new ScrubPlanner(new BtrfsScrubOptions { ReadOnly = true, LimitBytesPerSecond = 1000 });
        var r1 = p.OnEvent(Rise(2, DevStatKind.CorruptionErrs), out var note);
        Assert.NotNull(r1);
        Assert.Null(note);
        Assert.Equal((2UL, "/dev/loop2", true, (ulong?)1000UL, ScrubReason.CounterRise), (r1!.Devid, r1.Path, r1.ReadOnly, r1.LimitBytesPerSecond, r1.Reason));
        Assert.True(p.IsRunning(Fs, 2));
        // Same device while running: not started, queued once.
        Assert.Null(p.OnEvent(Rise(2, DevStatKind.ReadErrs), out note));
        Assert.Contains("already in progress", note);
        Assert.Null(p.OnEvent(Rise(2, DevStatKind.CorruptionErrs, 1, 2), out _));
        // Another device runs in parallel.
        Assert.NotNull(p.OnEvent(Rise(1, DevStatKind.GenerationErrs), out _));
        // Completion hands back exactly one follow-up, which is marked running.
        var next = p.Complete(Fs, 2);
        Assert.NotNull(next);
        Assert.True(p.IsRunning(Fs, 2));
        Assert.Null(p.Complete(Fs, 2));
        Assert.False(p.IsRunning(Fs, 2));
    }

    [Fact]
    public void NonTriggerCountersAndOtherEvents_DoNotScrub()
    {
        var p = new ScrubPlanner(new BtrfsScrubOptions());
        Assert.Null(p.OnEvent(Rise(1, DevStatKind.WriteErrs), out _));
        Assert.Null(p.OnEvent(Rise(1, DevStatKind.FlushErrs), out _));
        Assert.Null(p.OnEvent(new DevStatsEvent(DevStatsEventKind.Reset, Fs, 1, "/dev/x", DevStatKind.CorruptionErrs, 5, 0, false), out _));
        Assert.Null(p.OnEvent(new DevStatsEvent(DevStatsEventKind.Baseline, Fs, 1, "/dev/x", DevStatKind.CorruptionErrs, 0, 5, false), out _));
        Assert.False(p.IsRunning(Fs, 1));
    }

    [Fact]
    public void Outcome_AlreadyRunningIsSuccess_CancelAndFailureClassified()
    {
        var prog = ScrubProgress.Empty with { CorrectedErrors = 2, UncorrectableErrors = 1, LastPhysical = 4096 };
        var ok = ScrubOutcome.Classify(1, 0, prog, "/dev/loop0");
        Assert.Equal((ScrubOutcomeKind.Completed, true, 2UL, 1UL), (ok.Kind, ok.Success, ok.Corrected, ok.Uncorrectable));
        var busy = ScrubOutcome.Classify(1, Errno.EINPROGRESS, null, "/dev/loop0");
        Assert.Equal(ScrubOutcomeKind.AlreadyRunning, busy.Kind);
        Assert.True(busy.Success);
        Assert.Contains("already running", busy.Message);
        var cancelled = ScrubOutcome.Classify(1, Errno.ECANCELED, prog, "/dev/loop0");
        Assert.False(cancelled.Success);
        Assert.Contains("cancelled at physical 4096", cancelled.Message);
        var fail = ScrubOutcome.Classify(3, Errno.EROFS, null, "/dev/loop0");
        Assert.Equal(ScrubOutcomeKind.Failed, fail.Kind);
        Assert.Contains("devid 3", fail.Message);
        Assert.Contains("EROFS: Read-only file system", fail.Message);
    }

    [Fact]
    public void ScheduledFullScrub_IntervalAndRecentSkip()
    {
        var now = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        Assert.False(new ScrubPlanner(new BtrfsScrubOptions()).FullScrubDue(null, now, out var why));
        Assert.Contains("no scheduled", why);
        var p = new ScrubPlanner(new BtrfsScrubOptions { FullScrubInterval = TimeSpan.FromDays(30) });
        Assert.True(p.FullScrubDue(null, now, out why));
        Assert.True(p.FullScrubDue(now.AddDays(-31), now, out _));
        Assert.False(p.FullScrubDue(now.AddDays(-2), now, out why));
        Assert.Contains("skipped", why);
    }
}

public sealed class BtrfsDamageResolverTests
{
    private sealed class FakeLookup : IBtrfsInodeLookup
    {
        public ulong FdRootId => 5;
        public Dictionary<ulong, (int, LogicalInoResult?)> Logical { get; } = [];
        public Dictionary<ulong, (int, InoPathsResult?)> Paths { get; } = [];
        public int LogicalToInodes(ulong logical, out LogicalInoResult? result)
        {
            if (Logical.TryGetValue(logical, out var v)) { result = v.Item2; return v.Item1; }
            result = null; return Errno.ENOENT;
        }
        public int InodePaths(ulong inode, out InoPathsResult? result)
        {
            if (Paths.TryGetValue(inode, out var v)) { result = v.Item2; return v.Item1; }
            result = null; return Errno.ENOENT;
        }
    }

    [Fact]
    public void LogicalToInodeToPaths()
    {
        var f = new FakeLookup();
        f.Logical[1000] = (0, new LogicalInoResult([new(257, 8192, 5), new(300, 0, 256)], 0, 0));
        f.Paths[257] = (0, new InoPathsResult(["victim", "dir/hardlink"], 0, 0));
        f.Logical[2000] = (Errno.EPERM, null);
        var r = DamageResolver.Resolve(f, [1000, 1000, 2000, 3000], "/mnt/");
        Assert.Equal(4, r.Count);
        Assert.Equal(["/mnt/victim", "/mnt/dir/hardlink"], r[0].Paths);
        Assert.Equal("logical 1000: /mnt/victim, /mnt/dir/hardlink (root 5 inode 257 offset 8192)", r[0].Describe());
        Assert.Contains("subvolume 256", r[1].Describe());
        Assert.Contains("EPERM", r[2].Describe());
        Assert.Contains("metadata or freed space", r[3].Describe());
    }
}
