using System.Globalization;
using FsHealer.Model;

namespace FsHealer.Devices;

/// <summary>Where a filesystem's devices are: its device numbers (st_dev of the mount, external log devices) and,
/// for btrfs, its fsid (/sys/fs/btrfs/FSID/devices lists every member) and device names (from BTRFS_IOC_DEV_INFO,
/// used when sysfs lists none).</summary>
public sealed record FsDeviceSpec(IReadOnlyList<string> Devs, string? BtrfsFsid = null, IReadOnlyList<string>? Names = null)
{
    public List<BlockNode> Resolve(ISysfsView v, List<string> notes)
    {
        var roots = new List<BlockNode>();
        if (BtrfsFsid is not null) roots.AddRange(TopologyResolver.ResolveBtrfs(v, BtrfsFsid, notes));
        if (roots.Count == 0 && Names is not null)
            foreach (var name in Names)
                if (TopologyResolver.ResolveName(v, name, notes) is { } n && roots.All(r => r.SysPath != n.SysPath)) roots.Add(n);
        foreach (var d in Devs)
            if (TopologyResolver.ResolveDev(v, d, notes) is { } n && roots.All(r => r.SysPath != n.SysPath)) roots.Add(n);
        return roots;
    }
}

/// <summary>
/// Links filesystem problems to the health of the block devices under them. At attach it resolves the device stack
/// and samples every device (the baseline). A problem event for a filesystem (<see cref="Triggers"/>) marks it; the
/// next <see cref="Tick"/> publishes one <see cref="EventClass.Diagnostic"/> naming the devices and every counter that
/// rose since the baseline, at most once per filesystem per <see cref="FollowUpInterval"/> (later problems inside
/// the interval are folded into one follow-up at its end, so an error storm costs one sample a minute). Every
/// <see cref="PollInterval"/> it samples each device once (shared by all filesystems on it) and reports rising error
/// counters and newly unhealthy states as <see cref="EventClass.CounterRise"/> for every filesystem on that device,
/// without any filesystem event. Thread-safe: <see cref="NoteProblem"/> may be called from any thread.
/// </summary>
public sealed class DeviceCorrelator(ISysfsView sysfs)
{
    /// <summary>The event classes that ask for a device follow-up.</summary>
    public static readonly IReadOnlySet<EventClass> Triggers = new HashSet<EventClass>
    {
        EventClass.IoError, EventClass.MediaError, EventClass.MetadataSick, EventClass.MetadataCorrupt,
        EventClass.DataLost, EventClass.Shutdown, EventClass.CounterRise, EventClass.ErrorsMissed,
    };

    public TimeSpan FollowUpInterval { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a resolved stack is trusted before the periodic check resolves it again (a follow-up always
    /// resolves afresh; a filesystem with no device found is resolved again at every poll). Five minutes: a
    /// resolution walks sysfs links and directories (~8 KB of garbage per filesystem), the dominant idle cost at 100
    /// filesystems when it ran every minute (bench: idle-alloc).</summary>
    public TimeSpan TopologyRefresh { get; init; } = TimeSpan.FromMinutes(5);

    private sealed class Fs
    {
        public required string Mount;
        public required string FsType;
        public required string Source;
        public required FsDeviceSpec Spec;
        public List<BlockNode> Roots = [];
        /// <summary>Every device under the filesystem once (all roots), and their sysfs paths: computed when the
        /// stack is resolved, read on every poll.</summary>
        public List<BlockNode> Nodes = [];
        public HashSet<string> NodePaths = new(StringComparer.Ordinal);
        public List<string> Notes = [];
        public DateTimeOffset ResolvedAt;
        public DateTimeOffset AttachedAt;
        public Dictionary<string, DeviceSample> Baseline = new(StringComparer.Ordinal);
        public DateTimeOffset? LastFollowUp;
        public bool Pending;
    }

    private readonly object _lock = new();
    private readonly Dictionary<string, Fs> _fs = new(StringComparer.Ordinal);
    /// <summary>Latest sample per device (sysfs path), for the periodic check.</summary>
    private readonly Dictionary<string, DeviceSample> _last = new(StringComparer.Ordinal);
    private DateTimeOffset _lastPoll = DateTimeOffset.MinValue;

    public int Count { get { lock (_lock) return _fs.Count; } }

    /// <summary>Resolve and take the baseline. Returns the one-line stack description (for the attach log).
    /// <paramref name="key"/> identifies the filesystem (its device number); a second attach of the same key replaces
    /// the first.</summary>
    public string Attach(string key, string mount, string fsType, string source, FsDeviceSpec spec, DateTimeOffset now)
    {
        lock (_lock)
        {
            var fs = new Fs { Mount = mount, FsType = fsType, Source = source, Spec = spec, AttachedAt = now };
            Resolve(fs, now);
            foreach (var n in fs.Nodes)
            {
                var s = _last.TryGetValue(n.SysPath, out var cached) ? cached : DeviceHealth.Sample(sysfs, n);
                fs.Baseline[n.SysPath] = s;
                _last.TryAdd(n.SysPath, s);
            }
            _fs[key] = fs;
            return Stack(fs);
        }
    }

    public void Detach(string key)
    {
        lock (_lock)
        {
            if (!_fs.Remove(key)) return;
            var unused = new List<string>();
            foreach (var k in _last.Keys)
            {
                bool used = false;
                foreach (var f in _fs.Values) if (f.NodePaths.Contains(k)) { used = true; break; }
                if (!used) unused.Add(k);
            }
            foreach (var k in unused) _last.Remove(k);
        }
    }

    public void Moved(string key, string newMount)
    {
        lock (_lock)
        {
            if (_fs.TryGetValue(key, out var fs)) fs.Mount = newMount;
        }
    }

    /// <summary>The stack line of an attached filesystem ("loop3 (loop, file /x.img) &lt;- vda (virtio)"), or null.</summary>
    public string? StackOf(string mount)
    {
        lock (_lock) return _fs.Values.LastOrDefault(f => f.Mount == mount) is { } fs ? Stack(fs) : null;
    }

    /// <summary>Note a published event; a problem on an attached filesystem asks for a follow-up at the next tick.
    /// Returns whether it did.</summary>
    public bool NoteProblem(FsEvent e)
    {
        if (!Triggers.Contains(e.Class)) return false;
        lock (_lock)
        {
            var fs = _fs.Values.LastOrDefault(f => f.Mount == e.Mount) ?? _fs.Values.FirstOrDefault(f => e.Device is not null && f.Source == e.Device);
            if (fs is null) return false;
            fs.Pending = true;
            return true;
        }
    }

    /// <summary>Due follow-ups, then (every <see cref="PollInterval"/>) the periodic device check.</summary>
    public IReadOnlyList<FsEvent> Tick(DateTimeOffset now)
    {
        List<FsEvent>? events = null;   // called 4 times a second: allocate only when there is something to say
        lock (_lock)
        {
            foreach (var fs in _fs.Values)
            {
                if (!fs.Pending || fs.LastFollowUp is { } last && now - last < FollowUpInterval) continue;
                fs.Pending = false;
                fs.LastFollowUp = now;
                (events ??= []).Add(FollowUp(fs, now));
            }
            if (now - _lastPoll >= PollInterval)
            {
                _lastPoll = now;
                Poll(now, ref events);
            }
        }
        return events ?? (IReadOnlyList<FsEvent>)[];
    }

    private FsEvent FollowUp(Fs fs, DateTimeOffset now)
    {
        Resolve(fs, now);
        var samples = new Dictionary<string, DeviceSample>(StringComparer.Ordinal);
        foreach (var n in fs.Nodes)
        {
            samples[n.SysPath] = DeviceHealth.Sample(sysfs, n);
            fs.Baseline.TryAdd(n.SysPath, samples[n.SysPath]);
        }
        string since = "attach at " + fs.AttachedAt.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var msg = DeviceHealth.Describe(fs.Mount, fs.Roots, fs.Baseline, samples, since, out int rising, out bool problems);
        if (fs.Roots.Count == 0 && fs.Notes.Count > 0) msg += " (" + string.Join("; ", fs.Notes) + ")";
        return new FsEvent
        {
            Time = now, Class = EventClass.Diagnostic, Severity = rising > 0 || problems ? Severity.Warning : Severity.Info,
            Mount = fs.Mount, FsType = fs.FsType, Device = fs.Source, Message = msg, Structure = "block devices",
            Count = rising > 0 ? rising : null,
        };
    }

    // reused by every poll: an idle daemon polls every 10 s for years, and its garbage is resident memory
    private readonly List<BlockNode> _pollNodes = [];
    private readonly HashSet<string> _pollSeen = new(StringComparer.Ordinal);

    /// <summary>Sample every device once (however many filesystems share it), compare with its previous sample.
    /// Linear in filesystems + devices; a poll that finds nothing new allocates only the samples themselves.</summary>
    private void Poll(DateTimeOffset now, ref List<FsEvent>? events)
    {
        _pollNodes.Clear();
        _pollSeen.Clear();
        foreach (var fs in _fs.Values)
        {
            // a filesystem with no device found yet (btrfs before sysfs lists its members) is looked at every poll
            if (now - fs.ResolvedAt >= (fs.Roots.Count == 0 ? PollInterval : TopologyRefresh)) Resolve(fs, now);
            foreach (var n in fs.Nodes) if (_pollSeen.Add(n.SysPath)) _pollNodes.Add(n);
        }
        foreach (var n in _pollNodes)
        {
            var now1 = DeviceHealth.Sample(sysfs, n);
            if (_last.TryGetValue(n.SysPath, out var before) && !DeviceHealth.SameHealth(before, now1))
            {
                var changes = new List<(string Structure, string Text, Severity Sev, long Count)>();
                foreach (var r in DeviceHealth.Rises(before, now1))
                    changes.Add((r.Counter, r.ToString(), r.Counter == "degraded" ? Severity.Critical : Severity.Error, (long)Math.Min(r.Delta, long.MaxValue)));
                var was = DeviceHealth.Problems(before).Select(p => p.Name + "=" + p.Value).ToHashSet(StringComparer.Ordinal);
                foreach (var p in DeviceHealth.Problems(now1))
                    if (p.Name != "degraded" && !was.Contains(p.Name + "=" + p.Value))
                        changes.Add((p.Name, $"{p.Name} {before.States.GetValueOrDefault(p.Name) ?? "?"} -> {p.Value}", Severity.Error, 1));
                foreach (var (structure, text, sev, count) in changes)
                    foreach (var fs in _fs.Values.Where(f => f.NodePaths.Contains(n.SysPath)))
                        (events ??= []).Add(new FsEvent
                        {
                            Time = now, Class = EventClass.CounterRise, Severity = sev, Mount = fs.Mount, FsType = fs.FsType,
                            Device = n.Name, Structure = structure, Count = count,
                            Message = $"{fs.Mount}: block device {n.Name} ({n.KindName}) under this filesystem: {text}",
                        });
            }
            _last[n.SysPath] = now1;
            foreach (var fs in _fs.Values)
                if (fs.NodePaths.Contains(n.SysPath)) fs.Baseline.TryAdd(n.SysPath, now1);
        }
    }

    private void Resolve(Fs fs, DateTimeOffset now)
    {
        var notes = new List<string>();
        fs.Roots = fs.Spec.Resolve(sysfs, notes);
        fs.Notes = notes;
        fs.Nodes = BlockNode.AllOf(fs.Roots);
        fs.NodePaths = fs.Nodes.Select(n => n.SysPath).ToHashSet(StringComparer.Ordinal);
        fs.ResolvedAt = now;
    }

    private static string Stack(Fs fs) =>
        fs.Roots.Count == 0 ? "no block device found" + (fs.Notes.Count > 0 ? $" ({string.Join("; ", fs.Notes)})" : "")
        : string.Join(", ", fs.Roots.Select(r => r.Describe()));
}
