using FsHealer.Config;
using FsHealer.Model;

namespace FsHealer.Healing;

/// <summary>What kind of healing action a gate limits.</summary>
public enum ActionKind { OfflineRepair, Schedule, FullCheck,
    /// <summary>A btrfs scrub started by the kernel log (a read-repair or damage line): at most once a minute, backing
    /// off while lines keep coming.</summary>
    KernelLogScrub }

/// <summary>
/// One filesystem the daemon watches. Its <see cref="Identity"/> is what the kernel says it is; everything the daemon
/// keeps per filesystem hangs off this object — the policy it was attached with, the rate limits of its actions —
/// and everything it publishes names it (<see cref="FsEvent.FsId"/>). The mount point is an attribute:
/// <see cref="MovedTo"/> changes it and nothing else. Thread-safe.
/// </summary>
public sealed class WatchedFilesystem(FilesystemIdentity identity, string path, ulong mountId, string source, EffectivePolicy policy,
    TimeProvider? time = null)
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<ActionKind, ActionGate> _gates = [];
    private string _path = path;
    private ulong _mountId = mountId;
    private EffectivePolicy _policy = policy;

    public FilesystemIdentity Identity { get; } = identity;
    public string FsType => Identity.FsType;
    /// <summary>The device the kernel names as the source ("/dev/loop3"), for people; identity is by device number.</summary>
    public string Source { get; } = source;

    /// <summary>Where it is mounted now.</summary>
    public string Path { get { lock (_lock) return _path; } }
    /// <summary>The unique id of the mount the daemon uses (0 when the kernel gives only reusable ids).</summary>
    public ulong MountId { get { lock (_lock) return _mountId; } }
    public EffectivePolicy Policy { get { lock (_lock) return _policy; } }

    /// <summary>The filesystem moved (same superblock, new mount point, maybe a new mount id).</summary>
    public void MovedTo(string path, ulong mountId)
    {
        lock (_lock) { _path = path; _mountId = mountId; }
    }

    /// <summary>A configuration reload gave it another policy. Returns the old one.</summary>
    public EffectivePolicy ChangePolicy(EffectivePolicy policy)
    {
        lock (_lock)
        {
            var old = _policy;
            _policy = policy;
            if (old.FullCheckInterval != policy.FullCheckInterval) _gates.Remove(ActionKind.FullCheck);
            return old;
        }
    }

    /// <summary>The rate limit of one kind of action on this filesystem (<see cref="ActionGate"/>): full checks follow
    /// full_check_interval_seconds; an offline repair or a scheduled check at most once a minute, backing off while
    /// problems keep coming (the remount itself may report what ext4 recorded); a kernel-log scrub likewise.</summary>
    public ActionGate Gate(ActionKind kind)
    {
        lock (_lock)
        {
            if (!_gates.TryGetValue(kind, out var g))
                _gates[kind] = g = new ActionGate(kind == ActionKind.FullCheck ? _policy.FullCheckInterval : TimeSpan.FromMinutes(1), _time);
            return g;
        }
    }

    /// <summary>The same filesystem came back (remounted after an offline repair, or by an administrator): its actions
    /// keep their rate limits, so a remount that reports what the filesystem recorded does not start another repair.</summary>
    public void InheritGates(WatchedFilesystem before)
    {
        if (ReferenceEquals(before, this)) return;
        lock (before._lock)
            lock (_lock)
                foreach (var (k, g) in before._gates)
                    if (k != ActionKind.FullCheck || before._policy.FullCheckInterval == _policy.FullCheckInterval) _gates[k] = g;
    }

    /// <summary>An event about this filesystem, named by its identity and its current mount point.</summary>
    public FsEvent Event(EventClass cls, Severity severity, string message, string? correlationId = null) => new()
    {
        Class = cls, Severity = severity, Mount = Path, FsType = FsType, Device = Source, FsId = Identity.Id,
        Message = message, CorrelationId = correlationId,
    };

    public override string ToString() => $"{Path} ({Identity})";
}
