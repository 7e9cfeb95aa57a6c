using FsHealer.Model;

namespace FsHealer.Service.History.Live;

/// <summary>
/// Records every event in the history store. <see cref="Publish"/> never blocks and never throws: events go into a
/// bounded in-memory queue; a background thread writes them in batches (one transaction per batch). When the queue
/// is full the event is counted as dropped, and once the writer catches up it records a single
/// "history: N events not recorded" row. An event storm is folded by a <see cref="StormCoalescer"/> (identical
/// events become one row with a repeat count); retention (<see cref="HistoryStore.Prune"/>: age, size, WAL
/// truncation) runs on the writer thread at start and every <see cref="MaintenanceInterval"/>.
/// </summary>
public sealed class HistorySink : IFlushableSink, IDisposable
{
    public const int DefaultCapacity = 10_000;
    public const int MaxBatch = 512;

    private readonly HistoryStore _store;
    private readonly Action<string>? _diagnostic;
    private readonly Queue<FsEvent> _queue;
    private readonly int _capacity;
    private readonly object _lock = new();
    private readonly Thread _writer;
    private long _dropped;          // not yet reported
    private long _droppedTotal;
    private long _written;
    private long _pending;          // queued or being written
    private bool _stopping;
    private bool _writeFailedReported;
    private readonly StormCoalescer? _coalescer;
    private readonly FsHealer.Config.HistoryRetention? _retention;
    private DateTime _nextMaintenance;
    private bool _maintenanceFailedReported;
    private long _rows;

    /// <summary>How often retention runs (and the WAL is truncated) while the daemon writes.</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <param name="coalescer">Storm coalescing (null: every event is a row).</param>
    /// <param name="retention">Age and size bounds (null: no pruning; the WAL is still truncated).</param>
    public HistorySink(HistoryStore store, Action<string>? diagnostic = null, int capacity = DefaultCapacity,
        FsHealer.Config.HistoryRetention? retention = null, StormCoalescer? coalescer = null)
    {
        _store = store;
        _diagnostic = diagnostic;
        _retention = retention;
        _coalescer = coalescer;
        _nextMaintenance = retention is null ? DateTime.UtcNow + MaintenanceInterval : DateTime.MinValue;
        _capacity = Math.Max(1, capacity);
        _queue = new Queue<FsEvent>(Math.Min(_capacity, 1024));
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "fshealer-history" };
        _writer.Start();
    }

    /// <summary>Opens the store under <paramref name="stateDir"/> and starts a sink; null (and why) on failure.</summary>
    public static HistorySink? Open(string stateDir, Action<string>? diagnostic, out string? error, FsHealer.Config.HistoryRetention? retention = null) =>
        Open(stateDir, diagnostic, out error, out _, retention);

    /// <summary>As <see cref="Open(string, Action{string}?, out string?, FsHealer.Config.HistoryRetention?)"/>; a corrupt
    /// database is moved aside and a new one started (<see cref="HistoryStore.OpenForWriting"/>): <paramref name="movedAside"/>
    /// says so. The daemon's sink: storm coalescing on, retention by <paramref name="retention"/> (default 90 days, 64 MiB).</summary>
    public static HistorySink? Open(string stateDir, Action<string>? diagnostic, out string? error, out string? movedAside, FsHealer.Config.HistoryRetention? retention = null)
    {
        var store = HistoryStore.OpenForWriting(stateDir, out error, out movedAside);
        return store is null ? null : new HistorySink(store, diagnostic, DefaultCapacity, retention ?? FsHealer.Config.HistoryRetention.Default, new StormCoalescer());
    }

    public long Dropped => Interlocked.Read(ref _droppedTotal);
    /// <summary>Events recorded (as rows or as repeats of a row).</summary>
    public long Written => Interlocked.Read(ref _written);
    /// <summary>Rows inserted (fewer than <see cref="Written"/> when a storm was folded).</summary>
    public long Rows => Interlocked.Read(ref _rows);
    /// <summary>The last retention pass (null before the first).</summary>
    public PruneResult? LastPrune { get; private set; }

    public void Publish(FsEvent e)
    {
        lock (_lock)
        {
            if (_stopping || _queue.Count >= _capacity)
            {
                _dropped++;
                _droppedTotal++;
                return;
            }
            _queue.Enqueue(e);
            Interlocked.Increment(ref _pending);
            if (_queue.Count == 1) Monitor.Pulse(_lock);
        }
    }

    private void WriterLoop()
    {
        var batch = new List<FsEvent>(MaxBatch);
        while (true)
        {
            long dropped;
            bool stop;
            Maintain();
            lock (_lock)
            {
                while (_queue.Count == 0 && !_stopping && _dropped == 0)
                {
                    var wait = _nextMaintenance - DateTime.UtcNow;
                    if (wait <= TimeSpan.Zero) break;
                    Monitor.Wait(_lock, wait < TimeSpan.FromMinutes(10) ? wait : TimeSpan.FromMinutes(10));
                }
                while (batch.Count < MaxBatch && _queue.TryDequeue(out var e)) batch.Add(e);
                // Report drops once the queue has room again, as one row.
                dropped = _queue.Count == 0 ? _dropped : 0;
                if (dropped > 0) _dropped = 0;
                stop = _stopping && _queue.Count == 0;
            }
            int batchEvents = batch.Count;
            if (dropped > 0)
                batch.Add(new FsEvent
                {
                    Class = EventClass.EventsLost, Severity = Severity.Warning, Mount = "", FsType = "",
                    Message = $"history: {dropped} events not recorded (queue full)", Count = dropped,
                });
            if (batch.Count > 0)
            {
                try
                {
                    if (_coalescer is null) { _store.Append(batch); Interlocked.Add(ref _rows, batch.Count); }
                    else
                    {
                        var ops = new List<HistoryOp>(batch.Count);
                        foreach (var e in batch) ops.Add(_coalescer.Offer(e));
                        Interlocked.Add(ref _rows, _store.Write(ops, _coalescer));
                    }
                    Interlocked.Add(ref _written, batch.Count);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _failures);
                    lock (_lock) { _dropped += batchEvents + dropped; _droppedTotal += batchEvents; }
                    if (!_writeFailedReported)
                    {
                        _writeFailedReported = true;
                        _diagnostic?.Invoke($"history: writing {_store.Path} failed: {ex.Message}");
                    }
                    Interlocked.Add(ref _pending, -batchEvents);
                    batch.Clear();
                    if (stop) return;
                    Thread.Sleep(1000);
                    continue;
                }
                Interlocked.Add(ref _pending, -batchEvents);
                batch.Clear();
            }
            if (stop) return;
        }
    }

    // retention and WAL truncation, on the writer thread (one connection), never throwing
    private void Maintain()
    {
        if (DateTime.UtcNow < _nextMaintenance) return;
        _nextMaintenance = DateTime.UtcNow + MaintenanceInterval;
        try
        {
            if (_retention is not null) LastPrune = _store.Prune(_retention, DateTimeOffset.UtcNow);
            else _store.Checkpoint();
        }
        catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or IOException)
        {
            if (_maintenanceFailedReported) return;
            _maintenanceFailedReported = true;
            _diagnostic?.Invoke($"history: retention on {_store.Path} failed: {ex.Message}");
        }
    }

    /// <summary>Runs retention now (tests; the writer runs it by itself every <see cref="MaintenanceInterval"/>).</summary>
    public void RequestMaintenance()
    {
        lock (_lock)
        {
            _nextMaintenance = DateTime.MinValue;
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>Waits until everything queued so far is written (or <paramref name="timeout"/>). False at once when a
    /// write fails meanwhile: the caller must not act as if it were recorded.</summary>
    public bool Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        long failures = Interlocked.Read(ref _failures);
        while (DateTime.UtcNow < deadline)
        {
            if (Interlocked.Read(ref _failures) != failures) return false;
            if (Interlocked.Read(ref _pending) == 0) lock (_lock) if (_dropped == 0) return true;
            Thread.Sleep(5);
        }
        return false;
    }

    private long _failures;

    /// <summary>Stops accepting events, writes what is queued (bounded wait) and closes the store.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        if (!_writer.Join(TimeSpan.FromSeconds(10)))
            _diagnostic?.Invoke("history: writer did not finish within 10 s; some events may not be recorded");
        else
            _store.Dispose();
    }
}
