using FsHealer.Model;

namespace FsHealer.Config;

/// <summary>Where the policy that <c>fshealer status</c> shows comes from.</summary>
public enum PolicySource
{
    /// <summary>The daemon attached the current mount and recorded the policy it applies.</summary>
    Daemon,
    /// <summary>The daemon attached the current mount but defers it to another healer (xfs_healer owns the health
    /// monitor): it applies nothing itself.</summary>
    Deferred,
    /// <summary>No record of the daemon attaching the current mount: what the configuration file says.</summary>
    Config,
    /// <summary>No daemon is running on this state directory: nothing acts on the filesystem now; the configuration's
    /// policy is what a started daemon would apply.</summary>
    Stopped,
    /// <summary>The history cannot be read (permission denied): what the daemon applies is unknown; the
    /// configuration's policy is shown.</summary>
    Unknown,
}

/// <summary>The policy shown for one filesystem. <see cref="Text"/> is <see cref="EffectivePolicy.Describe"/>'s line
/// ("ext4: offline repair (unmount, e2fsck, remount) (rule (defaults))"); <see cref="Action"/> the machine-readable
/// name when known (<see cref="EffectivePolicy.ActionName"/>); <see cref="Since"/> when the daemon attached the mount.</summary>
public sealed record AppliedPolicy(PolicySource Source, string Text, string? Action, string Rule, DateTimeOffset? Since)
{
    public string SourceName => Source switch
    {
        PolicySource.Daemon => "daemon", PolicySource.Deferred => "deferred", PolicySource.Stopped => "stopped",
        PolicySource.Unknown => "unknown", _ => "config",
    };

    /// <summary>The status line after "policy: ".</summary>
    public string Line => Source switch
    {
        PolicySource.Daemon => $"{Text} — applied by the daemon since {Stamp(Since)}",
        PolicySource.Deferred => $"{Text} — not applied: the daemon defers this filesystem to another healer (xfs_healer?) since {Stamp(Since)}",
        PolicySource.Stopped => $"{Text} (from the configuration; no fshealer daemon is running, so nothing acts on this filesystem now)",
        PolicySource.Unknown => $"{Text} (from the configuration; the history cannot be read, so what the daemon applies is unknown)",
        _ => $"{Text} (from the configuration; the daemon has not attached this filesystem)",
    };

    private static string Stamp(DateTimeOffset? t) =>
        t is { } v ? FsHealer.Text.TimeFormat.Utc(v) : "an unknown time";
}

/// <summary>
/// Pure: which policy does the daemon apply to a mounted filesystem? On every attach the daemon records an
/// <see cref="EventClass.Attached"/> (or <see cref="EventClass.Deferred"/>) event and then a <see cref="EventClass.Decision"/>
/// "&lt;mount&gt;: policy: &lt;EffectivePolicy.Describe&gt;" (with <see cref="FsEvent.Structure"/> = the action name).
/// The policy of the current mount is the last such Decision after the last attach; a later
/// <see cref="EventClass.Detached"/> (or no attach at all) means the daemon has not attached the current mount, and
/// the configuration's policy is shown instead.
/// </summary>
public static class AppliedPolicySelector
{
    private const string Marker = ": policy: ";

    /// <summary>The boundary classes: the events after which an earlier policy Decision no longer describes the mount.</summary>
    public static readonly EventClass[] Boundaries = [EventClass.Attached, EventClass.Deferred, EventClass.Detached];

    /// <summary>A per-attach policy Decision (not a heal decision: those carry a correlation id and other text).</summary>
    public static bool IsPolicyDecision(FsEvent e) =>
        e.Class == EventClass.Decision && e.CorrelationId is null && e.Message.Length > e.Mount.Length + Marker.Length
        && e.Message.StartsWith(e.Mount, StringComparison.Ordinal)
        && string.CompareOrdinal(e.Message, e.Mount.Length, Marker, 0, Marker.Length) == 0;

    /// <param name="eventsInRecordOrder">Events of one mount point, oldest first as recorded (events with the same
    /// time keep this order: an attach and its Decision usually share the millisecond).</param>
    /// <param name="config">The configuration's policy for this filesystem (the fallback).</param>
    /// <param name="daemonRunning">Whether a daemon holds the state directory's lock (null: could not tell). When
    /// none runs, what it recorded earlier no longer acts: the result is <see cref="PolicySource.Stopped"/>.</param>
    public static AppliedPolicy Select(IEnumerable<FsEvent> eventsInRecordOrder, EffectivePolicy config, string fsType, bool? daemonRunning = null)
    {
        if (daemonRunning == false)
            return new AppliedPolicy(PolicySource.Stopped, config.Describe(fsType), config.ActionName(fsType), config.Rule, null);
        FsEvent? boundary = null, decision = null;
        foreach (var e in eventsInRecordOrder.OrderBy(e => e.Time)) // stable: ties keep the recorded order
        {
            if (Array.IndexOf(Boundaries, e.Class) >= 0) { boundary = e; decision = null; }
            else if (boundary is not null && boundary.Class != EventClass.Detached && IsPolicyDecision(e)) decision = e;
        }
        if (boundary is null || boundary.Class == EventClass.Detached || decision is null)
            return new AppliedPolicy(PolicySource.Config, config.Describe(fsType), config.ActionName(fsType), config.Rule, null);
        string text = decision.Message[(decision.Mount.Length + Marker.Length)..];
        return new AppliedPolicy(boundary.Class == EventClass.Deferred ? PolicySource.Deferred : PolicySource.Daemon,
            text, decision.Structure, RuleOf(text) ?? "?", boundary.Time);
    }

    /// <summary>The rule name at the end of a <see cref="EffectivePolicy.Describe"/> line: "... (rule NAME)".</summary>
    public static string? RuleOf(string describe)
    {
        int i = describe.LastIndexOf(" (rule ", StringComparison.Ordinal);
        return i >= 0 && describe.EndsWith(')') ? describe[(i + 7)..^1] : null;
    }
}
