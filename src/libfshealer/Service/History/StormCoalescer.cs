using FsHealer.Model;

namespace FsHealer.Service.History;

/// <summary>What to do with one event in the history: a new row (remembered as <see cref="Slot"/> when later events
/// may fold into it), or one more repeat of the row of <see cref="Slot"/>.</summary>
public readonly record struct HistoryOp(FsEvent Event, long Slot, bool Repeat);

/// <summary>
/// Storm coalescing for the history (pure; the history writer thread owns one). An error storm — thousands of
/// events a second on one filesystem — must not become thousands of rows: per filesystem and per
/// <see cref="Window"/>, the first <see cref="StormThreshold"/> events are rows as they come; after that an event
/// identical to one already recorded in the window (same class, severity, object and message) becomes one more
/// repeat of that row (its count and last time grow), the first <see cref="DistinctPerWindow"/> different events
/// are still rows, and the rest fold into one summary row per class ("event storm: further … events"). So a window
/// writes at most <c>DistinctPerWindow + classes</c> rows per filesystem, however violent the storm.
/// Events that carry a decision, an action or its outcome (a correlation id, attach/detach, successful checks) are
/// never coalesced: status and the action journal read them one by one.
/// </summary>
public sealed class StormCoalescer(int stormThreshold = 20, int distinctPerWindow = 100, TimeSpan? window = null)
{
    public int StormThreshold { get; } = Math.Max(0, stormThreshold);
    public int DistinctPerWindow { get; } = Math.Max(StormThresholdFloor(stormThreshold), distinctPerWindow);
    public TimeSpan Window { get; } = window ?? TimeSpan.FromMinutes(1);

    private static int StormThresholdFloor(int t) => Math.Max(0, t);

    /// <summary>Classes that are never coalesced: the lifecycle, decisions, actions and their outcomes.</summary>
    private static readonly HashSet<EventClass> Never =
    [
        EventClass.Attached, EventClass.Detached, EventClass.Moved, EventClass.Deferred, EventClass.Decision,
        EventClass.ActionStarted, EventClass.ActionInterrupted, EventClass.RepairSucceeded, EventClass.RepairUnnecessary,
        EventClass.RepairProbablyOk, EventClass.RepairFailed, EventClass.ScrubFinished, EventClass.OfflineRepair,
        EventClass.CheckScheduled, EventClass.CheckOverdue, EventClass.FullCheckStarted, EventClass.Shutdown,
    ];

    public static bool Coalescible(FsEvent e) => e.CorrelationId is null && e.Mount.Length > 0 && !Never.Contains(e.Class);

    private sealed class MountWindow
    {
        public DateTimeOffset Start;
        public int Events;
        public int Rows;
        public readonly Dictionary<string, long> BySignature = new(StringComparer.Ordinal);
        public readonly Dictionary<EventClass, long> Overflow = [];
    }

    private readonly Dictionary<string, MountWindow> _mounts = new(StringComparer.Ordinal);
    private readonly Dictionary<long, long> _rowOf = [];
    // slots of windows that ended during the batch being decided: the batch may still repeat into them
    private readonly List<long> _dying = [];
    private long _nextSlot;

    /// <summary>Events folded into earlier rows so far.</summary>
    public long Folded { get; private set; }

    /// <summary>Decides for one event (in arrival order; the event's own time drives the windows).</summary>
    public HistoryOp Offer(FsEvent e)
    {
        if (!Coalescible(e)) return new HistoryOp(e, 0, false);
        string fs = e.FsId ?? e.Mount;   // the filesystem's identity where known
        if (!_mounts.TryGetValue(fs, out var w) || e.Time - w.Start >= Window || e.Time < w.Start - Window)
        {
            if (w is not null) Forget(w);
            else if (_mounts.Count >= 4096) Expire(e.Time);
            _mounts[fs] = w = new MountWindow { Start = e.Time };
        }
        w.Events++;
        string sig = Signature(e);
        if (w.Events > StormThreshold && w.BySignature.TryGetValue(sig, out long slot))
        {
            Folded++;
            return new HistoryOp(e, slot, true);
        }
        if (w.Rows < Math.Max(StormThreshold, DistinctPerWindow) || w.Events <= StormThreshold)
        {
            w.Rows++;
            slot = ++_nextSlot;
            w.BySignature[sig] = slot;
            return new HistoryOp(e, slot, false);
        }
        if (w.Overflow.TryGetValue(e.Class, out slot))
        {
            Folded++;
            return new HistoryOp(e, slot, true);
        }
        slot = ++_nextSlot;
        w.Overflow[e.Class] = slot;
        w.Rows++;
        var summary = e with
        {
            Message = $"{e.Mount}: event storm: further {ClassNames.Of(e.Class)} events on this filesystem in this minute are counted in this row, not recorded one by one (the first: {e.Headline})",
            Inode = null, Path = null, Structure = null, Errno = null, Count = null,
        };
        return new HistoryOp(summary, slot, false);
    }

    /// <summary>The writer recorded the row of <paramref name="slot"/> as <paramref name="rowId"/>.</summary>
    public void Bind(long slot, long rowId) { if (slot > 0) _rowOf[slot] = rowId; }

    /// <summary>The row a slot was recorded as (null: never written, e.g. its batch failed).</summary>
    public long? RowOf(long slot) => _rowOf.TryGetValue(slot, out var r) ? r : null;

    /// <summary>Slots remembered (tests: bounded by the open windows).</summary>
    public int LiveSlots => _rowOf.Count;

    private void Forget(MountWindow w)
    {
        _dying.AddRange(w.BySignature.Values);
        _dying.AddRange(w.Overflow.Values);
        if (_dying.Count > 100_000) EndBatch();   // a caller that never ends batches still stays bounded
    }

    /// <summary>The writer has written the batch decided so far: windows that ended in it are forgotten now (their
    /// rows may have received repeats from the same batch).</summary>
    public void EndBatch()
    {
        foreach (var s in _dying) _rowOf.Remove(s);
        _dying.Clear();
    }

    private void Expire(DateTimeOffset now)
    {
        foreach (var (m, w) in _mounts.ToList())
            if (now - w.Start >= Window) { Forget(w); _mounts.Remove(m); }
    }

    private static string Signature(FsEvent e) => $"{(int)e.Class}|{(int)e.Severity}|{e.Key}|{e.Path}|{e.Errno}|{e.Message}";
}
