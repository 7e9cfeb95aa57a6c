namespace FsHealer.Mounts;

/// <summary>
/// Where mount changes come from: the fanotify mount watcher (listmount/statmount) or the /proc/self/mountinfo
/// fallback. Both feed <see cref="MountTracker"/> the same way: one snapshot, then changes.
/// </summary>
public interface IMountSource : IDisposable
{
    /// <summary>"fanotify" or "mountinfo".</summary>
    string Kind { get; }

    /// <summary>The full mount table now (initial sweep, or a rescan).</summary>
    MountChange Snapshot(List<string> diagnostics);

    /// <summary>
    /// Wait up to <paramref name="timeoutMs"/> (-1 = forever) and append the changes that arrived. Returns 0 (also on
    /// timeout, with nothing appended) or an errno when the source itself failed.
    /// </summary>
    int WaitChanges(int timeoutMs, List<MountChange> changes, List<string> diagnostics);
}

/// <summary>Drives a tracker from a source.</summary>
public static class MountFeed
{
    public static List<TargetEvent> Pump(IMountSource source, MountTracker tracker, int timeoutMs, List<string> diagnostics, out int errno)
    {
        var changes = new List<MountChange>();
        errno = source.WaitChanges(timeoutMs, changes, diagnostics);
        var events = new List<TargetEvent>();
        foreach (var c in changes) events.AddRange(tracker.Apply(c));
        return events;
    }
}
