using FsHealer.Fanotify;

namespace FsHealer.Ext4;

/// <summary>
/// Decides whether a FAN_FS_ERROR handle may be resolved to a path. Resolving (open_by_handle_at) a corrupt inode
/// makes ext4 hit the corruption again and raise a new event: a listener that resolves every event loops forever
/// (500k events in 5 s measured). Rules: never resolve filesystem-wide events, inodes with generation 0 (iget itself
/// failed; note that inodes created by mkfs.ext4 -d also have generation 0, so their paths are conservatively not resolved) or events our own resolutions caused; resolve each (fsid, inode) at most once ever; at most
/// <paramref name="maxPerWindow"/> resolutions per <paramref name="window"/>; after <paramref name="maxTotal"/> give up.
/// </summary>
public sealed class HandleResolutionGuard(int ownPid, int maxPerWindow = 8, TimeSpan? window = null, int maxTotal = 4096)
{
    private readonly TimeSpan _window = window ?? TimeSpan.FromSeconds(1);
    private readonly HashSet<(FsId, uint)> _seen = [];
    private readonly Queue<DateTimeOffset> _recent = new();
    private int _total;

    /// <summary>Why the last <see cref="ShouldResolve"/> said no.</summary>
    public string? LastReason { get; private set; }

    public bool ShouldResolve(FsErrorEvent ev, DateTimeOffset now)
    {
        LastReason = null;
        if (ev.Kind != FsErrorKind.Error || ev.Fsid is not { } fsid || ev.Inode is not { } ino)
            return No("no inode handle");
        if (ev.Pid == ownPid) return No("raised by our own handle resolution (feedback loop guard)");
        if (ev.Generation == 0) return No("generation 0: the inode itself failed to load; resolving it would re-trigger the error");
        if (!_seen.Add((fsid, ino))) return No("already resolved once");
        if (_total >= maxTotal) return No($"resolution budget of {maxTotal} exhausted");
        while (_recent.Count > 0 && now - _recent.Peek() >= _window) _recent.Dequeue();
        if (_recent.Count >= maxPerWindow) { _seen.Remove((fsid, ino)); return No($"rate limit of {maxPerWindow} per {_window.TotalSeconds:0.#} s"); }
        _recent.Enqueue(now);
        _total++;
        return true;
    }

    private bool No(string reason) { LastReason = reason; return false; }
}
