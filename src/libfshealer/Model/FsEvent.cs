using FsHealer.Xfs;

namespace FsHealer.Model;

/// <summary>What happened, across all filesystems and sources: one event model for history, status, notifications
/// and metrics.</summary>
public enum EventClass
{
    Attached, Detached, Moved, Deferred,
    MetadataSick, MetadataCorrupt, MetadataHealthy,
    IoError, MediaError, DataLost, Shutdown, EventsLost, ErrorsMissed, CounterRise,
    RepairSucceeded, RepairUnnecessary, RepairProbablyOk, RepairFailed, RepairRefused,
    FullCheckStarted, FullCheckSuppressed, ScrubFinished, OfflineRepair, CheckScheduled, Diagnostic,
    /// <summary>What the policy decided for a filesystem or an event, and why (rule, policy).</summary>
    Decision,
    /// <summary>An action that changes a filesystem began (written durably before it starts).</summary>
    ActionStarted,
    /// <summary>At start: an action began earlier but no outcome was ever recorded (the daemon died mid-action).</summary>
    ActionInterrupted,
    /// <summary>A filesystem's last successful check/repair is older than its max_check_age_seconds (published once
    /// per overdue episode; a newer successful check ends it).</summary>
    CheckOverdue,
}

public enum Severity { Debug, Info, Notice, Warning, Error, Critical }

/// <summary>One event. <see cref="Mount"/> is the mount point, <see cref="Key"/> a stable de-duplication key
/// (class + filesystem + object), <see cref="CorrelationId"/> ties an event to the decision and actions it caused.</summary>
public sealed record FsEvent
{
    public DateTimeOffset Time { get; init; } = DateTimeOffset.UtcNow;
    public required EventClass Class { get; init; }
    public required Severity Severity { get; init; }
    public required string Mount { get; init; }
    public required string FsType { get; init; }
    public required string Message { get; init; }
    public string? Device { get; init; }
    public ulong? Inode { get; init; }
    public string? Path { get; init; }
    public int? Errno { get; init; }
    public string? Structure { get; init; }
    public long? Count { get; init; }
    public string? CorrelationId { get; init; }
    /// <summary>The filesystem's identity (Healing.FilesystemIdentity.Id: "uuid:…" or "dev:M:m"): what history,
    /// status, freshness and notification windows key on. <see cref="Mount"/> is where it was mounted at the time.</summary>
    public string? FsId { get; init; }

    /// <summary>De-duplication key: the class, the filesystem (its identity, so a move does not make an event new)
    /// and the object.</summary>
    public string Key => $"{Class}|{FsType}|{FsId ?? Device ?? Mount}|{Structure}|{Inode}";

    /// <summary>"mount: message", without repeating the mount when the message already starts with it
    /// (most producers write "&lt;mount&gt;: ..." themselves, like xfs_healer's lines).</summary>
    public string Headline =>
        Mount.Length == 0 ? Message
        : Message.StartsWith(Mount, StringComparison.Ordinal) && (Message.Length == Mount.Length || Message[Mount.Length] is ':' or ' ') ? Message
        : $"{Mount}: {Message}";
}

/// <summary>Receives events (history store, notifier, metrics, journal). Must not throw and must not block long.</summary>
public interface IEventSink
{
    void Publish(FsEvent e);
}

/// <summary>A sink that can be asked to make everything published so far durable.</summary>
public interface IFlushableSink : IEventSink
{
    bool Flush(TimeSpan timeout);
}

/// <summary>
/// The action journal: an action is written durably as <see cref="EventClass.ActionStarted"/> before it starts and
/// its outcome carries the same <see cref="FsEvent.CorrelationId"/>. At start, every started action without any
/// later event of the same correlation id was interrupted (the daemon died mid-action) and is reported.
/// </summary>
public static class ActionJournal
{
    public static string NewCorrelationId() => Guid.NewGuid().ToString("N")[..16];

    /// <summary>The definition, over <paramref name="history"/> in recording order. The daemon asks the history
    /// database the same question in SQL (HistoryStore.InterruptedActions; a randomized test checks they agree).</summary>
    public static List<FsEvent> Interrupted(IEnumerable<FsEvent> history)
    {
        var started = new Dictionary<string, FsEvent>();
        var finished = new HashSet<string>();
        foreach (var e in history)
        {
            if (e.CorrelationId is not { } id) continue;
            if (e.Class == EventClass.ActionStarted) started[id] = e;
            else if (e.Class != EventClass.Decision) finished.Add(id);
        }
        return started.Where(kv => !finished.Contains(kv.Key)).Select(kv => kv.Value).OrderBy(e => e.Time).ToList();
    }
}

/// <summary>Fans events out to every sink; a failing sink is reported once and never stops the others.</summary>
public sealed class EventHub : IEventSink
{
    private readonly List<IEventSink> _sinks = [];
    private readonly Action<string>? _diagnostic;
    private readonly HashSet<Type> _failed = [];

    public EventHub(Action<string>? diagnostic = null) => _diagnostic = diagnostic;

    public void Add(IEventSink sink) { lock (_sinks) _sinks.Add(sink); }

    /// <summary>Swap one sink for another in place (a reload); null adds or removes.</summary>
    public void Replace(IEventSink? old, IEventSink? replacement)
    {
        lock (_sinks)
        {
            int i = old is null ? -1 : _sinks.IndexOf(old);
            if (i >= 0 && replacement is not null) _sinks[i] = replacement;
            else
            {
                if (i >= 0) _sinks.RemoveAt(i);
                if (replacement is not null) _sinks.Add(replacement);
            }
        }
    }

    /// <summary>Publish, then wait until every flushable sink (the history store) has it on disk: for the start of an
    /// action, so that a crash during the action is reported at the next start. True only when there is such a sink
    /// and every one of them confirmed it; an action that changes a filesystem must not run otherwise.</summary>
    public bool PublishDurable(FsEvent e, TimeSpan? timeout = null)
    {
        Publish(e);
        IEventSink[] sinks;
        lock (_sinks) sinks = [.. _sinks];
        bool any = false, all = true;
        foreach (var s in sinks)
        {
            if (s is not IFlushableSink f) continue;
            any = true;
            if (f.Flush(timeout ?? TimeSpan.FromSeconds(5))) continue;
            all = false;
            _diagnostic?.Invoke($"event sink {s.GetType().Name}: could not make '{e.Message}' durable in time");
        }
        return any && all;
    }

    public void Publish(FsEvent e)
    {
        // one device naming in everything users see: /dev/loop0, never the bare kernel name loop0
        if (e.Device is { Length: > 0 } dev && dev[0] != '/') e = e with { Device = FsHealer.Text.DeviceName.AsPath(dev) };
        IEventSink[] sinks;
        lock (_sinks) sinks = [.. _sinks];
        foreach (var s in sinks)
        {
            try { s.Publish(e); }
            catch (Exception ex)
            {
                bool first;
                lock (_failed) first = _failed.Add(s.GetType());
                if (first) _diagnostic?.Invoke($"event sink {s.GetType().Name} failed: {ex.Message}");
            }
        }
    }
}

/// <summary>Maps XFS health monitor events (and repair outcomes) to the common model.</summary>
public static class XfsEventMapping
{
    public static FsEvent? Map(in HealthMonitorEvent e, string mount, string? device, string? path)
    {
        var line = XfsEventFormatter.FormatEvent(e, mount, path);
        if (line is null) return null;
        var (cls, sev) = (e.Domain, e.Type) switch
        {
            (HealthDomain.Mount, HealthEventType.Lost) => (EventClass.EventsLost, Severity.Warning),
            (HealthDomain.Mount, HealthEventType.Shutdown) => (EventClass.Shutdown, Severity.Critical),
            (HealthDomain.Mount, _) => (EventClass.Diagnostic, Severity.Info),
            (_, HealthEventType.Sick) => (EventClass.MetadataSick, Severity.Error),
            (_, HealthEventType.Corrupt) => (EventClass.MetadataCorrupt, Severity.Error),
            (_, HealthEventType.Healthy) => (EventClass.MetadataHealthy, Severity.Notice),
            (_, HealthEventType.MediaError) => (EventClass.MediaError, Severity.Error),
            (_, HealthEventType.DataLost) => (EventClass.DataLost, Severity.Critical),
            (HealthDomain.FileRange, _) => (EventClass.IoError, Severity.Error),
            _ => (EventClass.Diagnostic, Severity.Info),
        };
        var structs = XfsHealthTables.StructuresFor(e.Domain);
        return new FsEvent
        {
            Class = cls, Severity = sev, Mount = mount, FsType = "xfs", Device = device, Message = line, Path = path,
            Inode = e.Domain switch { HealthDomain.Inode => e.InodeIno, HealthDomain.FileRange => e.FileIno, _ => null },
            Errno = e.Domain == HealthDomain.FileRange && e.FileError != 0 ? (int)e.FileError : null,
            Structure = structs is null ? null : (e.Domain is HealthDomain.Ag or HealthDomain.RtGroup ? $"{e.Domain.ToString().ToLowerInvariant()} {e.GroupNumber} " : "") + structs.FormatMask(e.Mask),
            Count = e.Domain == HealthDomain.Mount && e.Type == HealthEventType.Lost ? (long)Math.Min(e.LostCount, long.MaxValue) : null,
        };
    }

    public static EventClass ForOutcome(RepairOutcome o) => o switch
    {
        RepairOutcome.Success => EventClass.RepairSucceeded,
        RepairOutcome.Unnecessary => EventClass.RepairUnnecessary,
        RepairOutcome.ProbablyOk => EventClass.RepairProbablyOk,
        _ => EventClass.RepairFailed,
    };
}
