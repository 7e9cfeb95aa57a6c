using FsHealer.Devices;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Devices;

public sealed class DeviceCorrelatorTests : IDisposable
{
    private readonly FakeSysfs _fs = new();
    private readonly DateTimeOffset _t0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private readonly string _sdb, _sdbDev, _md;

    public DeviceCorrelatorTests()
    {
        // sdb1 -> /srv, sdb2 -> /data (same disk); md0 over sdc1+sdd1 -> /raid
        _sdb = _fs.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        _sdbDev = FakeSysfs.ScsiDeviceOf(_sdb);
        _fs.Partition(_sdb, "sdb1", "8:17");
        _fs.Partition(_sdb, "sdb2", "8:18");
        var sdc = _fs.Disk("sdc", "8:32", FakeSysfs.Scsi(2));
        var sdd = _fs.Disk("sdd", "8:48", FakeSysfs.Scsi(3));
        _md = _fs.Virtual("md0", "9:0");
        _fs.Write($"{_md}/md/level", "raid1\n");
        _fs.Write($"{_md}/md/degraded", "0\n");
        _fs.Write($"{_md}/md/sync_action", "idle\n");
        _fs.Slave(_md, _fs.Partition(sdc, "sdc1", "8:33"));
        _fs.Slave(_md, _fs.Partition(sdd, "sdd1", "8:49"));
    }

    public void Dispose() => _fs.Dispose();

    private DeviceCorrelator New()
    {
        var c = new DeviceCorrelator(_fs.View()) { PollInterval = TimeSpan.FromSeconds(10) };
        c.Attach("8:17", "/srv", "ext4", "/dev/sdb1", new FsDeviceSpec(["8:17"]), _t0);
        c.Attach("8:18", "/data", "xfs", "/dev/sdb2", new FsDeviceSpec(["8:18"]), _t0);
        c.Attach("9:0", "/raid", "ext4", "/dev/md0", new FsDeviceSpec(["9:0"]), _t0);
        return c;
    }

    private static FsEvent Problem(string mount, EventClass c = EventClass.MetadataCorrupt) =>
        new() { Class = c, Severity = Severity.Error, Mount = mount, FsType = "ext4", Message = $"{mount}: corrupt" };

    [Fact]
    public void ProblemEvent_GivesOneFollowUp_NamingTheDeviceAndTheRise()
    {
        var c = New();
        Assert.Equal("sdb1 (partition) <- sdb (scsi)", c.StackOf("/srv"));
        Assert.Empty(c.Tick(_t0)); // first poll: nothing rose
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0xb\n");
        Assert.True(c.NoteProblem(Problem("/srv")));
        Assert.True(c.NoteProblem(Problem("/srv", EventClass.IoError)));
        var events = c.Tick(_t0.AddSeconds(1));
        var d = Assert.Single(events);
        Assert.Equal(EventClass.Diagnostic, d.Class);
        Assert.Equal(Severity.Warning, d.Severity);
        Assert.Equal("/srv", d.Mount);
        Assert.Equal("/srv: on sdb (scsi, state running) via sdb1: sdb ioerr_cnt 3 -> 11 (+8)", d.Message);
        Assert.Equal(1, d.Count);
    }

    [Fact]
    public void FollowUp_IsRateLimitedPerFilesystem_AndCoalesced()
    {
        var c = New();
        c.Tick(_t0);
        c.NoteProblem(Problem("/srv"));
        Assert.Single(c.Tick(_t0.AddSeconds(1)));
        // an error storm: 1000 events within the minute → nothing until the minute is over, then exactly one
        for (int i = 0; i < 1000; i++) c.NoteProblem(Problem("/srv", EventClass.IoError));
        c.NoteProblem(Problem("/data"));
        var inMinute = c.Tick(_t0.AddSeconds(5));
        Assert.Equal(["/data"], inMinute.Where(e => e.Class == EventClass.Diagnostic).Select(e => e.Mount));
        Assert.DoesNotContain(c.Tick(_t0.AddSeconds(30)), e => e.Class == EventClass.Diagnostic);
        var later = c.Tick(_t0.AddSeconds(61)).Where(e => e.Class == EventClass.Diagnostic).ToList();
        Assert.Equal(["/srv"], later.Select(e => e.Mount));
        Assert.DoesNotContain(c.Tick(_t0.AddSeconds(200)), e => e.Class == EventClass.Diagnostic);
    }

    [Fact]
    public void NonProblems_AndUnknownFilesystems_AskForNothing()
    {
        var c = New();
        Assert.False(c.NoteProblem(Problem("/srv", EventClass.Attached)));
        Assert.False(c.NoteProblem(Problem("/srv", EventClass.Diagnostic)));
        Assert.False(c.NoteProblem(Problem("/elsewhere")));
        Assert.Empty(c.Tick(_t0));
        // matched by device when the mount differs (an event that names the source)
        Assert.True(c.NoteProblem(Problem("/other") with { Device = "/dev/md0" }));
        Assert.Equal("/raid", Assert.Single(c.Tick(_t0.AddSeconds(1))).Mount);
    }

    [Fact]
    public void NoCounters_FollowUpSaysSo()
    {
        var c = New();
        c.Tick(_t0);
        c.NoteProblem(Problem("/srv"));
        var d = Assert.Single(c.Tick(_t0.AddSeconds(1)));
        Assert.Equal("/srv: on sdb (scsi, state running) via sdb1: no device error counter rose since attach at 2026-11-21 12:00:00Z", d.Message);
        Assert.Equal(Severity.Info, d.Severity);
        Assert.Null(d.Count);
    }

    [Fact]
    public void PeriodicCheck_RisingIoerr_IsACounterRiseForEveryFilesystemOnTheDisk()
    {
        var c = New();
        Assert.Empty(c.Tick(_t0));
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0x5\n");
        Assert.Empty(c.Tick(_t0.AddSeconds(5))); // not yet a poll
        var rises = c.Tick(_t0.AddSeconds(10));
        Assert.Equal(["/data", "/srv"], rises.Select(e => e.Mount).Order());
        Assert.All(rises, e =>
        {
            Assert.Equal(EventClass.CounterRise, e.Class);
            Assert.Equal("sdb", e.Device);
            Assert.Equal("ioerr_cnt", e.Structure);
            Assert.Equal(2, e.Count);
            Assert.EndsWith("block device sdb (scsi) under this filesystem: ioerr_cnt 3 -> 5 (+2)", e.Message);
        });
        // reported once; a reset (re-probed device) is not a rise; the next rise counts from the reset
        Assert.Empty(c.Tick(_t0.AddSeconds(20)));
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0x0\n");
        Assert.Empty(c.Tick(_t0.AddSeconds(30)));
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0x1\n");
        Assert.Equal(2, c.Tick(_t0.AddSeconds(40)).Count(e => e.Count == 1));
    }

    [Fact]
    public void PeriodicCheck_MdDegraded_AndStateChanges()
    {
        var c = New();
        c.Tick(_t0);
        _fs.Write($"{_md}/md/degraded", "1\n");
        _fs.Write($"{_md}/md/sync_action", "recover\n");
        var e = c.Tick(_t0.AddSeconds(10));
        Assert.All(e, x => Assert.Equal("/raid", x.Mount));
        var deg = Assert.Single(e, x => x.Structure == "degraded");
        Assert.Equal(Severity.Critical, deg.Severity);
        Assert.Contains("degraded 0 -> 1 (+1)", deg.Message);
        Assert.Contains("sync_action idle -> recover", Assert.Single(e, x => x.Structure == "sync_action").Message);
        // the follow-up names the array's state
        c.NoteProblem(Problem("/raid", EventClass.IoError));
        var d = Assert.Single(c.Tick(_t0.AddSeconds(11)));
        Assert.Equal("/raid: on sdc (scsi, state running), sdd (scsi, state running) via md0, sdc1, sdd1: md0 degraded 0 -> 1 (+1); md0 sync_action recover", d.Message);

        // a disk going offline
        _fs.Write($"{_sdbDev}/state", "offline\n");
        var off = c.Tick(_t0.AddSeconds(20));
        Assert.Equal(2, off.Count);
        Assert.All(off, x => Assert.Contains("block device sdb (scsi) under this filesystem: state running -> offline", x.Message));
    }

    [Fact]
    public void DetachAndMove()
    {
        var c = New();
        c.Moved("8:17", "/srv2");
        Assert.Null(c.StackOf("/srv"));
        Assert.NotNull(c.StackOf("/srv2"));
        c.Detach("8:18");
        c.Tick(_t0);
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0x4\n");
        Assert.Equal(["/srv2"], c.Tick(_t0.AddSeconds(10)).Select(e => e.Mount));
        c.Detach("8:17");
        c.Detach("9:0");
        Assert.Equal(0, c.Count);
        Assert.Empty(c.Tick(_t0.AddSeconds(20)));
    }

    [Fact]
    public void DevicesAppearingLater_AreBaselinedNotReported()
    {
        var c = new DeviceCorrelator(_fs.View());
        c.Attach("0:50", "/b", "btrfs", "/dev/sde", new FsDeviceSpec([], "ffffffff-0000-0000-0000-000000000001"), _t0);
        Assert.Equal("no block device found (btrfs ffffffff-0000-0000-0000-000000000001: no devices listed in fs/btrfs/ffffffff-0000-0000-0000-000000000001/devices)", c.StackOf("/b"));
        c.Tick(_t0);
        _fs.Link("fs/btrfs/ffffffff-0000-0000-0000-000000000001/devices/sdb", _sdb);
        Assert.Empty(c.Tick(_t0.AddMinutes(2))); // resolved again; sdb's first sample is its baseline
        _fs.Write($"{_sdbDev}/ioerr_cnt", "0x9\n");
        Assert.Equal("ioerr_cnt 3 -> 9 (+6)", Assert.Single(c.Tick(_t0.AddMinutes(3))).Message.Split(": ")[^1]);
    }
}

public sealed class DeviceCorrelatorCostTests
{
    /// <summary>Bytes one quiet periodic poll allocates per filesystem, with <paramref name="n"/> filesystems each on
    /// its own SCSI disk (warm: first poll and resolution done).</summary>
    private static double BytesPerFilesystemPerPoll(int n)
    {
        using var fake = new FakeSysfs();
        var t0 = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        var c = new DeviceCorrelator(fake.View()) { PollInterval = TimeSpan.FromSeconds(10), TopologyRefresh = TimeSpan.FromDays(1) };
        for (int i = 0; i < n; i++)
        {
            fake.Disk($"sd{i}", $"8:{16 * i}", FakeSysfs.Scsi(i + 1));
            c.Attach($"8:{16 * i}", $"/m{i}", "ext4", $"/dev/sd{i}", new FsDeviceSpec([$"8:{16 * i}"]), t0);
        }
        Assert.Empty(c.Tick(t0));
        Assert.Empty(c.Tick(t0.AddSeconds(10)));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int p = 2; p < 12; p++) Assert.Empty(c.Tick(t0.AddSeconds(10 * p)));
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 10.0 / n;
    }

    [Fact]
    public void QuietPoll_CostIsLinearInFilesystems()
    {
        // the poll once compared every device with every filesystem through LINQ (4.9 MB per poll at 100
        // filesystems, 0.1 MB at 10): per filesystem, a poll must cost the same at 200 as at 20
        double small = BytesPerFilesystemPerPoll(20), large = BytesPerFilesystemPerPoll(200);
        Assert.True(large <= 1.5 * small, $"{large:0} bytes per filesystem per poll at 200, {small:0} at 20");
        Assert.True(large < 4096, $"{large:0} bytes per filesystem per poll");
    }
}

public sealed class DeviceCorrelatorDegradedAtAttachTests
{
    [Fact]
    public void DegradedAtAttach_IsNamedInTheFollowUp()
    {
        using var fs = new FakeSysfs();
        var sdb = fs.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        var md = fs.Virtual("md0", "9:0");
        fs.Write($"{md}/md/level", "raid1\n");
        fs.Write($"{md}/md/degraded", "1\n");
        fs.Slave(md, sdb);
        var t0 = DateTimeOffset.UnixEpoch;
        var c = new DeviceCorrelator(fs.View());
        c.Attach("9:0", "/srv", "xfs", "/dev/md0", new FsDeviceSpec(["9:0"]), t0);
        Assert.Empty(c.Tick(t0)); // degraded since before attach: not a rise
        c.NoteProblem(new FsEvent { Class = EventClass.Shutdown, Severity = Severity.Critical, Mount = "/srv", FsType = "xfs", Message = "/srv: shut down" });
        var d = Assert.Single(c.Tick(t0.AddSeconds(1)));
        Assert.Equal("/srv: on sdb (scsi, state running) via md0: md0 degraded 1", d.Message);
        Assert.Equal(Severity.Warning, d.Severity);
    }
}
