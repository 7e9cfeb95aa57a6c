using FsHealer.Service.Journal;
using System.Text;
using FsHealer.Model;
using FsHealer.Text;

namespace FsHealer.Service.Notify;

public enum NotifyKind { Event, Digest, Resolved, Heartbeat, Test }

/// <summary>One message for every destination. <see cref="Event"/> is set for <see cref="NotifyKind.Event"/>
/// (hooks get its fields as FSHEALER_* variables); <see cref="Mount"/> for resolved messages. <see cref="Subject"/>
/// and <see cref="Body"/> are display text: every name in them is shown with <see cref="PathBytes.Show"/> (one line
/// per field, no control characters, non-UTF-8 bytes as \xNN); <see cref="Event"/> and <see cref="Mount"/> are exact.</summary>
public sealed record NotifyMessage(NotifyKind Kind, Severity Severity, string Subject, string Body, DateTimeOffset Time)
{
    public FsEvent? Event { get; init; }
    public string? Mount { get; init; }
    /// <summary>Digest only: (mount, class) → number of events summarised.</summary>
    public IReadOnlyList<(string Mount, EventClass Class, long Count)> Counts { get; init; } = [];
}

/// <summary>"N events of this class on one filesystem within T" before the first message is sent.</summary>
public sealed record NotifyThreshold(EventClass Class, int Count, TimeSpan Within);

public sealed record NotifyPolicyOptions
{
    /// <summary>Events below this severity never notify (resolution events are always considered).</summary>
    public Severity MinSeverity { get; init; } = Severity.Warning;
    /// <summary>The same <see cref="FsEvent.Key"/> is sent individually at most once per window.</summary>
    public TimeSpan DedupWindow { get; init; } = TimeSpan.FromHours(1);
    /// <summary>At most one digest per interval; everything not sent individually is counted into it.</summary>
    public TimeSpan DigestInterval { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Individual messages allowed per digest interval (across all filesystems); the rest go to the digest.</summary>
    public int MaxImmediatePerInterval { get; init; } = 5;
    /// <summary>A filesystem that had errors must stay quiet this long after a healing event to be "healthy again".</summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Periodic "alive" message; null = off.</summary>
    public TimeSpan? HeartbeatInterval { get; init; }
    public IReadOnlyList<NotifyThreshold> Thresholds { get; init; } = [];
    public string HostName { get; init; } = "localhost";
}

/// <summary>
/// Pure notification policy (no I/O, driven by a <see cref="TimeProvider"/>): severity filter, per-class thresholds,
/// de-duplication on <see cref="FsEvent.Key"/>, a rate limit that turns a flood into one digest per interval,
/// "resolved: healthy again" after a settle time, and an optional heartbeat.
/// <para>Bound: over a time span D, at most <c>(MaxImmediatePerInterval + 1) × (⌈D / DigestInterval⌉ + 1)</c>
/// event/digest messages are produced, plus one resolved message per filesystem that recovered and the heartbeats.
/// Invariant: every offered event at or above <see cref="NotifyPolicyOptions.MinSeverity"/> is either sent
/// individually or counted in exactly one digest (see <see cref="Stats"/>).</para>
/// Not thread-safe; the dispatcher serialises calls.
/// </summary>
public sealed class NotificationPolicy
{
    /// <summary>Events whose arrival marks a filesystem as having a problem (or above Error severity).</summary>
    public static readonly IReadOnlySet<EventClass> ProblemClasses = new HashSet<EventClass>
    {
        EventClass.MetadataSick, EventClass.MetadataCorrupt, EventClass.IoError, EventClass.MediaError,
        EventClass.DataLost, EventClass.Shutdown, EventClass.RepairFailed, EventClass.CounterRise, EventClass.ErrorsMissed,
        EventClass.CheckOverdue, // a later successful check says "healthy again"
    };

    /// <summary>Events that may mean "healthy again" (a scrub counts only when it is not itself a warning).</summary>
    public static readonly IReadOnlySet<EventClass> HealingClasses = new HashSet<EventClass>
    {
        EventClass.RepairSucceeded, EventClass.MetadataHealthy, EventClass.RepairProbablyOk, EventClass.ScrubFinished,
        EventClass.RepairUnnecessary,
    };

    private readonly NotifyPolicyOptions _o;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, DateTimeOffset> _lastSentByKey = [];
    private readonly Dictionary<(string Mount, EventClass Class), Queue<DateTimeOffset>> _thresholdWindows = [];
    private readonly Dictionary<(string Mount, EventClass Class), long> _pending = [];
    private readonly Dictionary<string, FsState> _fs = [];
    private DateTimeOffset _intervalStart;
    private int _immediateInInterval;
    private DateTimeOffset _lastDigest;
    private DateTimeOffset _lastHeartbeat;

    /// <summary>Per filesystem (by identity, <see cref="FsEvent.FsId"/>; by mount point for events without one): its
    /// health, and where it is mounted now (the latest event's mount point), so a move changes nothing here.</summary>
    private sealed class FsState { public bool Problem; public DateTimeOffset? HealedAt; public string FsType = ""; public string Mount = ""; }

    private static string FsKey(FsEvent e) => e.FsId ?? e.Mount;

    /// <summary>The mount point to show for a filesystem key: where it was last seen.</summary>
    private string MountOf(string key) => _fs.TryGetValue(key, out var st) && st.Mount.Length > 0 ? st.Mount : key;

    public NotificationPolicy(NotifyPolicyOptions options, TimeProvider time)
    {
        _o = options;
        _time = time;
        _intervalStart = _lastDigest = _lastHeartbeat = time.GetUtcNow();
    }

    /// <summary>Watched filesystem count for the heartbeat (set by the daemon).</summary>
    public int WatchedFilesystems { get; set; }

    public long Offered { get; private set; }
    public long Considered { get; private set; }
    public long SentIndividually { get; private set; }
    public long CountedInDigests { get; private set; }
    public long PendingDigestCount => _pending.Values.Sum();

    /// <summary>Offers one event; returns the messages to send now (usually zero or one).</summary>
    public IReadOnlyList<NotifyMessage> Offer(FsEvent e)
    {
        Offered++;
        var now = _time.GetUtcNow();
        var output = new List<NotifyMessage>();
        TrackHealth(e, now);
        if (e.Severity < _o.MinSeverity) { Collect(now, output); return output; }
        Considered++;

        bool send = PassesThreshold(e, now);
        if (send && _lastSentByKey.TryGetValue(e.Key, out var last) && now - last < _o.DedupWindow) send = false;
        RollInterval(now);
        if (send && _immediateInInterval >= _o.MaxImmediatePerInterval) send = false;

        if (send)
        {
            _lastSentByKey[e.Key] = now;
            _immediateInInterval++;
            SentIndividually++;
            output.Add(new NotifyMessage(NotifyKind.Event, e.Severity, Subject(e, _o.HostName), Body(e, _o.HostName), now) { Event = e, Mount = e.Mount });
        }
        else
        {
            var k = (FsKey(e), e.Class);
            _pending[k] = _pending.GetValueOrDefault(k) + 1;
        }
        Collect(now, output);
        return output;
    }

    /// <summary>Time passes: digest, resolved and heartbeat messages that are due.</summary>
    public IReadOnlyList<NotifyMessage> Tick()
    {
        var output = new List<NotifyMessage>();
        Collect(_time.GetUtcNow(), output);
        return output;
    }

    /// <summary>Sends the pending digest now regardless of the interval (shutdown).</summary>
    public NotifyMessage? FlushDigest() => _pending.Count == 0 ? null : MakeDigest(_time.GetUtcNow());

    private void Collect(DateTimeOffset now, List<NotifyMessage> output)
    {
        if (_pending.Count > 0 && now - _lastDigest >= _o.DigestInterval) output.Add(MakeDigest(now));
        foreach (var (_, st) in _fs)
        {
            string mount = st.Mount;
            if (st.Problem && st.HealedAt is { } h && now - h >= _o.SettleTime)
            {
                st.Problem = false;
                st.HealedAt = null;
                output.Add(new NotifyMessage(NotifyKind.Resolved, Severity.Notice, $"[fshealer] {_o.HostName}: resolved: {PathBytes.Show(mount)} is healthy again",
                    $"{PathBytes.Show(mount)} ({PathBytes.Show(st.FsType)}) on {_o.HostName} had errors; it has been quiet for {Fmt(now - h)} since the last healing event ({TimeFormat.Utc(h)}).\n", now) { Mount = mount });
            }
        }
        if (_o.HeartbeatInterval is { } hb && now - _lastHeartbeat >= hb)
        {
            _lastHeartbeat = now;
            output.Add(new NotifyMessage(NotifyKind.Heartbeat, Severity.Info, $"[fshealer] {_o.HostName}: alive, watching {WatchedFilesystems} filesystem(s)",
                $"fshealer is alive on {_o.HostName}, watching {WatchedFilesystems} filesystem(s).\n", now));
        }
    }

    private NotifyMessage MakeDigest(DateTimeOffset now)
    {
        var counts = new List<(string Mount, EventClass Class, long Count)>(_pending.Count);
        foreach (var p in _pending) counts.Add((MountOf(p.Key.Mount), p.Key.Class, p.Value));
        counts.Sort((a, b) => string.CompareOrdinal(a.Mount, b.Mount) is var c and not 0 ? c : a.Class.CompareTo(b.Class));
        long total = 0;
        var sev = Severity.Info;
        var mounts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in counts)
        {
            total += c.Count;
            if (SeverityOf(c.Class) > sev) sev = SeverityOf(c.Class);
            mounts.Add(c.Mount);
        }
        CountedInDigests += total;
        _pending.Clear();
        var sb = new StringBuilder();
        sb.Append($"{total} event(s) on {_o.HostName} since {TimeFormat.Utc(_lastDigest)} were not sent individually (rate limit, duplicates or thresholds):\n");
        string? mount = null;
        foreach (var c in counts)   // sorted by mount: one line per mount
        {
            if (c.Mount != mount)
            {
                if (mount is not null) sb.Append('\n');
                sb.Append($"  {PathBytes.Show(c.Mount)}:");
                mount = c.Mount;
            }
            sb.Append($" {ClassName(c.Class)}={c.Count}");
        }
        if (mount is not null) sb.Append('\n');
        _lastDigest = now;
        return new NotifyMessage(NotifyKind.Digest, sev, $"[fshealer] {_o.HostName}: digest, {total} event(s) on {mounts.Count} filesystem(s)",
            sb.ToString(), now) { Counts = counts };
    }

    private static Severity SeverityOf(EventClass c) => ProblemClasses.Contains(c) ? Severity.Error : Severity.Warning;

    private void RollInterval(DateTimeOffset now)
    {
        if (now - _intervalStart >= _o.DigestInterval) { _intervalStart = now; _immediateInInterval = 0; }
    }

    private bool PassesThreshold(FsEvent e, DateTimeOffset now)
    {
        NotifyThreshold? t = null;
        foreach (var th in _o.Thresholds) if (th.Class == e.Class) { t = th; break; }
        if (t is null || t.Count <= 1) return true;
        var k = (FsKey(e), e.Class);
        if (!_thresholdWindows.TryGetValue(k, out var q)) _thresholdWindows[k] = q = new Queue<DateTimeOffset>();
        q.Enqueue(now);
        while (q.Count > 0 && now - q.Peek() > t.Within) q.Dequeue();
        while (q.Count > t.Count) q.Dequeue();
        return q.Count >= t.Count;
    }

    private void TrackHealth(FsEvent e, DateTimeOffset now)
    {
        string key = FsKey(e);
        if (!_fs.TryGetValue(key, out var st)) _fs[key] = st = new FsState();
        st.FsType = e.FsType;
        if (e.Mount.Length > 0) st.Mount = e.Mount;
        if (e.Class == EventClass.Detached) { _fs.Remove(key); return; }
        if (ProblemClasses.Contains(e.Class) || e.Severity >= Severity.Error) { st.Problem = true; st.HealedAt = null; }
        else if (st.Problem && HealingClasses.Contains(e.Class) && e.Severity <= Severity.Notice) st.HealedAt = now;
    }

    /// <summary>The event class as every notification names it: "metadata_sick" (see <see cref="ClassNames"/>).</summary>
    public static string ClassName(EventClass c) => ClassNames.Of(c);

    /// <summary>"[fshealer] HOST: error: metadata_sick on /srv" — the host first, like smartd and ZED.</summary>
    public static string Subject(FsEvent e, string host) =>
        $"[fshealer] {host}: {ClassNames.Of(e.Severity)}: {ClassName(e.Class)} on {PathBytes.Show(e.Mount)}";

    public static string Body(FsEvent e, string host)
    {
        var sb = new StringBuilder();
        sb.Append(PathBytes.Show(e.Message)).Append('\n').Append('\n');
        sb.Append($"host:     {host}\nclass:    {ClassName(e.Class)}\nseverity: {ClassNames.Of(e.Severity)}\nmount:    {PathBytes.Show(e.Mount)}\nfstype:   {PathBytes.Show(e.FsType)}\ntime:     {TimeFormat.Utc(e.Time)}\n");
        if (e.Device is not null) sb.Append($"device:   {PathBytes.Show(DeviceName.AsPath(e.Device)!)}\n");
        if (e.Inode is not null) sb.Append($"inode:    {e.Inode}\n");
        if (e.Path is not null) sb.Append($"path:     {PathBytes.Show(e.Path)}\n");
        if (e.Structure is not null) sb.Append($"structure: {PathBytes.Show(e.Structure)}\n");
        if (e.Errno is { } n) sb.Append($"errno:    {Errno.Name(n)} ({Errno.Message(n)})\n");
        if (e.Count is not null) sb.Append($"count:    {e.Count}\n");
        if (e.CorrelationId is not null) sb.Append($"eid:      {e.CorrelationId}\n");
        return sb.ToString();
    }

    private static string Fmt(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours:0.#}h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#}min" : $"{t.TotalSeconds:0}s";
}
