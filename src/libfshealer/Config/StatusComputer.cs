using FsHealer.Model;

namespace FsHealer.Config;

/// <summary>Exit codes of <c>fshealer status</c>: 0 healthy, 1 degraded, 2 error, 3 could not determine.</summary>
public enum Health { Healthy = 0, Degraded = 1, Error = 2, Unknown = 3 }

/// <summary>Level state read live (or remembered): whatever could be read; null = not known.</summary>
public sealed record LevelState
{
    /// <summary>ext4 errors_count, or the sum of btrfs device error counters.</summary>
    public ulong? ErrorCount { get; init; }
    /// <summary>How much of <see cref="ErrorCount"/> was already counted at the last clean check (btrfs: the device
    /// counters right after the last clean scrub of each device, <see cref="FsHealer.Btrfs.DevStatsBaseline"/>): those
    /// errors were repaired and verified; only the rest is true now. Null: no baseline.</summary>
    public ulong? ErrorBaseline { get; init; }
    /// <summary>When the newest baseline was taken.</summary>
    public DateTimeOffset? ErrorBaselineAt { get; init; }
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
    bool CheckOverdue = false, TimeSpan? MaxCheckAge = null, IReadOnlyList<string>? Notes = null);

/// <summary>Pure: (events of one filesystem, level state, policy) → health, from what is true now (issue 17, defect 2):
/// problem events after the last verified clean check/repair count, those before it do not; echoes do not either —
/// a problem about the same object (class, structure, inode) as one before the check, recorded within
/// <see cref="EchoWindow"/> after it: raised before or during the repair (queued events delivered late, the daemon's
/// own path lookups on the damaged filesystem) and covered by the check that verified it clean (a real recurrence
/// still shows in the kernel's own error count, which is level state). Level error counts count above their baseline
/// at the last clean check. A shutdown stays until the filesystem is attached again (remounted).</summary>
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

    /// <summary>How long after a verified clean check a problem about an object already reported before it is an echo.</summary>
    public static readonly TimeSpan EchoWindow = TimeSpan.FromSeconds(10);

    private static (EventClass, string?, ulong?) ObjectOf(FsEvent e) => (e.Class, e.Structure, e.Inode);

    /// <summary>True when <paramref name="e"/> (after the good check at <paramref name="good"/>) repeats an object reported
    /// before the check and arrived within <see cref="EchoWindow"/> of it.</summary>
    private static bool IsEcho(FsEvent e, FsEvent good, HashSet<(EventClass, string?, ulong?)> before) =>
        (e.Structure is not null || e.Inode is not null) && e.Time - good.Time <= EchoWindow && before.Contains(ObjectOf(e));

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

        int since = 0, echoes = 0;
        var counted = new Dictionary<EventClass, int>();
        var before = new HashSet<(EventClass, string?, ulong?)>();
        for (int i = 0; i <= lastGood; i++)
            if (Fatal.Contains(ordered[i].Class) || Problems.Contains(ordered[i].Class)) before.Add(ObjectOf(ordered[i]));
        for (int i = 0; i < ordered.Count; i++)
        {
            var e = ordered[i];
            bool afterGood = i > lastGood;
            if (e.Class == EventClass.Shutdown && i > lastAttach) { counted[e.Class] = counted.GetValueOrDefault(e.Class) + 1; since++; continue; }
            if (!afterGood) continue;
            if (Fatal.Contains(e.Class) || Problems.Contains(e.Class))
            {
                if (lastGood >= 0 && IsEcho(e, ordered[lastGood], before)) { echoes++; continue; }
                counted[e.Class] = counted.GetValueOrDefault(e.Class) + 1;
                since++;
            }
        }
        var notes = new List<string>();
        if (echoes > 0) notes.Add($"{echoes} event(s) right after the last successful check/repair repeat problems it covered (raised before or during it); not counted");
        foreach (var (cls, n) in counted.OrderBy(k => k.Key))
            Raise(Fatal.Contains(cls) ? Health.Error : Health.Degraded,
                cls == EventClass.Shutdown ? $"{n} shutdown event(s) since the last mount" : $"{n} {ClassNames.Of(cls)} event(s) since the last successful check/repair");

        if (level.Shutdown == true) Raise(Health.Error, "filesystem is shut down");
        if (level.ErrorCount is { } total && total > 0)
        {
            ulong baseline = Math.Min(level.ErrorBaseline ?? 0, total);
            ulong ec = total - baseline;
            string since2 = baseline > 0 ? $" since the last clean check{(level.ErrorBaselineAt is { } ba ? $" ({FsHealer.Text.TimeFormat.Utc(ba)})" : "")}" : "";
            if (ec > 0 && level.ReadOnly) Raise(Health.Error, $"read-only with {ec} error(s) recorded{since2}");
            else if (ec > 0) Raise(Health.Degraded, $"{ec} error(s) recorded by the kernel{since2}");
            if (baseline > 0) notes.Add($"{baseline} error(s) counted before the last clean check{(level.ErrorBaselineAt is { } b2 ? $" ({FsHealer.Text.TimeFormat.Utc(b2)})" : "")}, repaired then; not counted");
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
            ordered.Count > 0 ? ordered[^1] : null, since, fresh.Overdue, policy.MaxCheckAge, notes);
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
