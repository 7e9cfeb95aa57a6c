using FsHealer.Config;
using FsHealer.Core.Tests.Devices;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Service;

namespace FsHealer.Core.Tests.Healing;

/// <summary>The live scheduler's view of a multi-device btrfs (sysfs faked): its I/O is its members' and it occupies
/// every member's disk.</summary>
public sealed class BtrfsCheckSchedulerTests : IDisposable
{
    private static readonly Guid U = Guid.Parse("e5f355a5-f04e-420b-a3e5-b4b99e9635ae");
    private readonly FakeSysfs _sys = new();
    private readonly string _sdb1, _sdc1;

    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = DateTimeOffset.Parse("2026-12-05T12:00:00Z");
        public override DateTimeOffset GetUtcNow() => Now;
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }

    /// <summary>Nothing is really checked here: every probe fails (the plan is refused), only the scheduling counts.</summary>
    private sealed class NoHost : IHealHost
    {
        public MountProbe ProbeMount(string path) => MountProbe.Failed("no host");
        public DeviceProbe ProbeDevice(string device) => DeviceProbe.Failed(device, "no host");
        public int Unmount(string path) => FsHealer.Text.Errno.EINVAL;
        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort) => new(-1, "no host");
        public int Mount(string device, string path, RemountSpec spec, out string detail) { detail = "no host"; return FsHealer.Text.Errno.EINVAL; }
        public int ReplayLog(string device, string fsType, out string detail) { detail = "no host"; return FsHealer.Text.Errno.EINVAL; }
        public void Sleep(TimeSpan t) { }
    }

    public BtrfsCheckSchedulerTests()
    {
        var sdb = _sys.Disk("sdb", "8:16", FakeSysfs.Scsi(1));
        var sdc = _sys.Disk("sdc", "8:32", FakeSysfs.Scsi(2));
        _sdb1 = _sys.Partition(sdb, "sdb1", "8:17");
        _sdc1 = _sys.Partition(sdc, "sdc1", "8:33");
        _sys.Partition(sdc, "sdc2", "8:34");
        _sys.Link($"fs/btrfs/{U:D}/devices/sdb1", _sdb1);
        _sys.Link($"fs/btrfs/{U:D}/devices/sdc1", _sdc1);
    }

    public void Dispose() => _sys.Dispose();

    private static readonly EffectivePolicy Due = EffectivePolicy.Defaults with { ScheduledCheck = true, MaxCheckAge = TimeSpan.FromMinutes(1) };
    private static readonly WatchedFilesystem Btrfs = new(new(FilesystemIdentity.DevKeyOf(0, 45), "btrfs", U), "/mnt/bt", 1, "/dev/sdb1", Due);
    private static readonly WatchedFilesystem Ext4 = new(new(FilesystemIdentity.DevKeyOf(8, 34), "ext4", Guid.NewGuid()), "/mnt/e", 2, "/dev/sdc2", Due);

    private static string Stat(ulong sectorsRead) => $"     100        0     {sectorsRead}       50       10        0       80        5        0       60       55        0        0        0        0        0        0\n";

    [Fact]
    public void A_multi_device_btrfs_occupies_every_members_disk()
    {
        var time = new ManualTime();
        var console = new MemoryConsole();
        using var ctx = new DaemonContext(console, new DaemonOptions(), host: new NoHost());
        var s = new CheckScheduler(ctx, _sys.View(), time);
        s.Tick([(Btrfs, "0:45", true), (Ext4, "8:34", true)]);   // first samples: measuring
        Assert.Equal(0, s.Planner.Running);
        time.Now += CheckScheduler.SampleInterval;
        s.Tick([(Btrfs, "0:45", true), (Ext4, "8:34", true)]);
        // the btrfs (first: most overdue) starts; the ext4 on the other partition of one of its members' disks waits
        Assert.Contains(console.Stdout, l => l.StartsWith("/mnt/bt: scheduled check: last successful check older than") && l.EndsWith("checking it"));
        Assert.Contains(console.Stdout, l => l == "/mnt/e: scheduled check: check overdue; waiting: another check is reading sdc");
        Assert.DoesNotContain(console.Stdout, l => l.StartsWith("/mnt/e: scheduled check: last successful check"));
    }

    [Fact]
    public void The_io_rate_of_a_btrfs_is_the_sum_over_its_members()
    {
        var time = new ManualTime();
        var console = new MemoryConsole();
        using var ctx = new DaemonContext(console, new DaemonOptions(), host: new NoHost());
        var s = new CheckScheduler(ctx, _sys.View(), time);
        s.Tick([(Btrfs, "0:45", true)]);
        // sdc1 (the second member) reads 40 MiB in 5 s: busy, although the first member is quiet
        _sys.Write($"{_sdc1}/stat", Stat(2000 + 40 * 2048));
        time.Now += CheckScheduler.SampleInterval;
        s.Tick([(Btrfs, "0:45", true)]);
        Assert.Contains(console.Stdout, l => l.StartsWith("/mnt/bt: scheduled check: check overdue; waiting until it is idle (8192 KiB/s"));
        Assert.Equal(0, s.Planner.Running);
        // quiet on both: it starts
        time.Now += CheckScheduler.SampleInterval;
        s.Tick([(Btrfs, "0:45", true)]);
        Assert.Contains(console.Stdout, l => l.StartsWith("/mnt/bt: scheduled check: last successful check older than"));
    }
}
