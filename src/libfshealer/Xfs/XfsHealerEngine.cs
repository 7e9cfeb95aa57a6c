using System.Text;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Text;
using FsHealer.Xfs;

namespace FsHealer.Xfs;

public sealed record XfsEngineSettings
{
    /// <summary>The mount point as given on the command line: the prefix of every log line.</summary>
    public required string Mountpoint { get; init; }
    public bool Log { get; init; } = true;
    public bool Everything { get; init; }
    public bool WantRepair { get; init; }
    public int Workers { get; init; } = 1;
    /// <summary>1 MiB of 64-byte events, as xfs_healer.</summary>
    public int QueueCapacity { get; init; } = 16384;
    /// <summary>Two pages, as xfs_healer's stdio buffer: 128 records per read, handed to the workers in one go. (A
    /// 64 KiB buffer would save seven of eight reads — about 1 % of a storm's CPU — but let the reader hold a thousand
    /// records it cannot queue while the workers are busy, instead of leaving them in the kernel ahead of UNMOUNT.)</summary>
    public int ReadBufferSize { get; init; } = 8192;
    public TimeSpan FullCheckInterval { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>--debug: fshealer's own diagnostics (unrecognised records, a truncated tail) also go to stderr.
    /// Without it stderr carries exactly what xfs_healer prints; the counters in <see cref="XfsEngineStats"/> count
    /// them either way.</summary>
    public bool Debug { get; init; }
    public string ScrubUnitTemplate { get; init; } = "xfs_scrub@.service";
    /// <summary>
    /// <c>fshealer run</c> only (null in the xfs_healer drop-in, which must behave as xfs_healer): after a targeted
    /// repair of one structure failed, that structure (scrub type, AG, inode) is not repaired again for this long;
    /// its SICK events are still logged and published. On Linux 7.2 a failed directory repair on a filesystem without
    /// parent pointers re-reads the directory, which the kernel reports sick again: without a backoff that is a new
    /// repair, and so on for as long as it is mounted (both healers; tier 4 scenario 40).
    /// </summary>
    public TimeSpan? FailedRepairBackoff { get; init; }

    /// <summary>The daemon's backoff: the full-check window (a failed repair asked for the full check, which covers the
    /// structure), at least a minute.</summary>
    public static TimeSpan DaemonRepairBackoff(TimeSpan fullCheckInterval) =>
        fullCheckInterval > TimeSpan.FromMinutes(1) ? fullCheckInterval : TimeSpan.FromMinutes(1);
}

/// <summary>Why the engine asks for a full online check (xfs_scrub@).</summary>
public enum FullCheckReason { EventsLost, RepairFailed, Uncovered }

/// <summary>Counters the engine exposes (status, metrics, tests). Updated with Interlocked.</summary>
public sealed class XfsEngineStats
{
    public long RecordsRead, EventsHandled, KernelLostEvents, UnknownEvents, RepairsAttempted, RepairsSucceeded,
        RepairsFailed, RepairsProbablyOk, RepairsUnnecessary, RepairsSkippedShutdown, RepairsSkippedBackoff, ReopenFailures,
        FullChecksStarted, FullChecksSuppressed, FullCheckStartFailures, ReaderBlocked, MaxQueueDepth, TrailingBytes;
    /// <summary>Full checks asked for, by <see cref="FullCheckReason"/> (started or suppressed by the rate limit).</summary>
    public readonly long[] FullChecksRequested = new long[3];
    public volatile bool ShutdownSeen;
    public volatile bool UnmountSeen;
}

/// <summary>
/// The xfs_healer event pipeline, independent of where the records come from: one reader (the calling thread)
/// reads whole 64-byte records through a buffer, hands them to a bounded queue (the reader blocks when it is full;
/// nothing is dropped in user space) and stops after UNMOUNT; N workers log, repair SICK metadata through the
/// exact bit → scrub-type tables, and escalate to a rate-limited full check. Run returns when the queue drained.
/// </summary>
public sealed class XfsHealerEngine
{
    private readonly XfsEngineSettings _s;
    private readonly IXfsTarget? _target;
    private readonly IUnitManager _units;
    private readonly IHealerConsole _con;
    private readonly ActionGate _gate;
    private readonly TimeProvider _time;
    /// <summary>Structures whose last targeted repair failed, and when (<see cref="XfsEngineSettings.FailedRepairBackoff"/>).</summary>
    private readonly Dictionary<(uint Type, uint Agno, ulong Ino), (DateTimeOffset At, bool Said)> _failedAt = [];
    private const int MaxFailedTracked = 4096;
    private readonly HashSet<(uint, uint)> _unknownReported = [];
    private int _shutdownNoticePrinted, _suppressNoticePrinted;

    public XfsEngineStats Stats { get; } = new();

    /// <summary>Optional observer for every handled event (history, metrics, notifications).</summary>
    public Action<HealthMonitorEvent>? OnEvent { get; init; }

    /// <summary>Optional sink for the common event model (events, repair outcomes, full checks).</summary>
    public Model.IEventSink? Sink { get; init; }
    /// <summary>Device (source) for events published to <see cref="Sink"/>.</summary>
    public string? Device { get; init; }

    public XfsHealerEngine(XfsEngineSettings settings, IXfsTarget? target, IUnitManager units, IHealerConsole console, TimeProvider? time = null)
    {
        _s = settings;
        _target = target;
        _units = units;
        _con = console;
        _time = time ?? TimeProvider.System;
        _gate = new ActionGate(settings.FullCheckInterval, _time);
        if (settings.WantRepair && target is null)
            throw new ArgumentException("repair mode needs a filesystem target", nameof(target));
    }

    /// <summary>Run until end of stream or UNMOUNT; drains the queue. Returns 0 on success, 1 on a read error.</summary>
    public int Run(IRecordSource source)
    {
        // One preallocated ring: memory stays at QueueCapacity records however long the stream is.
        var queue = new BoundedQueue<HealthMonitorEvent>(_s.QueueCapacity);
        var workers = new Thread[Math.Max(1, _s.Workers)];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(() => WorkerLoop(queue)) { IsBackground = true, Name = $"xfs-healer-worker-{i}" };
            workers[i].Start();
        }

        int rc = 0;
        try
        {
            rc = ReadLoop(source, queue);
        }
        finally
        {
            queue.Complete();
            foreach (var w in workers) w.Join();
            _con.Flush();
        }
        return rc;
    }

    /// <summary>
    /// Read whole records (a read need not end on a record boundary; the rest waits for the next read), decode every
    /// record of one read and hand them to the workers in one go: one lock and at most one wake-up per read, not per
    /// event. Stops after UNMOUNT: the kernel put it at the head of its queue.
    /// </summary>
    private int ReadLoop(IRecordSource source, BoundedQueue<HealthMonitorEvent> queue)
    {
        const int R = HealthMonitorEvent.Size;
        var buf = new byte[Math.Max(R, _s.ReadBufferSize / R * R)];
        var batch = new HealthMonitorEvent[buf.Length / R];
        // the user-space queue is full: the reader waits (the kernel keeps the rest) — counted as it happens
        Action onFull = () =>
        {
            Interlocked.Increment(ref Stats.ReaderBlocked);
            Volatile.Write(ref Stats.MaxQueueDepth, queue.Capacity);
        };
        int have = 0;
        while (true)
        {
            int n = source.Read(buf.AsSpan(have));
            if (n < 0)
            {
                _con.Err($"{_s.Mountpoint}: error reading event file: {Errno.Message(-n)}");
                return 1;
            }
            if (n == 0)
            {
                if (have != 0)
                {
                    Interlocked.Add(ref Stats.TrailingBytes, have);
                    if (_s.Debug) _con.Err($"{_s.Mountpoint}: {have} bytes of a truncated event record at end of stream ignored");
                }
                return 0;
            }
            have += n;
            int off = 0, count = 0;
            bool unmount = false;
            while (have - off >= R)
            {
                var e = HealthMonitorEvent.Decode(buf.AsSpan(off, R));
                off += R;
                batch[count++] = e;
                if (e.Domain == HealthDomain.Mount && e.Type == HealthEventType.Unmount)
                {
                    unmount = true;
                    break;
                }
            }
            if (count > 0)
            {
                Interlocked.Add(ref Stats.RecordsRead, count);
                var (_, depth) = queue.AddRange(batch.AsSpan(0, count), onFull);
                if (depth > Volatile.Read(ref Stats.MaxQueueDepth)) Volatile.Write(ref Stats.MaxQueueDepth, depth);
            }
            if (unmount)
            {
                // The kernel put UNMOUNT at the head of its queue; stop reading, let the workers drain ours.
                Stats.UnmountSeen = true;
                return 0;
            }
            // keep a partial record
            if (off < have) Buffer.BlockCopy(buf, off, buf, 0, have - off);
            have -= off;
        }
    }

    /// <summary>What one thread needs to handle events without allocating: a line buffer and the repair plan.</summary>
    private sealed class Scratch
    {
        public readonly StringBuilder Line = new(512);
        public readonly RepairStep[] Steps = new RepairStep[16];
    }

    [ThreadStatic] private static Scratch? t_scratch;

    private void WorkerLoop(BoundedQueue<HealthMonitorEvent> queue)
    {
        // With one worker, take what is queued in one go (kernel order is kept); with several, one event at a time
        // each takes the next event (xfs_healer's workqueue).
        var batch = new HealthMonitorEvent[_s.Workers > 1 ? 1 : 256];
        var scratch = t_scratch ??= new Scratch();
        while (true)
        {
            int n = queue.TryTake(batch);
            if (n == 0)
            {
                // nothing queued: the reader is waiting for the kernel; what was logged goes out before we wait too
                _con.Flush();
                n = queue.Take(batch);
                if (n == 0) break;
            }
            for (int i = 0; i < n; i++)
            {
                try
                {
                    Handle(batch[i], scratch);
                }
                catch (Exception ex)
                {
                    // A bug in handling one event must not stop the daemon or lose the rest of the queue.
                    _con.Err($"{_s.Mountpoint}: internal error handling {XfsEventFormatter.Describe(batch[i])}: {ex.GetType().Name}: {ex.Message}");
                }
                Interlocked.Increment(ref Stats.EventsHandled);
            }
        }
    }

    /// <summary>Per-event decision, in xfs_healer's order: path lookup, log, LOST → full check, SICK → repair.</summary>
    public void Handle(in HealthMonitorEvent e) => Handle(e, t_scratch ??= new Scratch());

    private void Handle(in HealthMonitorEvent e, Scratch scratch)
    {
        bool notActionable = RepairPlanner.IsNotActionable(e.Type);
        bool loggable = _s.Log || notActionable;
        bool willRepair = !notActionable && _s.WantRepair && e.Type == HealthEventType.Sick;

        if (!e.IsKnownDomain || (e.Domain == HealthDomain.Mount && !XfsHealthTables.IsValidCombination(e.Domain, e.Type)))
            ReportUnknown(e);
        else if (e.IsKnownDomain && !XfsHealthTables.IsValidCombination(e.Domain, e.Type))
            ReportUnknown(e); // still formatted below ("unknown value"), like xfs_healer

        string? path = null;
        if ((loggable || willRepair) && _target is { HasParentPointers: true })
            path = LookupPathFor(e);

        if (loggable)
        {
            var sb = scratch.Line.Clear();
            if (XfsEventFormatter.AppendEvent(sb, e, _s.Mountpoint, path)) Out(sb);
        }

        switch (e.Type)
        {
            case HealthEventType.Lost when e.Domain == HealthDomain.Mount:
                Interlocked.Add(ref Stats.KernelLostEvents, (long)Math.Min(e.LostCount, long.MaxValue));
                if (!_s.Everything && _s.WantRepair) RunFullRepair(FullCheckReason.EventsLost);
                break;
            case HealthEventType.Shutdown when e.Domain == HealthDomain.Mount:
                Stats.ShutdownSeen = true;
                break;
        }

        OnEvent?.Invoke(e);
        if (Sink is not null && Model.XfsEventMapping.Map(e, _s.Mountpoint, Device, path) is { } fe) Sink.Publish(fe);

        if (willRepair) RepairMetadata(e, path, scratch);
    }

    /// <summary>A formatted line to stdout without making a string of it (the builder has one chunk unless the line
    /// outgrew its 512 characters).</summary>
    private void Out(StringBuilder sb)
    {
        foreach (var chunk in sb.GetChunks())
        {
            if (chunk.Length == sb.Length)
            {
                _con.Out(chunk.Span);
                return;
            }
            break;
        }
        _con.Out(sb.ToString());
    }

    private string? LookupPathFor(in HealthMonitorEvent e) => e.Domain switch
    {
        HealthDomain.Inode => _target!.LookupPath(e.InodeIno, e.InodeGen),
        HealthDomain.FileRange => _target!.LookupPath(e.FileIno, e.FileGen),
        _ => null,
    };

    private void ReportUnknown(in HealthMonitorEvent e)
    {
        Interlocked.Increment(ref Stats.UnknownEvents);
        bool first;
        lock (_unknownReported) first = _unknownReported.Add(((uint)e.Domain, (uint)e.Type));
        if (first && _s.Debug)
            _con.Err($"{_s.Mountpoint}: unrecognised health event ({XfsEventFormatter.Describe(e)}); newer kernel? logged as far as understood, not acted upon");
    }

    private void RepairMetadata(in HealthMonitorEvent e, string? path, Scratch scratch)
    {
        if (Stats.ShutdownSeen)
        {
            Interlocked.Increment(ref Stats.RepairsSkippedShutdown);
            if (Interlocked.Exchange(ref _shutdownNoticePrinted, 1) == 0)
                _con.Err($"{_s.Mountpoint}: filesystem has shut down; no further repairs will be attempted.");
            return;
        }

        // Like xfs_healer, reopen the filesystem for every SICK event, whatever its domain and mask: a filesystem
        // that is no longer the monitored one is reported even when there would be nothing to repair.
        int err = _target!.OpenForRepair(out var handle);
        if (err != 0 || handle is null)
        {
            Interlocked.Increment(ref Stats.ReopenFailures);
            _con.Err($"{_s.Mountpoint}: cannot open filesystem to repair: {Errno.Message(err == 0 ? Errno.ESTALE : err)}");
            return;
        }
        var steps = scratch.Steps;
        int n = RepairPlanner.Plan(e, steps);
        // Structures no targeted repair covers (METADIR, METAPATH, AG "inodes", bits the tables do not know) need
        // the full check once the targeted repairs are done — as xfs_healer 7.2 does.
        bool uncovered = RepairPlanner.UnrepairableBits(e) != 0;
        bool failed = false;
        using (handle)
        {
            for (int i = 0; i < n; i++)
            {
                if (InBackoff(steps[i])) continue;
                var req = steps[i].ToRequest();
                int rc = handle.Scrub(ref req);
                Interlocked.Increment(ref Stats.RepairsAttempted);
                var outcome = RepairPlanner.Classify(rc, rc == 0 ? req.Flags : 0);
                switch (outcome)
                {
                    case RepairOutcome.Success: Interlocked.Increment(ref Stats.RepairsSucceeded); break;
                    case RepairOutcome.Failed: Interlocked.Increment(ref Stats.RepairsFailed); break;
                    case RepairOutcome.ProbablyOk: Interlocked.Increment(ref Stats.RepairsProbablyOk); break;
                    case RepairOutcome.Unnecessary: Interlocked.Increment(ref Stats.RepairsUnnecessary); break;
                }
                // the repair may have fixed what the path lookup needs (an xattr repair restores the parent pointers):
                // like xfs_healer, look again before the outcome line, which then names the file (seen on Linux 7.2)
                if (path is null && e.Domain == HealthDomain.Inode && _target.HasParentPointers)
                    path = _target.LookupPath(e.InodeIno, e.InodeGen);
                var sb = scratch.Line.Clear();
                if (XfsEventFormatter.AppendRepair(sb, e, steps[i].StructFlag, outcome, _s.Mountpoint, path))
                {
                    Out(sb);
                    Sink?.Publish(new Model.FsEvent
                    {
                        Class = Model.XfsEventMapping.ForOutcome(outcome),
                        Severity = outcome == RepairOutcome.Failed ? Model.Severity.Error : Model.Severity.Notice,
                        Mount = _s.Mountpoint, FsType = "xfs", Device = Device, Message = sb.ToString(), Structure = steps[i].StructName,
                        Inode = e.Domain == HealthDomain.Inode ? e.InodeIno : null, Path = path, Errno = rc == 0 ? null : rc,
                    });
                }
                if (_s.FailedRepairBackoff is not null) RecordOutcome(steps[i], outcome == RepairOutcome.Failed);
                if (outcome == RepairOutcome.Failed)
                {
                    failed = true;
                    break;
                }
            }
        }
        // the first failure stops this event's repairs and starts the full check; so do uncovered structures
        if (failed) RunFullRepair(FullCheckReason.RepairFailed);
        else if (uncovered) RunFullRepair(FullCheckReason.Uncovered);
    }

    /// <summary>The last targeted repair of this structure failed less than the backoff ago: skip it, and say so once
    /// per failure.</summary>
    private bool InBackoff(in RepairStep step)
    {
        if (_s.FailedRepairBackoff is not { } backoff) return false;
        var key = (step.ScrubType, step.Agno, step.Ino);
        DateTimeOffset until;
        lock (_failedAt)
        {
            if (!_failedAt.TryGetValue(key, out var f)) return false;
            until = f.At + backoff;
            if (_time.GetUtcNow() >= until) { _failedAt.Remove(key); return false; }
            Interlocked.Increment(ref Stats.RepairsSkippedBackoff);
            if (f.Said) return true;
            _failedAt[key] = (f.At, true);
        }
        string of = step.Ino != 0 ? $" of inode {step.Ino}" : step.Agno != 0 ? $" of AG {step.Agno}" : "";
        _con.Err($"{_s.Mountpoint}: {step.StructName}{of}: sick again after a failed repair; not repairing it again before {until.ToLocalTime():HH:mm:ss} (a full check was requested)");
        return true;
    }

    private void RecordOutcome(in RepairStep step, bool failed)
    {
        var key = (step.ScrubType, step.Agno, step.Ino);
        lock (_failedAt)
        {
            if (!failed) { _failedAt.Remove(key); return; }
            if (_failedAt.Count >= MaxFailedTracked)
            {
                // bounded: forget the expired ones, then (a storm of distinct failures) the oldest
                var now = _time.GetUtcNow();
                foreach (var k in _failedAt.Where(kv => now - kv.Value.At >= _s.FailedRepairBackoff!.Value).Select(kv => kv.Key).ToList()) _failedAt.Remove(k);
                if (_failedAt.Count >= MaxFailedTracked) _failedAt.Remove(_failedAt.MinBy(kv => kv.Value.At).Key);
            }
            _failedAt[key] = (_time.GetUtcNow(), false);
        }
    }

    /// <summary>Start the full online check (xfs_scrub@&lt;mnt&gt;.service), at most once per gate window.</summary>
    private void RunFullRepair(FullCheckReason reason)
    {
        Interlocked.Increment(ref Stats.FullChecksRequested[(int)reason]);
        var why = reason switch
        {
            FullCheckReason.EventsLost => "events were lost",
            FullCheckReason.RepairFailed => "a targeted repair failed",
            _ => "structures without a targeted repair are sick",
        };
        if (Stats.ShutdownSeen)
        {
            if (Interlocked.Exchange(ref _shutdownNoticePrinted, 1) == 0)
                _con.Err($"{_s.Mountpoint}: filesystem has shut down; no further repairs will be attempted.");
            return;
        }
        if (!_gate.TryAcquire(out var next))
        {
            Interlocked.Increment(ref Stats.FullChecksSuppressed);
            if (Interlocked.Exchange(ref _suppressNoticePrinted, 1) == 0)
                _con.Err($"{_s.Mountpoint}: full check already started recently; not starting another before {next.ToLocalTime():HH:mm:ss} ({why}).");
            return;
        }
        Interlocked.Exchange(ref _suppressNoticePrinted, 0);
        var mnt = _target?.CurrentMountpoint ?? _s.Mountpoint;
        string unit;
        try
        {
            unit = SystemdEscape.InstanceName(_s.ScrubUnitTemplate, mnt);
        }
        catch (ArgumentException)
        {
            _con.Err($"{_s.Mountpoint}: Could not determine xfs_scrub unit name.");
            return;
        }
        _con.Flush();   // systemctl writes to the same streams: what we printed comes first
        if (_units.StartNoBlock(unit))
        {
            Interlocked.Increment(ref Stats.FullChecksStarted);
            _con.Out($"{_s.Mountpoint}: Full repairs in progress.");
            Sink?.Publish(new Model.FsEvent
            {
                Class = Model.EventClass.FullCheckStarted, Severity = Model.Severity.Warning, Mount = _s.Mountpoint,
                FsType = "xfs", Device = Device, Message = $"{_s.Mountpoint}: full check started ({unit}): {why}",
            });
        }
        else
        {
            Interlocked.Increment(ref Stats.FullCheckStartFailures);
            _con.Err($"{_s.Mountpoint}: Could not start xfs_scrub service unit: {unit}");
        }
    }
}
