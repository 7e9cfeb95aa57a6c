using FsHealer.Btrfs.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Devices;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Devices.Live;

namespace FsHealer.Devices.Live;

/// <summary>
/// The daemon's link from filesystem problems to block-device health (see <see cref="DeviceCorrelator"/>): an event
/// sink that notes problem events, attach/detach/move hooks, and <see cref="Tick"/> from the daemon loop, which
/// publishes the follow-up Diagnostic events and the periodic CounterRise events. Sampling happens on the daemon
/// thread, never on the publishing watcher's thread; its own events are never taken as new triggers.
/// </summary>
public sealed class DeviceHealthWatcher : IEventSink
{
    [ThreadStatic] private static bool t_publishing;
    private readonly DeviceCorrelator _correlator;
    private readonly EventHub _hub;
    private readonly Func<DateTimeOffset> _clock;
    private readonly Func<MountTarget, List<string>, FsDeviceSpec> _spec;

    public DeviceHealthWatcher(EventHub hub, ISysfsView? sysfs = null, TimeSpan? pollInterval = null, Func<DateTimeOffset>? clock = null,
                               Func<MountTarget, List<string>, FsDeviceSpec>? spec = null)
    {
        _hub = hub;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        _spec = spec ?? ((t, notes) => FsDeviceSpecs.For(t.PreferredPath, t.FsType, t.Dev, notes));
        _correlator = new DeviceCorrelator(sysfs ?? new SysfsDirectory()) { PollInterval = pollInterval ?? TimeSpan.FromSeconds(10) };
        hub.Add(this);
    }

    public DeviceCorrelator Correlator => _correlator;

    /// <summary>Resolve the device stack and take the baseline; returns the stack line for the attach log.</summary>
    public string Attach(MountTarget t)
    {
        var notes = new List<string>();
        var spec = _spec(t, notes);
        var line = _correlator.Attach(t.Dev, t.PreferredPath, t.FsType, t.Source, spec, _clock());
        return notes.Count > 0 ? $"{line} ({string.Join("; ", notes)})" : line;
    }

    public void Detach(MountTarget t) => _correlator.Detach(t.Dev);
    public void Moved(MountTarget t) => _correlator.Moved(t.Dev, t.PreferredPath);

    public void Publish(FsEvent e)
    {
        if (t_publishing) return;
        _correlator.NoteProblem(e);
    }

    public void Tick()
    {
        var events = _correlator.Tick(_clock());
        if (events.Count == 0) return;
        t_publishing = true;
        try { foreach (var e in events) _hub.Publish(e); }
        finally { t_publishing = false; }
    }
}
