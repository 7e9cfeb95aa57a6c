namespace FsHealer.Mounts;

/// <summary>A filesystem the daemon should monitor: one superblock (device), reachable through one or more root mounts.</summary>
public sealed record MountTarget
{
    public required ulong DevKey { get; init; }
    public required string Dev { get; init; }
    public required string FsType { get; init; }
    public required string Source { get; init; }
    /// <summary>The mount the daemon uses (the oldest remaining root mount, kept until it goes away).</summary>
    public required ulong PreferredMountId { get; init; }
    public required string PreferredPath { get; init; }
    /// <summary>Every root mount of this filesystem: (mount key, mount point), ordered by key.</summary>
    public required IReadOnlyList<(ulong MountId, string MountPoint)> Mounts { get; init; }
}

public enum TargetEventKind { Attached, Detached, Moved }

/// <summary>A change in the set of monitoring targets.</summary>
public sealed record TargetEvent(TargetEventKind Kind, MountTarget Target, string? OldPath = null)
{
    public override string ToString() => Kind switch
    {
        TargetEventKind.Moved => $"{Target.FsType} {Target.Dev} moved: {OldPath} -> {Target.PreferredPath}",
        _ => $"{Target.FsType} {Target.Dev} {Kind.ToString().ToLowerInvariant()}: {Target.PreferredPath} (source {Target.Source})",
    };
}

/// <summary>How the tracker classifies one mount.</summary>
public enum MountRole { Target, BindOfSubtree, Unsupported }

public enum MountChangeKind { Upsert, Remove, Snapshot }

/// <summary>One input for the tracker: a mount appeared or changed, vanished, or a full snapshot (initial sweep or rescan).</summary>
public sealed record MountChange(MountChangeKind Kind, ulong Id = 0, MountEntry? Entry = null, IReadOnlyList<MountEntry>? All = null)
{
    public static MountChange Upsert(MountEntry e) => new(MountChangeKind.Upsert, e.Key, e);
    public static MountChange Remove(ulong id) => new(MountChangeKind.Remove, id);
    public static MountChange Snapshot(IReadOnlyList<MountEntry> all) => new(MountChangeKind.Snapshot, All: all);
}

/// <summary>
/// Pure state machine over the mount table. Mounts are keyed by their unique 64-bit id (legacy id in the mountinfo
/// fallback). Targets are filesystems with at least one mount of their root ("/") and a supported type (and a known
/// device number: the superblock identity); several root
/// mounts of one superblock (same device number) are one target. Every operation recomputes the affected targets and
/// emits exactly the differences, so repeated snapshots or duplicate events never produce duplicate target events.
/// </summary>
public sealed class MountTracker
{
    public static readonly IReadOnlySet<string> DefaultSupportedTypes = new HashSet<string>(StringComparer.Ordinal) { "xfs", "ext4", "btrfs" };

    private readonly Dictionary<ulong, MountEntry> _mounts = [];
    private readonly Dictionary<ulong, MountTarget> _targets = [];
    /// <summary>Device → keys of its mounts (so recomputing one device does not scan the whole table).</summary>
    private readonly Dictionary<ulong, HashSet<ulong>> _byDev = [];
    private readonly IReadOnlySet<string> _supported;

    public MountTracker(IReadOnlySet<string>? supportedTypes = null) => _supported = supportedTypes ?? DefaultSupportedTypes;

    public IReadOnlyCollection<MountEntry> Mounts => _mounts.Values;
    public IReadOnlyCollection<MountTarget> Targets => _targets.Values;
    public int MountCount => _mounts.Count;

    public bool IsSupported(string fsType) => _supported.Contains(fsType);

    public MountRole Classify(MountEntry e) =>
        !_supported.Contains(e.FsType) || !e.HasDev ? MountRole.Unsupported : e.IsRootMount ? MountRole.Target : MountRole.BindOfSubtree;

    public MountTarget? TargetOf(ulong devKey) => _targets.GetValueOrDefault(devKey);

    public List<TargetEvent> Apply(MountChange change) => change.Kind switch
    {
        MountChangeKind.Upsert when change.Entry is not null => Upsert(change.Entry),
        MountChangeKind.Remove => Remove(change.Id),
        MountChangeKind.Snapshot when change.All is not null => Reconcile(change.All),
        _ => [],
    };

    /// <summary>A mount appeared, or an existing one changed (e.g. moved: same id, new mount point).</summary>
    public List<TargetEvent> Upsert(MountEntry e)
    {
        var devs = new HashSet<ulong> { e.DevKey };
        if (_mounts.TryGetValue(e.Key, out var old)) { devs.Add(old.DevKey); Unindex(old); }
        _mounts[e.Key] = e;
        Index(e);
        return Recompute(devs);
    }

    public List<TargetEvent> Remove(ulong id)
    {
        if (!_mounts.Remove(id, out var old)) return [];
        Unindex(old);
        return Recompute([old.DevKey]);
    }

    /// <summary>Replace the whole table (initial sweep, or the rescan after FAN_Q_OVERFLOW): adds what is missing,
    /// removes what vanished, and reports only real target changes.</summary>
    public List<TargetEvent> Reconcile(IEnumerable<MountEntry> all)
    {
        var devs = new HashSet<ulong>(_targets.Keys);
        _mounts.Clear();
        _byDev.Clear();
        foreach (var e in all)
        {
            if (_mounts.TryGetValue(e.Key, out var dup)) Unindex(dup); // duplicate key in the input: last one wins
            _mounts[e.Key] = e;
            Index(e);
            devs.Add(e.DevKey);
        }
        return Recompute(devs);
    }

    private void Index(MountEntry e)
    {
        if (!_byDev.TryGetValue(e.DevKey, out var set)) _byDev[e.DevKey] = set = [];
        set.Add(e.Key);
    }

    private void Unindex(MountEntry e)
    {
        if (_byDev.TryGetValue(e.DevKey, out var set) && set.Remove(e.Key) && set.Count == 0) _byDev.Remove(e.DevKey);
    }

    private List<TargetEvent> Recompute(IEnumerable<ulong> devs)
    {
        var events = new List<TargetEvent>();
        foreach (var dev in devs.OrderBy(d => d))
        {
            var roots = (_byDev.TryGetValue(dev, out var keys) ? keys.Select(k => _mounts[k]) : [])
                .Where(m => m.IsRootMount && m.HasDev && _supported.Contains(m.FsType))
                .OrderBy(m => m.Key).ToList();
            _targets.TryGetValue(dev, out var before);
            if (roots.Count == 0)
            {
                if (before is not null)
                {
                    _targets.Remove(dev);
                    events.Add(new TargetEvent(TargetEventKind.Detached, before));
                }
                continue;
            }
            var preferred = (before is null ? null : roots.FirstOrDefault(m => m.Key == before.PreferredMountId)) ?? roots[0];
            var now = new MountTarget
            {
                DevKey = dev,
                Dev = preferred.Dev,
                FsType = preferred.FsType,
                Source = preferred.Source,
                PreferredMountId = preferred.Key,
                PreferredPath = preferred.MountPoint,
                Mounts = roots.ConvertAll(m => (m.Key, m.MountPoint)),
            };
            _targets[dev] = now;
            if (before is null) events.Add(new TargetEvent(TargetEventKind.Attached, now));
            else if (before.PreferredPath != now.PreferredPath) events.Add(new TargetEvent(TargetEventKind.Moved, now, before.PreferredPath));
        }
        return events;
    }
}
