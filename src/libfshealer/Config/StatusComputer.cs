using FsHealer.Model;

namespace FsHealer.Config;

/// <summary>Exit codes of <c>fshealer status</c>: 0 healthy, 1 degraded, 2 error, 3 could not determine.</summary>
public enum Health { Healthy = 0, Degraded = 1, Error = 2, Unknown = 3 }

/// <summary>Level state read live (or remembered): whatever could be read; null = not known.</summary>
public sealed record LevelState
{
    /// <summary>ext4 errors_count, or the sum of btrfs device error counters.</summary>
    public ulong? ErrorCount { get; init; }
    public bool? Shutdown { get; init; }
    /// <summary>Mounted read-only (with errors recorded this means the kernel remounted it read-only).</summary>
    public bool ReadOnly { get; init; }
    public IReadOnlyList<string> SickStructures { get; init; } = [];
    public DateTimeOffset? LastGoodCheck { get; init; }
    /// <summary>The first time the daemon recorded attaching this filesystem (history), for check freshness of a
    /// filesystem that never had a successful check; the earliest Attached event among the events counts too.</summary>
    public DateTimeOffset? FirstAttached { get; init; }
    /// <summary>True when the live state could be read at all.</summary>
    public bool Readable { get; init; }
    public IReadOnlyList<string> Diagnostics { get; init; } = [];
}

public sealed record FsStatus(
    Health Health, IReadOnlyList<string> Reasons, DateTimeOffset? LastGoodCheck, TimeSpan? LastGoodCheckAge,
    FsEvent? LastEvent, int EventsSinceGoodCheck,
    bool CheckOverdue = false, TimeSpan? MaxCheckAge = null);

/// <summary>Pure: (events of one filesystem, level state, policy) → health. Events since the last successful
/// repair/check count; a shutdown stays until the filesystem is attached again (remounted).</summary>
public static class StatusComputer
{
    private static readonly HashSet<EventClass> Problems =
    [
        EventClass.MetadataSick, EventClass.MetadataCorrupt, EventClass.IoError, EventClass.MediaError,
        EventClass.CounterRise, EventClass.ErrorsMissed, EventClass.EventsLost,
    ];
    private static readonly HashSet<EventClass> Fatal = [EventClass.Shutdown, EventClass.DataLost, EventClass.RepairFailed];

    /// <summary>A completed check/repair that leaves the filesystem known good.</summary>
    public static bool IsGoodCheck(FsEvent e) => e.Class switch
    {
        EventClass.RepairSucceeded or EventClass.RepairUnnecessary => true,
        EventClass.ScrubFinished or EventClass.OfflineRepair => e.Severity <= Severity.Notice,
        _ => false,
    };

    public static FsStatus Compute(IReadOnlyList<FsEvent> events, LevelState level, EffectivePolicy policy, DateTimeOffset now)
    {
        var ordered = events.OrderBy(e => e.Time).ToList();
        int lastGood = ordered.FindLastIndex(IsGoodCheck);
        int lastAttach = ordered.FindLastIndex(e => e.Class == EventClass.Attached);
        DateTimeOffset? goodTime = lastGood >= 0 ? ordered[lastGood].Time : null;
        if (level.LastGoodCheck is { } lg && (goodTime is null || lg > goodTime)) goodTime = lg;

        var reasons = new List<string>();
        var health = Health.Healthy;
        void Raise(Health h, string why)
        {
            reasons.Add(why);
            if (Rank(h) > Rank(health)) health = h;
        }

        int since = 0;
        var counted = new Dictionary<EventClass, int>();
        for (int i = 0; i < ordered.Count; i++)
        {
            var e = ordered[i];
            bool afterGood = i > lastGood;
            if (e.Class == EventClass.Shutdown && i > lastAttach) { counted[e.Class] = counted.GetValueOrDefault(e.Class) + 1; since++; continue; }
            if (!afterGood) continue;
            if (Fatal.Contains(e.Class) || Problems.Contains(e.Class))
            {
                counted[e.Class] = counted.GetValueOrDefault(e.Class) + 1;
                since++;
            }
        }
        foreach (var (cls, n) in counted.OrderBy(k => k.Key))
            Raise(Fatal.Contains(cls) ? Health.Error : Health.Degraded,
                cls == EventClass.Shutdown ? $"{n} shutdown event(s) since the last mount" : $"{n} {cls} event(s) since the last successful check/repair");

        if (level.Shutdown == true) Raise(Health.Error, "filesystem is shut down");
        if (level.ErrorCount is { } ec && ec > 0)
        {
            if (level.ReadOnly) Raise(Health.Error, $"read-only with {ec} error(s) recorded");
            else Raise(Health.Degraded, $"{ec} error(s) recorded by the kernel");
        }
        if (level.SickStructures.Count > 0) Raise(Health.Degraded, $"sick: {string.Join(", ", level.SickStructures)}");
        // check freshness (max_check_age_seconds): see Freshness for the rules
        DateTimeOffset? firstSeen = level.FirstAttached;
        int firstAttach = ordered.FindIndex(e => e.Class == EventClass.Attached);
        if (firstAttach >= 0 && (firstSeen is null || ordered[firstAttach].Time < firstSeen)) firstSeen = ordered[firstAttach].Time;
        var fresh = Freshness.Evaluate(goodTime, firstSeen, policy.MaxCheckAge, now);
        if (fresh.Overdue) Raise(Health.Degraded, fresh.Reason!);
        if (!level.Readable && ordered.Count == 0 && health == Health.Healthy)
        {
            health = Health.Unknown;
            reasons.Add(level.Diagnostics.Count > 0 ? $"could not read the state: {string.Join("; ", level.Diagnostics)}" : "no live state and no history");
        }
        return new FsStatus(health, reasons, goodTime, goodTime is { } g ? now - g : null,
            ordered.Count > 0 ? ordered[^1] : null, since, fresh.Overdue, policy.MaxCheckAge);
    }

    private static int Rank(Health h) => h switch { Health.Healthy => 0, Health.Unknown => 1, Health.Degraded => 2, _ => 3 };

    /// <summary>The exit code for several filesystems: any error → 2, else any degraded → 1, else any unknown → 3.</summary>
    public static Health Overall(IEnumerable<Health> all)
    {
        var worst = Health.Healthy;
        foreach (var h in all) if (Rank(h) > Rank(worst)) worst = h;
        return worst;
    }
}
