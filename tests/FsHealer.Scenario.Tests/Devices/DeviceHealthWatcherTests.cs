using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Devices;
using FsHealer.Model;
using FsHealer.Mounts;

namespace FsHealer.Scenario.Tests.Devices;

/// <summary>The daemon's device-health hook over a fake sysfs tree: problem events published on the hub get one
/// follow-up Diagnostic at the next tick; a rising ioerr_cnt between ticks becomes a CounterRise; the hook's own
/// events never trigger it again.</summary>
public sealed class DeviceHealthWatcherTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fshealer-sysfs-").FullName;
    private const string Host = "devices/pci0000:00/0000:00:10.0/host1/target1:0:0/1:0:0:0";

    public DeviceHealthWatcherTests()
    {
        W($"{Host}/scsi_level", "7\n");
        W($"{Host}/state", "running\n");
        W($"{Host}/ioerr_cnt", "0x3\n");
        W($"{Host}/block/sdb/dev", "8:16\n");
        W($"{Host}/block/sdb/uevent", "DEVTYPE=disk\n");
        W($"{Host}/block/sdb/sdb1/dev", "8:17\n");
        W($"{Host}/block/sdb/sdb1/partition", "1\n");
        W($"{Host}/block/sdb/sdb1/uevent", "DEVTYPE=partition\n");
        L($"{Host}/block/sdb/device", Host);
        L("dev/block/8:17", $"{Host}/block/sdb/sdb1");
    }

    private void W(string rel, string text)
    {
        var p = Path.Combine(_root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, text);
    }

    private void L(string rel, string target)
    {
        var p = Path.Combine(_root, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.CreateSymbolicLink(p, Path.GetRelativePath(Path.GetDirectoryName(p)!, Path.Combine(_root, target)));
    }

    public void Dispose() { try { Directory.Delete(_root, true); } catch (IOException) { } }

    private sealed class Collect : IEventSink
    {
        public readonly List<FsEvent> Events = [];
        public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
    }

    [Fact]
    public void ProblemOnHub_FollowUpAndPeriodicRise_NoSelfTrigger()
    {
        var hub = new EventHub();
        var sink = new Collect();
        hub.Add(sink);
        var now = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        var w = new DeviceHealthWatcher(hub, new SysfsDirectory(_root), TimeSpan.FromSeconds(10), () => now, (t, _) => new FsDeviceSpec([t.Dev]));
        var target = new MountTarget
        {
            DevKey = (8UL << 32) | 17, Dev = "8:17", FsType = "ext4", Source = "/dev/sdb1", PreferredMountId = 1, PreferredPath = "/srv",
            Mounts = [(1UL, "/srv")],
        };
        Assert.Equal("sdb1 (partition) <- sdb (scsi)", w.Attach(target));
        w.Tick();
        Assert.Empty(sink.Events);

        // a filesystem error arrives from a watcher thread; the follow-up is published by the tick, on this thread
        var t = new Thread(() => hub.Publish(new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/srv", FsType = "ext4", Message = "/srv: EIO" }));
        t.Start();
        t.Join();
        W($"{Host}/ioerr_cnt", "0xb\n");
        now = now.AddSeconds(10);
        w.Tick();
        var diag = Assert.Single(sink.Events, e => e.Class == EventClass.Diagnostic);
        Assert.Equal("/srv: on sdb (scsi, state running) via sdb1: sdb ioerr_cnt 3 -> 11 (+8)", diag.Message);
        var rise = Assert.Single(sink.Events, e => e.Class == EventClass.CounterRise);
        Assert.Equal(("/dev/sdb", "ioerr_cnt", 8L), (rise.Device, rise.Structure, rise.Count));   // the hub names devices by path

        // the CounterRise the hook published itself did not ask for another follow-up
        now = now.AddMinutes(5);
        sink.Events.Clear();
        w.Tick();
        Assert.Empty(sink.Events);

        // a CounterRise from another source (btrfs dev stats, say) does
        hub.Publish(new FsEvent { Class = EventClass.CounterRise, Severity = Severity.Error, Mount = "/srv", FsType = "ext4", Message = "/srv: x" });
        w.Tick();
        Assert.Single(sink.Events, e => e.Class == EventClass.Diagnostic);

        w.Detach(target);
        Assert.Equal(0, w.Correlator.Count);
    }
}
