namespace FsHealer.Healing;

/// <summary>The I/O counters of one block device at one moment (/sys/block/DEV/stat: sectors read and written, always
/// 512-byte units whatever the device's sector size).</summary>
public readonly record struct IoSample(DateTimeOffset Time, ulong SectorsRead, ulong SectorsWritten);

/// <summary>
/// "Is this filesystem idle enough for a full check?", pure: the I/O rate of its block device between two samples of
/// its stat file, against a threshold in bytes per second. Without two samples (just attached, stat unreadable) or
/// with counters that went backwards (the device was replaced), nothing is known and it is not idle.
/// </summary>
public static class IdleRule
{
    /// <summary>Parse the stat file (Documentation/block/stat.rst): field 3 is sectors read, field 7 sectors written.</summary>
    public static bool TryParseStat(ReadOnlySpan<char> text, DateTimeOffset time, out IoSample sample)
    {
        sample = default;
        Span<Range> parts = stackalloc Range[12];
        text = text.Trim();
        int n = text.SplitAny(parts, " \t\n", StringSplitOptions.RemoveEmptyEntries);
        if (n < 7) return false;
        if (!ulong.TryParse(text[parts[2]], out var read) || !ulong.TryParse(text[parts[6]], out var written)) return false;
        sample = new IoSample(time, read, written);
        return true;
    }

    /// <summary>Bytes per second between two samples; null when unknown.</summary>
    public static double? Rate(IoSample? before, IoSample? now)
    {
        if (before is not { } a || now is not { } b) return null;
        double seconds = (b.Time - a.Time).TotalSeconds;
        if (seconds <= 0 || b.SectorsRead < a.SectorsRead || b.SectorsWritten < a.SectorsWritten) return null;
        return (b.SectorsRead - a.SectorsRead + (b.SectorsWritten - a.SectorsWritten)) * 512.0 / seconds;
    }

    public static bool IsIdle(double? bytesPerSecond, long threshold) => bytesPerSecond is { } r && r <= threshold;
}

/// <summary>A daily time window "HH:MM-HH:MM" (local time; it may wrap midnight; equal ends = all day).</summary>
public readonly record struct CheckWindow(TimeSpan Start, TimeSpan End)
{
    public bool Contains(TimeSpan timeOfDay) =>
        Start == End || (Start < End ? timeOfDay >= Start && timeOfDay < End : timeOfDay >= Start || timeOfDay < End);

    public override string ToString() => $"{Start:hh\\:mm}-{End:hh\\:mm}";

    /// <summary>"01:00-05:30" → the window; null with the reason otherwise.</summary>
    public static CheckWindow? Parse(string text, out string? error)
    {
        error = null;
        var parts = text.Split('-');
        if (parts.Length == 2 && TimeOnly.TryParseExact(parts[0].Trim(), "HH:mm", out var a) && TimeOnly.TryParseExact(parts[1].Trim(), "HH:mm", out var b))
            return new CheckWindow(a.ToTimeSpan(), b.ToTimeSpan());
        error = $"must be a daily window \"HH:MM-HH:MM\" (24-hour local time, e.g. \"01:00-05:00\"), got \"{text}\"";
        return null;
    }
}

/// <summary>One watched filesystem as the scheduler sees it at one tick.</summary>
/// <param name="Disks">Every block device under it (its own, the whole disk, dm/md members, a loop device's backing
/// store): two filesystems that share any of them share a disk.</param>
/// <param name="IoRate">Bytes per second on its own block device since the previous sample (null: unknown).</param>
public sealed record CheckCandidate(string FsId, string Mount, string FsType, IReadOnlyList<string> Disks, bool Overdue,
    bool Enabled, double? IoRate, long IdleThreshold, CheckWindow? Window = null, TimeSpan? MaxCheckAge = null);

public enum CheckWait { Start, NotDue, Disabled, OutsideWindow, Measuring, NotIdle, DiskBusy, RetryLater, Running, CannotCheck }

/// <summary>What the scheduler said about one candidate at one tick.</summary>
public readonly record struct CheckVerdict(string FsId, string Mount, CheckWait Wait, string Why);

/// <summary>
/// The scheduled full check ("find latent damage before users do"), pure: time comes from a <see cref="TimeProvider"/>.
/// At each tick it picks the filesystems whose last successful check is older than their limit (max_check_age_seconds,
/// judged by <see cref="FsHealer.Config.CheckOverdueMonitor"/>) and that have scheduled checks enabled, and starts a
/// check of one only when
/// <list type="bullet">
/// <item>it is inside its time window (if it has one);</item>
/// <item>its block device is idle enough (<see cref="IdleRule"/>: the rate over the last sample at most the threshold);</item>
/// <item>no check is running on any filesystem that shares a block device with it (a disk is read by one check at a
/// time), and no other filesystem picked in the same tick shares one (the most overdue goes first: the order given);</item>
/// <item>its last attempt that did not end in a verified check is longer ago than the retry interval (its limit,
/// between 30 s and 6 h), so a filesystem that could not be unmounted is not hammered;</item>
/// <item>it was not found impossible to check (policy report, root filesystem, ...: said once, until
/// <see cref="Forget"/> — a reload or a new attach).</item>
/// </list>
/// <see cref="Finished"/> frees its disks. Thread-safe.
/// </summary>
public sealed class ScheduledCheckPlanner(TimeProvider time)
{
    public static readonly TimeSpan MinRetry = TimeSpan.FromSeconds(30), MaxRetry = TimeSpan.FromHours(6);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, IReadOnlyList<string>> _running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _retryAt = new(StringComparer.Ordinal);
    private readonly HashSet<string> _cannot = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CheckWait> _lastWait = new(StringComparer.Ordinal);

    /// <summary>Checks running now (started and not finished).</summary>
    public int Running { get { lock (_lock) return _running.Count; } }

    public static TimeSpan RetryInterval(TimeSpan? limit) =>
        limit is not { } l ? MaxRetry : l < MinRetry ? MinRetry : l > MaxRetry ? MaxRetry : l;

    /// <summary>Decide for every candidate (in order: pass the most overdue first). The filesystems with
    /// <see cref="CheckWait.Start"/> are marked running on their disks; the caller starts them and calls
    /// <see cref="Finished"/> for each. <paramref name="changed"/> receives the verdicts that differ from the
    /// previous tick's for that filesystem (to log a wait once, not every second).</summary>
    public IReadOnlyList<CheckVerdict> Tick(IReadOnlyList<CheckCandidate> candidates, List<CheckVerdict>? changed = null)
    {
        var now = time.GetUtcNow();
        var local = time.GetLocalNow().TimeOfDay;
        var verdicts = new List<CheckVerdict>(candidates.Count);
        lock (_lock)
        {
            var busy = new HashSet<string>(StringComparer.Ordinal);
            foreach (var disks in _running.Values) busy.UnionWith(disks);
            foreach (var c in candidates)
            {
                CheckVerdict v;
                if (_running.ContainsKey(c.FsId)) v = new(c.FsId, c.Mount, CheckWait.Running, "a scheduled check is running");
                else if (!c.Enabled) v = new(c.FsId, c.Mount, CheckWait.Disabled, "scheduled checks are off");
                else if (!c.Overdue) v = new(c.FsId, c.Mount, CheckWait.NotDue, "last successful check is recent enough");
                else if (_cannot.Contains(c.FsId)) v = new(c.FsId, c.Mount, CheckWait.CannotCheck, "cannot be checked (said before)");
                else if (_retryAt.TryGetValue(c.FsId, out var at) && now < at)
                    v = new(c.FsId, c.Mount, CheckWait.RetryLater, $"the last attempt did not verify it; next attempt after {at:u}");
                else if (c.Window is { } w && !w.Contains(local))
                    v = new(c.FsId, c.Mount, CheckWait.OutsideWindow, $"check overdue; waiting for the check window {w}");
                else if (c.IoRate is not { } r)
                    v = new(c.FsId, c.Mount, CheckWait.Measuring, "check overdue; measuring its I/O rate first");
                else if (!IdleRule.IsIdle(r, c.IdleThreshold))
                    v = new(c.FsId, c.Mount, CheckWait.NotIdle, $"check overdue; waiting until it is idle ({r / 1024:0} KiB/s of I/O, threshold {c.IdleThreshold / 1024} KiB/s)");
                else if (c.Disks.FirstOrDefault(busy.Contains) is { } shared)
                    v = new(c.FsId, c.Mount, CheckWait.DiskBusy, $"check overdue; waiting: another check is reading {shared}");
                else
                {
                    v = new(c.FsId, c.Mount, CheckWait.Start, "check overdue and idle: starting the scheduled check");
                    _running[c.FsId] = c.Disks;
                    busy.UnionWith(c.Disks);
                    _retryAt[c.FsId] = now + RetryInterval(c.MaxCheckAge);
                }
                verdicts.Add(v);
                if (changed is not null && (!_lastWait.TryGetValue(c.FsId, out var was) || was != v.Wait)) changed.Add(v);
                _lastWait[c.FsId] = v.Wait;
            }
        }
        return verdicts;
    }

    /// <summary>A started check ended. <paramref name="verified"/>: it ended in a verified check (the retry wait is
    /// dropped; freshness restarts anyway). <paramref name="cannotCheck"/>: it can never be checked as things are
    /// (said once; not tried again until <see cref="Forget"/>).</summary>
    public void Finished(string fsId, bool verified, bool cannotCheck = false)
    {
        lock (_lock)
        {
            _running.Remove(fsId);
            if (verified) _retryAt.Remove(fsId);
            if (cannotCheck) _cannot.Add(fsId);
        }
    }

    /// <summary>The filesystem went away or its policy changed: forget what was learnt about it (not a running check).</summary>
    public void Forget(string fsId)
    {
        lock (_lock)
        {
            _cannot.Remove(fsId);
            _retryAt.Remove(fsId);
            _lastWait.Remove(fsId);
        }
    }
}
