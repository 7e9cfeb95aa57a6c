using FsHealer.Model;

namespace FsHealer.Config;

/// <summary>The freshness verdict for one filesystem: overdue or not, how old its last successful check is, and why.</summary>
public readonly record struct FreshnessVerdict(bool Overdue, TimeSpan? Age, string? Reason);

/// <summary>
/// Check freshness ("when was this filesystem last verified, and is that too long ago?"), pure.
/// <para>A filesystem with a limit (<c>max_check_age_seconds</c>, <see cref="EffectivePolicy.MaxCheckAge"/>) is
/// <b>overdue</b> when its last successful check/repair (<see cref="StatusComputer.IsGoodCheck"/>) is older than the
/// limit. A filesystem that never had one is measured from the first time fshealer recorded attaching it: it gets the
/// limit itself as grace period, so a newly added filesystem is not overdue at once, and one that has been watched for
/// longer than the limit without a single successful check is. With neither a good check nor a recorded attach
/// nothing is known and it is not overdue. A last good check in the future (the clock went backwards) is not
/// overdue.</para>
/// </summary>
public static class Freshness
{
    public static FreshnessVerdict Evaluate(DateTimeOffset? lastGood, DateTimeOffset? firstSeen, TimeSpan? maxAge, DateTimeOffset now)
    {
        TimeSpan? age = lastGood is { } g ? now - g : null;
        if (maxAge is not { } limit || limit <= TimeSpan.Zero) return new(false, age, null);
        if (age is { } a)
            return a > limit
                ? new(true, a, $"last successful check {FormatAge(a)} ago, older than max_check_age {FormatAge(limit)}")
                : new(false, a, null);
        if (firstSeen is { } f && now - f > limit)
            return new(true, null, $"no successful check recorded since first attached {FormatAge(now - f)} ago, longer than max_check_age {FormatAge(limit)}");
        return new(false, null, null);
    }

    /// <summary>"41d", "41d 3h", "5h 12m", "7m 3s", "42s" (negative spans are shown as 0s).</summary>
    public static string FormatAge(TimeSpan t)
    {
        long s = t <= TimeSpan.Zero ? 0 : (long)t.TotalSeconds;
        static string Two(long big, string bu, long small, string su) => small == 0 ? $"{big}{bu}" : $"{big}{bu} {small}{su}";
        return s >= 86400 ? Two(s / 86400, "d", s % 86400 / 3600, "h")
            : s >= 3600 ? Two(s / 3600, "h", s % 3600 / 60, "m")
            : s >= 60 ? Two(s / 60, "m", s % 60, "s")
            : $"{s}s";
    }
}

/// <summary>One filesystem the daemon watches (by identity; <paramref name="Mount"/> is where it is now), with its
/// freshness limit (null = none).</summary>
public readonly record struct FreshnessTarget(string FsId, string Mount, string FsType, string? Device, TimeSpan? MaxCheckAge);

/// <summary>The freshness of one watched filesystem with a limit, after a <see cref="CheckOverdueMonitor.Tick"/>.</summary>
public readonly record struct FreshnessState(string FsId, string Mount, string FsType, DateTimeOffset? LastGoodCheck, bool Overdue);

/// <summary>
/// The daemon's freshness signal, pure (time comes in as <c>now</c>). It learns the last successful check per
/// filesystem (by identity, <see cref="FsEvent.FsId"/>; events without one by mount point) from the events it sees (as an <see cref="IEventSink"/>: good checks, attaches) and from
/// <see cref="Seed"/> (the history at attach). <see cref="Tick"/> returns ONE <see cref="EventClass.CheckOverdue"/>
/// event when a filesystem becomes overdue, nothing on later ticks while it stays overdue, and arms again only when a
/// newer successful check is seen (so a clock that jumps backwards and forwards again does not repeat the warning,
/// and neither does a remount at the same mount point within the same overdue episode). A detached mount point that
/// is not overdue is forgotten (the history has its facts). Thread-safe.
/// </summary>
public sealed class CheckOverdueMonitor : IEventSink
{
    private sealed class FsFreshness
    {
        public DateTimeOffset? LastGood;
        public DateTimeOffset? FirstSeen;
        public bool Fired;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, FsFreshness> _fs = new(StringComparer.Ordinal);

    /// <summary>Merge what is known about a filesystem: a newer last good check re-arms the warning; the earliest
    /// first-seen time wins.</summary>
    public void Seed(string fsId, DateTimeOffset? lastGood, DateTimeOffset? firstSeen)
    {
        lock (_lock)
        {
            if (!_fs.TryGetValue(fsId, out var s)) _fs[fsId] = s = new FsFreshness();
            if (lastGood is { } g && (s.LastGood is null || g > s.LastGood))
            {
                s.LastGood = g;
                s.Fired = false;
            }
            if (firstSeen is { } f && (s.FirstSeen is null || f < s.FirstSeen)) s.FirstSeen = f;
        }
    }

    public void Publish(FsEvent e)
    {
        string key = e.FsId ?? e.Mount;
        if (StatusComputer.IsGoodCheck(e)) Seed(key, e.Time, null);
        else if (e.Class == EventClass.Attached) Seed(key, null, e.Time);
        else if (e.Class == EventClass.Detached) Forget(key);
    }

    /// <summary>A filesystem went away: forget it unless it is in an overdue episode (then a remount does not warn
    /// again). The history keeps the facts; the daemon seeds them again at the next attach. Bounds the state to the
    /// mounted filesystems plus the overdue ones. A move changes nothing here: the state is keyed by identity.</summary>
    private void Forget(string fsId)
    {
        lock (_lock)
            if (_fs.TryGetValue(fsId, out var s) && !s.Fired) _fs.Remove(fsId);
    }

    /// <summary>Filesystems with state (tests: the state stays bounded).</summary>
    public int Tracked { get { lock (_lock) return _fs.Count; } }

    /// <summary>The last successful check known for a filesystem.</summary>
    public DateTimeOffset? LastGoodCheck(string fsId)
    {
        lock (_lock) return _fs.TryGetValue(fsId, out var s) ? s.LastGood : null;
    }

    /// <summary>Evaluate every target with a limit; returns the events to publish (at most one per newly overdue
    /// filesystem). <paramref name="states"/>, when given, receives the state of every target with a limit.</summary>
    public IReadOnlyList<FsEvent> Tick(IReadOnlyList<FreshnessTarget> targets, DateTimeOffset now, List<FreshnessState>? states = null)
    {
        List<FsEvent>? events = null;   // the daemon ticks every second: allocate only when there is something to say
        lock (_lock)
        {
            for (int i = 0; i < targets.Count; i++)
            {
                var t = targets[i];
                if (t.MaxCheckAge is not { } limit || limit <= TimeSpan.Zero) continue;
                if (!_fs.TryGetValue(t.FsId, out var s)) _fs[t.FsId] = s = new FsFreshness { FirstSeen = now };
                var v = Freshness.Evaluate(s.LastGood, s.FirstSeen, limit, now);
                states?.Add(new FreshnessState(t.FsId, t.Mount, t.FsType, s.LastGood, v.Overdue));
                if (!v.Overdue || s.Fired) continue;
                s.Fired = true;
                (events ??= []).Add(new FsEvent
                {
                    Time = now, Class = EventClass.CheckOverdue, Severity = Severity.Warning, Mount = t.Mount, FsType = t.FsType, FsId = t.FsId,
                    Device = t.Device, Message = $"{t.Mount}: check overdue: {v.Reason}",
                    Count = v.Age is { } a ? (long)a.TotalSeconds : null,
                });
            }
        }
        return events ?? (IReadOnlyList<FsEvent>)[];
    }
}
