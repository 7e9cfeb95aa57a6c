
namespace FsHealer.Btrfs;

public sealed record BtrfsScrubOptions
{
    /// <summary>Report only, no repair (BTRFS_SCRUB_READONLY).</summary>
    public bool ReadOnly { get; init; }
    /// <summary>Per-device bandwidth cap in bytes/s written to devinfo/&lt;id&gt;/scrub_speed_max; null = leave as is.</summary>
    public ulong? LimitBytesPerSecond { get; init; }
    /// <summary>Scheduled full scrub interval; null = no scheduled scrub.</summary>
    public TimeSpan? FullScrubInterval { get; init; }
    /// <summary>Scrub a device when these counters rise.</summary>
    public IReadOnlyList<DevStatKind> Triggers { get; init; } = DevStatNames.ScrubTriggers;
}

public enum ScrubReason { CounterRise, Scheduled, Manual, KernelLog, ScheduledCheck }

/// <summary>A scrub to run: one device (Devid) of one filesystem.</summary>
public sealed record ScrubRequest(string Fsid, ulong Devid, string Path, ScrubReason Reason, bool ReadOnly, ulong? LimitBytesPerSecond, string Why);

public enum ScrubOutcomeKind
{
    /// <summary>Scrub ran to the end.</summary>
    Completed,
    /// <summary>EINPROGRESS: a scrub was already running on that device. Counts as success.</summary>
    AlreadyRunning,
    Cancelled,
    Failed,
}

public sealed record ScrubOutcome(ScrubOutcomeKind Kind, ulong Devid, ScrubProgress Progress, int Errno, string Message)
{
    public bool Success => Kind is ScrubOutcomeKind.Completed or ScrubOutcomeKind.AlreadyRunning;
    public ulong Corrected => Progress.CorrectedErrors;
    public ulong Uncorrectable => Progress.UncorrectableErrors;

    /// <summary>Classify the return of BTRFS_IOC_SCRUB (errno 0 = success) with the progress the kernel filled in.</summary>
    public static ScrubOutcome Classify(ulong devid, int errno, ScrubProgress? progress, string device)
    {
        var p = progress ?? ScrubProgress.Empty;
        return errno switch
        {
            0 => new(ScrubOutcomeKind.Completed, devid, p, 0,
                $"scrub of {device} (devid {devid}) finished: {p.BytesScrubbed} bytes, {p.CorrectedErrors} corrected, {p.UncorrectableErrors} uncorrectable"),
            Text.Errno.EINPROGRESS => new(ScrubOutcomeKind.AlreadyRunning, devid, p, errno,
                $"scrub of {device} (devid {devid}): already running (EINPROGRESS), treated as success"),
            Text.Errno.ECANCELED => new(ScrubOutcomeKind.Cancelled, devid, p, errno,
                $"scrub of {device} (devid {devid}) cancelled at physical {p.LastPhysical}"),
            _ => new(ScrubOutcomeKind.Failed, devid, p, errno,
                $"scrub of {device} (devid {devid}): BTRFS_IOC_SCRUB failed: {Text.Errno.Name(errno)}: {Text.Errno.Message(errno)}"),
        };
    }
}

/// <summary>
/// Decides which device to scrub and when. Never two scrubs of one device at once: a rise on a device that is
/// being scrubbed is remembered and yields one follow-up scrub when the running one ends.
/// </summary>
public sealed class ScrubPlanner(BtrfsScrubOptions options)
{
    private readonly object _lock = new();
    private readonly HashSet<(string, ulong)> _running = [];
    private readonly Dictionary<(string, ulong), ScrubRequest> _pending = [];

    public BtrfsScrubOptions Options => options;

    public bool IsRunning(string fsid, ulong devid) { lock (_lock) return _running.Contains((fsid.ToLowerInvariant(), devid)); }

    /// <summary>Event from the monitor → a scrub to start now (already marked running), or null with the reason.</summary>
    public ScrubRequest? OnEvent(DevStatsEvent e, out string? note)
    {
        note = null;
        if (e.Kind != DevStatsEventKind.Rise || e.Counter is not { } c || !options.Triggers.Contains(c)) return null;
        var req = new ScrubRequest(e.Fsid, e.Devid, e.Path, ScrubReason.CounterRise, options.ReadOnly, options.LimitBytesPerSecond,
            $"{DevStatNames.Name(c)} rose {e.Old} -> {e.New}");
        return TryBegin(req, out note) ? req : null;
    }

    /// <summary>Mark a request as running. False if the device is already being scrubbed (the request is queued once).</summary>
    public bool TryBegin(ScrubRequest req, out string? note)
    {
        lock (_lock)
        {
            var key = (req.Fsid.ToLowerInvariant(), req.Devid);
            if (_running.Add(key)) { note = null; return true; }
            _pending.TryAdd(key, req);
            note = $"scrub of {req.Path} (devid {req.Devid}) already in progress; another scrub queued after it ({req.Why})";
            return false;
        }
    }

    /// <summary>Mark a request as running only when nothing scrubs that device now (nothing is queued otherwise): the
    /// caller waits and tries again.</summary>
    public bool TryBeginNow(ScrubRequest req)
    {
        lock (_lock) return _running.Add((req.Fsid.ToLowerInvariant(), req.Devid));
    }

    /// <summary>A scrub finished. Returns a queued follow-up request (already marked running), if any.</summary>
    public ScrubRequest? Complete(string fsid, ulong devid)
    {
        lock (_lock)
        {
            var key = (fsid.ToLowerInvariant(), devid);
            _running.Remove(key);
            if (_pending.Remove(key, out var next))
            {
                _running.Add(key);
                return next;
            }
            return null;
        }
    }

    /// <summary>Scheduled full scrub policy: due when an interval is set and no full scrub finished within it.</summary>
    public bool FullScrubDue(DateTimeOffset? lastFullScrub, DateTimeOffset now, out string reason)
    {
        if (options.FullScrubInterval is not { } every || every <= TimeSpan.Zero) { reason = "no scheduled scrub configured"; return false; }
        if (lastFullScrub is { } last && now - last < every)
        {
            reason = $"last full scrub {last:u} is within the interval {every}; skipped";
            return false;
        }
        reason = lastFullScrub is { } l ? $"last full scrub {l:u} is older than {every}" : "no full scrub recorded";
        return true;
    }
}
