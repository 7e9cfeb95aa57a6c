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

/// <summary>
/// `fshealer run`: one process that follows every mount in its mount namespace (fanotify mount events with
/// listmount/statmount, or /proc/self/mountinfo polling on older kernels), attaches a watcher to every supported
/// filesystem the moment its root is mounted, follows it when it moves, and stops watching when it goes.
/// Watchers never hold an fd on a filesystem between operations, so the daemon never pins a mount.
/// </summary>
public sealed class FsHealerDaemon(DaemonOptions options, IHealerConsole console, IReadOnlyDictionary<string, WatcherFactory> factories,
    FsHealer.Config.ConfigStore? config = null, IHealHost? host = null)
{
    /// <summary>Superblock device → the filesystem and its watcher.</summary>
    private readonly Dictionary<ulong, (WatchedFilesystem Fs, IFsWatcher? Watcher)> _watched = [];
    /// <summary>Superblock device → the mount target it was attached (or last moved) as: rule matching on reload.</summary>
    private readonly Dictionary<ulong, MountTarget> _targets = [];
    private volatile bool _reloadRequested;

    /// <summary>SIGHUP: reload the configuration on the daemon's thread (see <see cref="Reload"/>).</summary>
    public void RequestReload() => _reloadRequested = true;

    /// <summary>A reload's second half, given the validated candidate: check the service settings the configuration
    /// carries (notifications, metrics) and return their errors (then nothing is changed), or apply them and return none.</summary>
    public Func<FsHealer.Config.FsHealerConfig, bool, IReadOnlyList<string>>? ReloadServices { get; init; }
    /// <summary>Filesystems that went away recently, by identity: one that comes back (an offline repair remounts it,
    /// an administrator remounts it) keeps the rate limits of its actions.</summary>
    private readonly Dictionary<string, (WatchedFilesystem Fs, DateTime At)> _recent = [];
    private readonly DaemonContext _ctx = new(console, options, config, host);
    /// <summary>Block devices under each filesystem: follow-ups to problem events, periodic device counter checks.</summary>
    private DeviceHealthWatcher? _devices;

    /// <summary>The event hub (add sinks before <see cref="Run"/>).</summary>
    public FsHealer.Model.EventHub Events => _ctx.Events;

    /// <summary>The shared daemon state (tests, the per-mount commands).</summary>
    public DaemonContext Context => _ctx;

    /// <summary>The filesystems watched now.</summary>
    public IReadOnlyList<WatchedFilesystem> Filesystems { get { lock (_watched) return [.. _watched.Values.Select(v => v.Fs)]; } }

    public int Watched { get { lock (_watched) return _watched.Count; } }

    private readonly FsHealer.Config.CheckOverdueMonitor _freshness = new();
    private DateTime _lastFreshnessTick = DateTime.MinValue;

    /// <summary>Check freshness at attach (only for filesystems with max_check_age_seconds): the last successful
    /// check and the first recorded attach of a filesystem (by identity, and by mount point for rows recorded before
    /// identities were), from the history store. Null = only what this run sees.</summary>
    public Func<string, string, (DateTimeOffset? LastGoodCheck, DateTimeOffset? FirstAttached)>? FreshnessLookup { get; init; }

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
        _startedOnly = true;
        foreach (var d in diags) console.Err($"fshealer: {d}");
        if (options.Only is not null && Watched < options.Only.Count)
        {
            foreach (var p in options.Only.Where(p => Filesystems.All(f => f.Path != p)))
                console.Err($"fshealer: {p}: not the mount point of " +
                            (options.OnlyType is { } ot ? $"a filesystem of type {ot}" : "a supported filesystem (xfs, ext4, btrfs)"));
            if (Watched == 0) return 1;
        }

        using var notify = new SdNotify();
        _ctx.Events.Add(_status);
        _how = $"{source.Kind} mount events";
        int sentWatched = Watched, sentVersion = _status.Version;
        notify.Send($"READY=1\nSTATUS={StatusText}");
        console.Out($"fshealer: watching {Watched} filesystem(s); following mounts via {source.Kind}");
        TrimMemory(force: true);
        var watchdog = SdNotify.WatchdogInterval();
        var lastPing = DateTime.UtcNow;
        var deadline = options.Duration is { } d0 ? DateTime.UtcNow + d0 : DateTime.MaxValue;
        using var media = options.MediaScanInterval is { } mi ? new MediaScheduler(_ctx, mi, options.MediaScanBytesPerSecond) : null;
        // unmountable filesystems: the kernel log says why a mount was refused (issue 17)
        using var mountFailures = options.Only is null ? MountFailureWatcher.Open(_ctx.Events, console, _ctx.Healing,
            () => _ctx.Config?.Current.Unmountable ?? UnmountablePolicy.Off) : null;

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
            if (options.Only is not null && _onlyIds.Count > 0 && Watched == 0 && !_ctx.Healing.Busy)
            {
                _goneSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - _goneSince > TimeSpan.FromSeconds(2))
                {
                    console.Out($"fshealer: {string.Join(", ", options.Only)}: unmounted; stopping");
                    break;
                }
            }
            else _goneSince = null;
            _devices.Tick();
            mountFailures?.Tick();
            // once start-up has settled (attach events written, watchers' first reconciliation done), give its garbage back
            if (!_settled && DateTime.UtcNow - _startedAt > TimeSpan.FromSeconds(2)) { _settled = true; TrimMemory(force: true, threshold: 0); }
            TrimMemory(force: events.Count > 0);
            if (media is not null)
            {
                List<(string, string)> targets;
                lock (_watched) { targets = new(_watched.Count); foreach (var v in _watched.Values) targets.Add((v.Fs.Path, v.Fs.Source)); }
                media.Tick(targets);
            }
            if (DateTime.UtcNow - _lastFreshnessTick >= TimeSpan.FromSeconds(1)) FreshnessTick();
            // STATUS= kept current: the number of filesystems and the last problem
            if (Watched != sentWatched || _status.Version != sentVersion)
            {
                sentWatched = Watched;
                sentVersion = _status.Version;
                notify.Send($"STATUS={StatusText}");
            }
            if (_reloadRequested)
            {
                _reloadRequested = false;
                notify.Send($"RELOADING=1\nMONOTONIC_USEC={SdNotify.MonotonicMicroseconds()}");
                try { Reload(); }
                finally { notify.Send($"READY=1\nSTATUS={StatusText}"); }
            }
            if (watchdog is { } w && DateTime.UtcNow - lastPing > w / 2)
            {
                notify.Send("WATCHDOG=1");
                lastPing = DateTime.UtcNow;
            }
        }
        notify.Send("STOPPING=1");
        // a healing action between unmount and remount is let finish (bounded), or aborted and rolled back
        if (_ctx.Healing.Stop(options.StopGrace) is { } how) console.Out($"fshealer: {how}");
        lock (_watched)
        {
            foreach (var (_, (_, w)) in _watched) w?.Dispose();
            _watched.Clear();
        }
        _ctx.Dispose();
        ToolRunner.KillAll();
        return 0;
    }

    private readonly FsHealer.Service.ServiceStatus _status = new();
    private string _how = "starting";

    /// <summary>What STATUS= says now (also sent with READY=1 after a configuration reload).</summary>
    public string StatusText => _status.Text(Watched, _how);

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
            foreach (var (fs, _) in _watched.Values)
                if (fs.Policy.MaxCheckAge is { } limit) targets.Add(new(fs.Identity.Id, fs.Path, fs.FsType, fs.Source, limit));
        if (targets.Count == 0) return;
        var states = _freshnessStates;
        states.Clear();
        foreach (var e in _freshness.Tick(targets, DateTimeOffset.UtcNow, states))
        {
            console.Err(e.Message);
            _ctx.Events.Publish(e);
        }
        ScheduleChecks(states);
        if (FreshnessObserved is not { } observe) return;
        // the gauges change when a check succeeds or a filesystem becomes overdue: pass on changes only
        foreach (var st in states)
            if (!_observedFreshness.TryGetValue(st.FsId, out var was) || was != st) { _observedFreshness[st.FsId] = st; observe(st); }
    }

    private readonly List<FsHealer.Config.FreshnessState> _freshnessStates = [];
    private CheckScheduler? _checks;
    private readonly List<(WatchedFilesystem, string, bool)> _checkTargets = [];

    /// <summary>The scheduled full check (scheduled_check.enabled): overdue, idle filesystems get a check, one per disk
    /// at a time (the decisions are <see cref="ScheduledCheckPlanner"/>'s).</summary>
    private void ScheduleChecks(List<FsHealer.Config.FreshnessState> states)
    {
        _checkTargets.Clear();
        lock (_watched)
            foreach (var (key, (fs, _)) in _watched)
                if (fs.Policy.ScheduledCheck && _targets.TryGetValue(key, out var t))
                    foreach (var st in states)
                        if (st.FsId == fs.Identity.Id) { _checkTargets.Add((fs, t.Dev, st.Overdue)); break; }
        if (_checkTargets.Count == 0) return;
        (_checks ??= new CheckScheduler(_ctx)).Tick(_checkTargets);
    }
    /// <summary>What the gauges were last given, per mount point; cleared by every attach/detach/move (the metrics drop
    /// a detached mount's series), so the next tick sets them all again.</summary>
    private readonly Dictionary<string, FsHealer.Config.FreshnessState> _observedFreshness = new(StringComparer.Ordinal);

    /// <summary>
    /// Reload everything, atomically: the file is read and validated, the service settings it carries (notifications,
    /// metrics) are checked, and only when all of it is good does it become current — then the services are rebuilt
    /// and every attached filesystem's policy is computed again from the new rules (with its identity and where it is
    /// mounted now); each filesystem whose policy changed says so, gets a new decision record, and its watcher is
    /// restarted with the new policy. A broken file changes nothing and says why.
    /// </summary>
    public void Reload()
    {
        if (config is null) { console.Out("fshealer: reload: no configuration file in use; nothing to reload"); return; }
        var candidate = config.LoadCandidate();
        if (!candidate.Ok)
        {
            foreach (var e in candidate.Errors) console.Err($"fshealer: configuration reload failed, keeping the old one: {e}");
            return;
        }
        var cfg = candidate.Config!;
        if (ReloadServices?.Invoke(cfg, false) is { Count: > 0 } bad)
        {
            foreach (var e in bad) console.Err($"fshealer: configuration reload failed, keeping the old one: {e}");
            return;
        }
        config.Commit(cfg);
        ReloadServices?.Invoke(cfg, true);
        // a failed repair of an unmountable filesystem may be tried again under the new configuration
        _ctx.Healing.ResetUnmountableLimits();
        int changed = 0;
        List<(ulong Dev, WatchedFilesystem Fs, IFsWatcher? Watcher, MountTarget Target)> all;
        lock (_watched) all = [.. _watched.Select(kv => (kv.Key, kv.Value.Fs, kv.Value.Watcher, _targets[kv.Key]))];
        foreach (var (dev, fs, watcher, target) in all)
        {
            var now = _ctx.ComputePolicy(target with { PreferredPath = fs.Path });
            var old = fs.Policy;
            if (now == old) continue;
            changed++;
            fs.ChangePolicy(now);
            _checks?.PolicyChanged(fs.Identity.Id);
            console.Out($"{fs.Path}: policy changed on reload: {old.Describe(fs.FsType)} -> {now.Describe(fs.FsType)}");
            _ctx.Events.Publish(fs.Event(EventClass.Decision, Severity.Info, $"{fs.Path}: policy: {now.Describe(fs.FsType)}") with { Structure = now.ActionName(fs.FsType) });
            // the watcher was built for the old policy (poll interval, repair mode): a new one for the new
            watcher?.Dispose();
            IFsWatcher? w = null;
            try { w = factories.TryGetValue(fs.FsType, out var f) ? f(fs, _ctx) : null; }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ExternalException)
            {
                console.Err($"{fs.Path}: watcher failed to restart after the reload: {ex.Message}");
            }
            lock (_watched) if (_watched.ContainsKey(dev)) _watched[dev] = (fs, w);
        }
        console.Out($"fshealer: configuration reloaded from {cfg.SourcePath ?? "(defaults)"}: {changed} filesystem(s) changed policy");
    }

    /// <summary>Per-mount mode: the identities of the filesystems found at the given places at start.</summary>
    private readonly HashSet<string> _onlyIds = [];
    private bool _startedOnly;
    private DateTime? _goneSince;

    private void Apply(List<TargetEvent> events)
    {
        if (events.Count > 0) _observedFreshness.Clear();
        foreach (var e in events)
        {
            var t = e.Target;
            switch (e.Kind)
            {
                case TargetEventKind.Attached: Attach(t); break;
                case TargetEventKind.Detached: Detach(t); break;
                case TargetEventKind.Moved: Move(t, e.OldPath); break;
            }
        }
    }

    private void Attach(MountTarget t)
    {
        if (options.OnlyType is { } type && t.FsType != type) return;
        var identity = LiveHealHost.IdentityOf(t.DevKey, t.FsType, t.Source);
        if (options.Only is { } only)
        {
            // per-mount mode: the filesystems mounted at those places at start, and nothing else, ever (one of them
            // mounted again, by an offline repair or by hand, is taken back)
            string key = identity.Id + "\0" + identity.Dev;
            if (!_startedOnly ? !only.Contains(t.PreferredPath) : !_onlyIds.Contains(key)) return;
            _onlyIds.Add(key);
        }
        lock (_watched)
        {
            // the same superblock attached again before its old mount's detach was seen: replace, don't leak
            if (_watched.Remove(t.DevKey, out var stale)) stale.Watcher?.Dispose();
        }
        var policy = _ctx.ComputePolicy(t);
        WatchedFilesystem? before = null;
        lock (_recent)
        {
            PruneRecent();
            if (_recent.Remove(identity.Id + "\0" + identity.Dev, out var b)) before = b.Fs;
        }
        // remounted where it was (an offline repair mounts it again, or an administrator does): the same filesystem at
        // the same place keeps the policy it was attached with, even if that came with it from an earlier place
        if (before is not null && before.Path == t.PreferredPath) policy = before.Policy;
        var fs = new WatchedFilesystem(identity, t.PreferredPath, t.PreferredMountId, t.Source, policy);
        if (before is not null) fs.InheritGates(before);
        IFsWatcher? w = null;
        string how;
        try
        {
            w = factories.TryGetValue(t.FsType, out var f) ? f(fs, _ctx) : null;
            how = w?.How ?? "no watcher for this filesystem type";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ExternalException)
        {
            how = $"watcher failed to start: {ex.Message}";
        }
        if (w is null && !how.StartsWith("watcher failed", StringComparison.Ordinal) && factories.ContainsKey(t.FsType))
            how = "NOT WATCHED: its watcher could not start (see the message above)";
        lock (_watched) { _watched[t.DevKey] = (fs, w); _targets[t.DevKey] = t; }
        string uuid = identity.Uuid is { } u ? $", uuid {u:D}" : "";
        console.Out($"{t.PreferredPath}: {t.FsType} filesystem attached (dev {t.Dev}, source {t.Source}{uuid}); {how}");
        if (_devices is not null) console.Out($"{t.PreferredPath}: block devices: {_devices.Attach(t)}");
        _ctx.Events.Publish(fs.Event(w is DeferredWatcher ? EventClass.Deferred : EventClass.Attached, w is null ? Severity.Warning : Severity.Info,
            $"{t.PreferredPath}: {t.FsType} filesystem attached (dev {t.Dev}, source {t.Source}{uuid}); {how}"));
        var pol = fs.Policy;
        _ctx.Events.Publish(fs.Event(EventClass.Decision, Severity.Info, $"{t.PreferredPath}: policy: {pol.Describe(t.FsType)}") with { Structure = pol.ActionName(t.FsType) });
        if (pol.MaxCheckAge is not null && FreshnessLookup is { } lookup)
        {
            var (good, first) = lookup(identity.Id, t.PreferredPath);
            _freshness.Seed(identity.Id, good, first);
        }
    }

    private void Detach(MountTarget t)
    {
        WatchedFilesystem? fs = null;
        lock (_watched)
        {
            _targets.Remove(t.DevKey);
            if (_watched.Remove(t.DevKey, out var old))
            {
                fs = old.Fs;
                old.Watcher?.Detached();
                old.Watcher?.Dispose();
            }
        }
        if (fs is null) return;
        lock (_recent) _recent[fs.Identity.Id + "\0" + fs.Identity.Dev] = (fs, DateTime.UtcNow);
        _devices?.Detach(t);
        console.Out($"{fs.Path}: {t.FsType} filesystem detached (dev {t.Dev}); stopped watching");
        _ctx.Events.Publish(fs.Event(EventClass.Detached, Severity.Info, $"{fs.Path}: {t.FsType} filesystem detached (dev {t.Dev})"));
    }

    private void Move(MountTarget t, string? oldPath)
    {
        WatchedFilesystem? fs;
        IFsWatcher? w;
        lock (_watched)
        {
            if (!_watched.TryGetValue(t.DevKey, out var cur)) return;
            (fs, w) = cur;
            _targets[t.DevKey] = t;
        }
        // same superblock: one attribute changes; policy, gates, freshness and notification state stay with it
        fs.MovedTo(t.PreferredPath, t.PreferredMountId);
        w?.Moved();
        _devices?.Moved(t);
        console.Out($"{t.PreferredPath}: {t.FsType} filesystem moved from {oldPath}");
        _ctx.Events.Publish(fs.Event(EventClass.Moved, Severity.Info, $"{t.PreferredPath}: {t.FsType} filesystem moved from {oldPath}"));
    }

    /// <summary>Forget filesystems gone for more than 10 minutes.</summary>
    private void PruneRecent()
    {
        if (_recent.Count == 0) return;
        var cutoff = DateTime.UtcNow - TimeSpan.FromMinutes(10);
        foreach (var k in _recent.Where(kv => kv.Value.At < cutoff).Select(kv => kv.Key).ToList()) _recent.Remove(k);
    }
}
