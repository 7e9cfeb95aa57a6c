using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using System.Runtime.InteropServices;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Service.Live;

namespace FsHealer.Healing.Live;

/// <summary>A running monitor for one filesystem (one mount target).</summary>
public interface IFsWatcher : IDisposable
{
    /// <summary>How this filesystem is watched ("XFS health monitor", "fanotify FAN_FS_ERROR", ...).</summary>
    string How { get; }
    /// <summary>The filesystem moved to another mount point.</summary>
    void Moved(string newPath) { }
}

/// <summary>Creates watchers for a filesystem type. A data table maps fs types to factories.</summary>
public delegate IFsWatcher? WatcherFactory(MountTarget target, DaemonContext ctx);

public sealed class DaemonContext(IHealerConsole console, DaemonOptions options)
{
    public IHealerConsole Console { get; } = console;
    public DaemonOptions Options { get; } = options;
    /// <summary>Every watcher publishes here; history, status, notifications and metrics subscribe.</summary>
    public FsHealer.Model.EventHub Events { get; } = new(d => console.Err($"fshealer: {d}"));

    /// <summary>The configuration (reloaded on SIGHUP); null = built-in defaults.</summary>
    public FsHealer.Config.ConfigStore? Config { get; init; }

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<MountTarget, FsHealer.Config.EffectivePolicy> _policies = new();

    /// <summary>The effective policy for a filesystem: the first matching config rule over the command-line options.
    /// Computed once per attached target (watchers and the decision record all ask; UUID/label may cost a blkid run).</summary>
    public FsHealer.Config.EffectivePolicy PolicyFor(MountTarget t) =>
        _policies.TryGetValue(t, out var p) ? p : _policies.GetValue(t, ComputePolicy);   // hit: no callback delegate allocated

    /// <summary>A filesystem moved (same superblock, new mount point): it keeps the policy it was attached and recorded
    /// with, rather than the one a mount-point rule would give the new path.</summary>
    public void CarryPolicy(MountTarget from, MountTarget to) => _policies.AddOrUpdate(to, PolicyFor(from));

    private FsHealer.Config.EffectivePolicy ComputePolicy(MountTarget t)
    {
        var cfg = Config?.Current;
        // UUID/label lookups (udev links, blkid) only when a rule matches on them: attach stays cheap otherwise
        var id = cfg is not null && cfg.Rules.Any(r => r.Uuid is not null || r.Label is not null)
            ? FsHealer.Mounts.Live.SupportedFilesystems.Identify(t)
            : new FsHealer.Config.FsIdentity(t.PreferredPath, t.FsType);
        var p = cfg?.PolicyFor(id) ?? FsHealer.Config.EffectivePolicy.Defaults;
        // command-line switches raise the policy (they never lower what the configuration asks for)
        if (Options.Repair && p.Xfs is FsHealer.Config.XfsPolicy.Autofsck or FsHealer.Config.XfsPolicy.Report) p = p with { Xfs = FsHealer.Config.XfsPolicy.Repair };
        if (Options.OfflineRepair) p = p with { Ext4 = FsHealer.Config.Ext4Policy.OfflineRepair };
        else if (Options.Ext4Schedule && p.Ext4 == FsHealer.Config.Ext4Policy.Report) p = p with { Ext4 = FsHealer.Config.Ext4Policy.Schedule };
        return p;
    }
}

public sealed record DaemonOptions
{
    public string? MountNamespace { get; init; }
    public string StateDir { get; init; } = "/var/lib/fshealer";
    public string? ConfigPath { get; init; }
    /// <summary>Stop after this long (tests, demo); null = until SIGTERM/SIGINT.</summary>
    public TimeSpan? Duration { get; init; }
    public bool Repair { get; init; }
    /// <summary>Allow unmount + offline repair + remount of idle, non-root filesystems when online repair is impossible.</summary>
    public bool OfflineRepair { get; init; }
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Scheduled media scan interval (null = off) and its bandwidth limit.</summary>
    public TimeSpan? MediaScanInterval { get; init; }
    public long MediaScanBytesPerSecond { get; init; } = 50L << 20;
    /// <summary>ext4 with errors: make sure the next boot-time check repairs it (tune2fs -E force_fsck).</summary>
    public bool Ext4Schedule { get; init; }
}

/// <summary>
/// `fshealer run`: one process that follows every mount in its mount namespace (fanotify mount events with
/// listmount/statmount, or /proc/self/mountinfo polling on older kernels), attaches a watcher to every supported
/// filesystem the moment its root is mounted, follows it when it moves, and stops watching when it goes.
/// Watchers never hold an fd on a filesystem between operations, so the daemon never pins a mount.
/// </summary>
public sealed class FsHealerDaemon(DaemonOptions options, IHealerConsole console, IReadOnlyDictionary<string, WatcherFactory> factories,
    FsHealer.Config.ConfigStore? config = null)
{
    private readonly Dictionary<ulong, (MountTarget Target, IFsWatcher? Watcher)> _watched = [];
    private readonly DaemonContext _ctx = new(console, options) { Config = config };
    /// <summary>Block devices under each filesystem: follow-ups to problem events, periodic device counter checks.</summary>
    private DeviceHealthWatcher? _devices;

    /// <summary>The event hub (add sinks before <see cref="Run"/>).</summary>
    public FsHealer.Model.EventHub Events => _ctx.Events;

    public int Watched { get { lock (_watched) return _watched.Count; } }

    private readonly FsHealer.Config.CheckOverdueMonitor _freshness = new();
    private DateTime _lastFreshnessTick = DateTime.MinValue;

    /// <summary>Check freshness at attach (only for filesystems with max_check_age_seconds): the last successful
    /// check and the first recorded attach of a mount point, from the history store. Null = only what this run sees.</summary>
    public Func<string, (DateTimeOffset? LastGoodCheck, DateTimeOffset? FirstAttached)>? FreshnessLookup { get; init; }

    /// <summary>Called at every freshness tick for each watched filesystem with a limit (the metrics gauges).</summary>
    public Action<FsHealer.Config.FreshnessState>? FreshnessObserved { get; init; }

    public int Run(CancellationToken stop)
    {
        var diags = new List<string>();
        using var source = MountSources.Open(options.MountNamespace, diags, out int errno);
        foreach (var d in diags) console.Err($"fshealer: {d}");
        if (source is null)
        {
            console.Err($"fshealer: cannot follow mounts: {FsHealer.Text.Errno.Message(errno)}");
            return 1;
        }
        _ctx.Events.Add(_freshness); // learns successful checks and attaches
        var tracker = new MountTracker();
        _devices = new DeviceHealthWatcher(_ctx.Events, pollInterval: options.PollInterval);
        diags.Clear();
        Apply(tracker.Apply(source.Snapshot(diags)));
        foreach (var d in diags) console.Err($"fshealer: {d}");

        using var notify = new SdNotify();
        notify.Send($"READY=1\nSTATUS=watching {Watched} filesystem(s) ({source.Kind} mount events)");
        console.Out($"fshealer: watching {Watched} filesystem(s); following mounts via {source.Kind}");
        TrimMemory(force: true);
        var watchdog = SdNotify.WatchdogInterval();
        var lastPing = DateTime.UtcNow;
        var deadline = options.Duration is { } d0 ? DateTime.UtcNow + d0 : DateTime.MaxValue;
        using var media = options.MediaScanInterval is { } mi ? new MediaScheduler(_ctx, mi, options.MediaScanBytesPerSecond) : null;

        while (!stop.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            diags.Clear();
            var events = MountFeed.Pump(source, tracker, 250, diags, out errno);
            foreach (var d in diags) console.Err($"fshealer: {d}");
            if (errno != 0)
            {
                console.Err($"fshealer: mount watcher failed: {FsHealer.Text.Errno.Message(errno)}");
                return 1;
            }
            Apply(events);
            _devices.Tick();
            // once start-up has settled (attach events written, watchers' first reconciliation done), give its garbage back
            if (!_settled && DateTime.UtcNow - _startedAt > TimeSpan.FromSeconds(2)) { _settled = true; TrimMemory(force: true, threshold: 0); }
            TrimMemory(force: events.Count > 0);
            if (media is not null)
            {
                List<(string, string)> targets;
                lock (_watched) { targets = new(_watched.Count); foreach (var v in _watched.Values) targets.Add((v.Target.PreferredPath, v.Target.Source)); }
                media.Tick(targets);
            }
            if (DateTime.UtcNow - _lastFreshnessTick >= TimeSpan.FromSeconds(1)) FreshnessTick();
            if (watchdog is { } w && DateTime.UtcNow - lastPing > w / 2)
            {
                notify.Send("WATCHDOG=1");
                lastPing = DateTime.UtcNow;
            }
        }
        notify.Send("STOPPING=1");
        lock (_watched)
        {
            foreach (var (_, (t, w)) in _watched) w?.Dispose();
            _watched.Clear();
        }
        return 0;
    }

    private long _allocatedAtTrim;
    private DateTime _lastTrim = DateTime.MinValue;

    /// <summary>
    /// Give garbage back to the system after bursts (attach storms, event storms). Builds without the 4 MiB gen0 knob
    /// (Directory.Build.targets bakes it into Native AOT binaries; JIT builds need DOTNET_GCgen0size) get a gen0 budget
    /// sized from the CPU cache (~80 MiB here), and without this an idle daemon kept tens of MiB of dead objects
    /// (measured: +0.37 MiB per attached filesystem); with the knob it still returns the freed regions to the OS,
    /// which an ordinary gen0 collection keeps committed. An aggressive collection of a small heap
    /// takes a few milliseconds; it runs once start-up has settled, after attach/detach bursts, and otherwise at most
    /// once a minute when more than 1 MiB was allocated since the last one (idle, the device poll allocates ~1 KB/s
    /// at 10 filesystems and ~9 KB/s at 100, bench idle-alloc: the process stays within ~1 MiB of its floor instead of
    /// letting the 4 MiB gen0 budget fill). Each collection once settled also releases the start-up pages.
    /// </summary>
    private void TrimMemory(bool force, long threshold = 1 << 20)
    {
        long allocated = GC.GetTotalAllocatedBytes(false);
        if (allocated - _allocatedAtTrim >= threshold && (force || DateTime.UtcNow - _lastTrim >= TimeSpan.FromMinutes(1)))
        {
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _allocatedAtTrim = GC.GetTotalAllocatedBytes(false);
            _lastTrim = DateTime.UtcNow;
            if (_settled) ReleaseFilePages();
        }
        else if (_settled && DateTime.UtcNow - _lastRelease >= TimeSpan.FromMinutes(10)) ReleaseFilePages();
    }

    private readonly DateTime _startedAt = DateTime.UtcNow;
    private bool _settled;
    private bool _releaseFailed;
    private DateTime _lastRelease = DateTime.MinValue;

    /// <summary>
    /// Once start-up has settled, after every collection and otherwise every 10 minutes: unmap the clean file pages
    /// (code of start-up, option parsing, attach and repair paths; read-only data) that the kernel mapped 64 KiB at a
    /// time (fault-around). The idle loop maps the pages it uses again from the page cache, a few dozen minor faults.
    /// At 10 filesystems idle RSS goes from ~18 MiB to ~9 MiB (bench/README.md); what is safe to drop and why is
    /// <see cref="FsHealer.Service.ProcessMappings"/>'s. One read of /proc/self/smaps: 0.45 ms and ~170 KB of
    /// garbage per call (AOT; JIT 3.5 ms, hundreds of mappings; bench: idle-alloc).
    /// </summary>
    private void ReleaseFilePages()
    {
        _lastRelease = DateTime.UtcNow;
        var r = FsHealer.Service.Live.ResidentSet.ReleaseCleanFilePages();
        if (r.Error is { } e && !_releaseFailed) { _releaseFailed = true; console.Err($"fshealer: cannot release start-up pages: {e}"); }
    }

    private readonly List<FsHealer.Config.FreshnessTarget> _freshnessTargets = [];

    /// <summary>Check freshness (max_check_age_seconds): one CheckOverdue warning when a watched filesystem becomes
    /// overdue (the decision is <see cref="FsHealer.Config.CheckOverdueMonitor"/>'s). At most once a second.</summary>
    private void FreshnessTick()
    {
        _lastFreshnessTick = DateTime.UtcNow;
        var targets = _freshnessTargets;   // reused: this runs every second, and an idle daemon should allocate nothing
        targets.Clear();
        lock (_watched)
            foreach (var (t, _) in _watched.Values)
                if (_ctx.PolicyFor(t).MaxCheckAge is { } limit) targets.Add(new(t.PreferredPath, t.FsType, t.Source, limit));
        if (targets.Count == 0) return;
        var states = _freshnessStates;
        states.Clear();
        foreach (var e in _freshness.Tick(targets, DateTimeOffset.UtcNow, states))
        {
            console.Err(e.Message);
            _ctx.Events.Publish(e);
        }
        if (FreshnessObserved is not { } observe) return;
        // the gauges change when a check succeeds or a filesystem becomes overdue: pass on changes only
        foreach (var st in states)
            if (!_observedFreshness.TryGetValue(st.Mount, out var was) || was != st) { _observedFreshness[st.Mount] = st; observe(st); }
    }

    private readonly List<FsHealer.Config.FreshnessState> _freshnessStates = [];
    /// <summary>What the gauges were last given, per mount point; cleared by every attach/detach/move (the metrics drop
    /// a detached mount's series), so the next tick sets them all again.</summary>
    private readonly Dictionary<string, FsHealer.Config.FreshnessState> _observedFreshness = new(StringComparer.Ordinal);

    private void Publish(MountTarget t, EventClass c, string msg) => _ctx.Events.Publish(new FsEvent
    {
        Class = c, Severity = Severity.Info, Mount = t.PreferredPath, FsType = t.FsType, Device = t.Source, Message = $"{t.PreferredPath}: {msg}",
    });

    private void Apply(List<TargetEvent> events)
    {
        if (events.Count > 0) _observedFreshness.Clear();
        foreach (var e in events)
        {
            var t = e.Target;
            switch (e.Kind)
            {
                case TargetEventKind.Attached:
                    lock (_watched)
                    {
                        // the same superblock attached again before its old mount's detach was seen: replace, don't leak
                        if (_watched.Remove(t.DevKey, out var stale)) stale.Watcher?.Dispose();
                    }
                    IFsWatcher? w = null;
                    string how;
                    try
                    {
                        w = factories.TryGetValue(t.FsType, out var f) ? f(t, _ctx) : null;
                        how = w?.How ?? "no watcher for this filesystem type";
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ExternalException)
                    {
                        how = $"watcher failed to start: {ex.Message}";
                    }
                    lock (_watched) _watched[t.DevKey] = (t, w);
                    console.Out($"{t.PreferredPath}: {t.FsType} filesystem attached (dev {t.Dev}, source {t.Source}); {how}");
                    if (_devices is not null) console.Out($"{t.PreferredPath}: block devices: {_devices.Attach(t)}");
                    Publish(t, w is DeferredWatcher ? EventClass.Deferred : EventClass.Attached, $"{t.FsType} filesystem attached (dev {t.Dev}, source {t.Source}); {how}");
                    var pol = _ctx.PolicyFor(t);
                    _ctx.Events.Publish(new FsEvent { Class = EventClass.Decision, Severity = Severity.Info, Mount = t.PreferredPath, FsType = t.FsType, Device = t.Source, Message = $"{t.PreferredPath}: policy: {pol.Describe(t.FsType)}", Structure = pol.ActionName(t.FsType) });
                    if (pol.MaxCheckAge is not null && FreshnessLookup is { } lookup)
                    {
                        var (good, first) = lookup(t.PreferredPath);
                        _freshness.Seed(t.PreferredPath, good, first);
                    }
                    break;
                case TargetEventKind.Detached:
                    lock (_watched)
                    {
                        if (_watched.Remove(t.DevKey, out var old)) old.Watcher?.Dispose();
                    }
                    _devices?.Detach(t);
                    console.Out($"{t.PreferredPath}: {t.FsType} filesystem detached (dev {t.Dev}); stopped watching");
                    Publish(t, EventClass.Detached, $"{t.FsType} filesystem detached (dev {t.Dev})");
                    break;
                case TargetEventKind.Moved:
                    lock (_watched)
                    {
                        if (_watched.TryGetValue(t.DevKey, out var cur))
                        {
                            // same filesystem, same policy: the one it was attached (and recorded) with
                            _ctx.CarryPolicy(cur.Target, t);
                            cur.Watcher?.Moved(t.PreferredPath);
                            _watched[t.DevKey] = (t, cur.Watcher);
                        }
                    }
                    _devices?.Moved(t);
                    if (e.OldPath is { } from) _freshness.Moved(from, t.PreferredPath);
                    console.Out($"{t.PreferredPath}: {t.FsType} filesystem moved from {e.OldPath}");
                    Publish(t, EventClass.Moved, $"{t.FsType} filesystem moved from {e.OldPath}");
                    break;
            }
        }
    }
}
