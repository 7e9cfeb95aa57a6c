using FsHealer.Btrfs;
using FsHealer.Healing;
using FsHealer.Interop;
using FsHealer.Kmsg;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;

namespace FsHealer.Btrfs.Live;

public sealed record BtrfsHealerOptions
{
    /// <summary>How often device counters are read.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Where last-seen counters are kept; null = not persisted.</summary>
    public string? StateFile { get; init; }
    public BtrfsScrubOptions Scrub { get; init; } = new();
    /// <summary>Scrub devices automatically when their counters rise.</summary>
    public bool AutoScrub { get; init; } = true;
    public TimeSpan ScrubProgressInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>The kernel log (issue 17): btrfs damage and read-repair lines about this filesystem are published
    /// (<see cref="BtrfsHealer.KernelLogLine"/>) and start a scrub of the device they name. Null: not watched. The
    /// healer owns it (disposes it).</summary>
    public KmsgReader? KernelLog { get; init; }
    /// <summary>The rate limit of kernel-log scrubs (the filesystem's <see cref="ActionKind.KernelLogScrub"/> gate);
    /// null: no limit beyond one scrub per device at a time.</summary>
    public ActionGate? KernelLogScrubGate { get; init; }
    /// <summary>The reader starts in the past (<see cref="KmsgReader.OpenWithLookBack"/>): of what it replays, only the
    /// lines after this filesystem's own "first mount of filesystem FSID" line count (a device name is reused by the
    /// next filesystem: older lines about it are another filesystem's); without that line nothing replayed counts.</summary>
    public bool KernelLogReplay { get; init; }
    /// <summary>How often the kernel log is read between counter polls.</summary>
    public TimeSpan KernelLogInterval { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>A finished scrub as seen by the healer.</summary>
public sealed record BtrfsScrubReport(ScrubRequest Request, ScrubOutcome Outcome, IReadOnlyList<DamagedExtent> Damaged, IReadOnlyList<string> Notes);

/// <summary>
/// btrfs healing for one mount: polls device counters every <see cref="BtrfsHealerOptions.PollInterval"/>, feeds the
/// <see cref="DevStatsMonitor"/>, persists the counters, scrubs a device whose read/corruption/generation counter rose
/// (one scrub per device at a time), runs the scheduled full scrub, and reports corrected/uncorrectable counts and
/// the files hurt. Stop() cancels running scrubs and closes every fd.
/// </summary>
public sealed class BtrfsHealer : IDisposable, IBtrfsFullScrub
{
    private readonly Func<string> _path;
    /// <summary>Where the filesystem is mounted now (read at each use: a moved filesystem is followed).</summary>
    private string _mountPoint => _path();
    private readonly BtrfsHealerOptions _opt;
    private readonly IHealerConsole _console;
    private readonly DevStatsMonitor _monitor;
    private readonly ScrubPlanner _planner;
    private readonly object _lock = new();
    private readonly object _saveLock = new();
    private readonly List<BtrfsScrubRunner> _runners = [];
    private readonly List<BtrfsScrubReport> _reports = [];
    private readonly List<DevStatsEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;
    private string? _fsid;
    private string? _lastPollError;
    private readonly BtrfsKernelLogTrigger _trigger = new();
    private volatile BtrfsMember[] _members = [];
    private readonly SortedSet<ulong> _pendingKernelScrubs = [];
    private string? _pendingWhy;
    private bool _kmsgErrorSaid;
    private bool _replayDone;
    /// <summary>Kernel-log reads done by the poller thread (<see cref="WaitForKernelLogRead"/>).</summary>
    private long _drains;

    public BtrfsHealer(string mountPoint, BtrfsHealerOptions options, IHealerConsole console) : this(() => mountPoint, options, console) { }

    public BtrfsHealer(Func<string> mountPoint, BtrfsHealerOptions options, IHealerConsole console)
    {
        _path = mountPoint; _opt = options; _console = console;
        DevStatsState? saved = null;
        if (options.StateFile is { } sf)
        {
            saved = BtrfsStateFile.Load(sf, out var err);
            if (err is not null) console.Err($"btrfs state: {err}; starting with a fresh baseline");
        }
        _monitor = new DevStatsMonitor(saved);
        _planner = new ScrubPlanner(options.Scrub);
    }

    public IReadOnlyList<BtrfsScrubReport> Reports { get { lock (_lock) return [.. _reports]; } }
    public IReadOnlyList<DevStatsEvent> Events { get { lock (_lock) return [.. _events]; } }
    public event Action<BtrfsScrubReport>? ScrubFinished;
    /// <summary>Every counter event (rise, reset, baseline, replaced, removed) as it is observed.</summary>
    public event Action<DevStatsEvent>? CounterEvent;
    /// <summary>A btrfs kernel-log line about this filesystem (each object once per
    /// <see cref="BtrfsKernelLogTrigger.RepeatWindow"/>), with the line for people.</summary>
    public event Action<BtrfsKernelEvent, string>? KernelLogLine;
    /// <summary>Every kernel-log line published so far (tests).</summary>
    public IReadOnlyList<BtrfsKernelEvent> KernelLogEvents { get { lock (_lock) return [.. _kernelLines]; } }
    private readonly List<BtrfsKernelEvent> _kernelLines = [];
    public DevStatsState State { get { lock (_lock) return DevStatsState.FromJson(_monitor.Snapshot(clearDirty: false), out _)!; } }

    /// <summary>Attach (first poll against the saved state) and start the poller thread. False if the mount cannot be opened.</summary>
    public bool Start()
    {
        using (var m = BtrfsMount.Open(_mountPoint, out var err))
        {
            if (m is null) { _console.Err($"btrfs: {err}"); return false; }
            _fsid = m.Fsid;
            _console.Out($"btrfs: watching {_mountPoint} (fsid {_fsid}), counters every {_opt.PollInterval.TotalSeconds:0.###}s");
        }
        PollOnce();
        _thread = new Thread(Loop) { IsBackground = true, Name = "btrfs-devstats" };
        _thread.Start();
        return true;
    }

    private void Loop()
    {
        var next = DateTime.UtcNow + _opt.PollInterval;
        while (true)
        {
            var wait = _opt.KernelLog is null ? _opt.PollInterval : _opt.KernelLogInterval;
            if (_stop.Token.WaitHandle.WaitOne(wait)) return;
            bool pollNow = false;
            try { pollNow = DrainKernelLog(); }
            catch (Exception ex) { _console.Err($"btrfs: {_mountPoint}: kernel log: {ex.Message}"); }
            finally { Interlocked.Increment(ref _drains); }
            if (!pollNow && DateTime.UtcNow < next) continue;
            next = DateTime.UtcNow + _opt.PollInterval;
            try { PollOnce(); }
            catch (Exception ex) { _console.Err($"btrfs: {_mountPoint}: poll failed: {ex.Message}"); }
        }
    }

    /// <summary>Read what the kernel logged since the last call; publish the btrfs lines about this filesystem and
    /// start the scrubs they call for (policy: <see cref="BtrfsHealerOptions.AutoScrub"/>; rate:
    /// <see cref="BtrfsHealerOptions.KernelLogScrubGate"/>). True when the counters should be read now (a counter
    /// line, a scrub started, or lines were lost). Public for tests and one-shot use.</summary>
    public bool DrainKernelLog()
    {
        if (_opt.KernelLog is not { } kmsg || _stop.IsCancellationRequested) return false;
        List<BtrfsKernelEvent>? lines = null;
        bool lost = false, replay = _opt.KernelLogReplay && !_replayDone, anchored = false;
        foreach (var r in kmsg.ReadAvailable())
        {
            if (r.Overrun) lost = true;
            if (r.Record is null)
            {
                if (r.Diagnostic is not null && !r.Overrun && !_kmsgErrorSaid) { _kmsgErrorSaid = true; _console.Err($"btrfs: {_mountPoint}: {r.Diagnostic}"); }
                continue;
            }
            if (replay && _fsid is { } f && r.Record.Message.Contains("first mount of filesystem " + f, StringComparison.OrdinalIgnoreCase))
            {
                // this filesystem's mount: what came before it was about another filesystem on the same device names
                lines?.Clear();
                anchored = true;
                continue;
            }
            if (BtrfsKernelLog.Decode(r.Record.Message) is { } e) (lines ??= []).Add(e);
        }
        if (replay)
        {
            _replayDone = true;
            if (!anchored) lines = null;
        }
        var members = _members;
        // every read, also an empty one: a damage line that named no device waits one read for the repair line
        var batch = _trigger.Observe(lines ?? [], members, DateTimeOffset.UtcNow, _opt.AutoScrub);
        foreach (var e in batch.Publish)
        {
            string text = BtrfsKernelLogTrigger.Describe(e, _mountPoint);
            if (e.Outcome == BtrfsLogOutcome.Corrected) _console.Out(text); else _console.Err(text);
            lock (_lock) { if (_kernelLines.Count < 10000) _kernelLines.Add(e); }
            try { KernelLogLine?.Invoke(e, text); } catch (Exception ex) { _console.Err($"btrfs: {_mountPoint}: publishing a kernel-log event: {ex.Message}"); }
        }
        if (batch.ScrubDevids.Count > 0)
            lock (_pendingKernelScrubs) { foreach (var d in batch.ScrubDevids) _pendingKernelScrubs.Add(d); _pendingWhy = batch.ScrubWhy; }
        bool started = StartKernelLogScrubs();
        return lost || batch.PollCounters || started;
    }

    /// <summary>Start the scrubs the kernel log asked for, when the gate allows; a device being scrubbed is not
    /// scrubbed again (the running scrub reads it). What the gate holds back stays pending and starts later.</summary>
    private bool StartKernelLogScrubs()
    {
        ulong[] devids;
        string why;
        lock (_pendingKernelScrubs)
        {
            if (_pendingKernelScrubs.Count == 0 || _fsid is null) return false;
            devids = [.. _pendingKernelScrubs];
            why = _pendingWhy ?? "kernel log";
        }
        string fsid = _fsid;
        var todo = devids.Where(d => !_planner.IsRunning(fsid, d)).ToList();
        if (todo.Count == 0) { lock (_pendingKernelScrubs) _pendingKernelScrubs.Clear(); return false; }
        if (_opt.KernelLogScrubGate is { } gate && !gate.TryAcquire(out var nextAllowed))
        {
            _console.Out($"btrfs: {_mountPoint}: {why}: no new scrub before {nextAllowed:HH:mm:ss} (rate limit); it stays pending");
            return false;
        }
        lock (_pendingKernelScrubs) _pendingKernelScrubs.Clear();
        var members = _members;
        bool any = false;
        foreach (var d in todo)
        {
            string path = members.FirstOrDefault(m => m.Devid == d).Path ?? $"devid {d}";
            var req = new ScrubRequest(fsid, d, path, ScrubReason.KernelLog, _opt.Scrub.ReadOnly, _opt.Scrub.LimitBytesPerSecond, why);
            if (_planner.TryBegin(req, out var note)) { StartScrub(req); any = true; }
            else if (note is not null) _console.Out($"btrfs: {note}");
        }
        return any;
    }

    /// <summary>One poll: read counters, report events, start scrubs, persist. Public for tests and one-shot use.</summary>
    public void PollOnce()
    {
        using var m = BtrfsMount.Open(_mountPoint, out var err);
        if (m is not null && _fsid is not null && !string.Equals(m.Fsid, _fsid, StringComparison.OrdinalIgnoreCase))
            err = $"{_mountPoint}: now holds another btrfs (fsid {m.Fsid}, was {_fsid})";
        if (m is null || err is not null)
        {
            if (err != _lastPollError) _console.Err($"btrfs: {err}");
            _lastPollError = err;
            CancelScrubs($"{_mountPoint} is no longer mounted");
            return;
        }
        _lastPollError = null;
        var errors = new List<string>();
        var samples = m.Sample(errors);
        foreach (var e in errors) _console.Err($"btrfs: {e}");
        if (samples.Count == 0) return;
        _members = [.. samples.Select(x => new BtrfsMember(x.Devid, x.Path))];
        IReadOnlyList<DevStatsEvent> evs;
        lock (_lock)
        {
            evs = _monitor.Observe(m.Fsid, samples);
            _events.AddRange(evs);
            foreach (var ev in evs) CounterEvent?.Invoke(ev);
        }
        foreach (var e in evs)
        {
            if (e.Kind == DevStatsEventKind.Baseline && e.Counter is null) continue;
            if (e.Kind == DevStatsEventKind.Rise && _planner.IsRunning(e.Fsid, e.Devid))
            {
                // The running scrub of this device is what finds (and counts) these errors: no second scrub.
                _console.Out(e.Describe() + " (during scrub)");
                continue;
            }
            if (e.Kind == DevStatsEventKind.Rise) _console.Err(e.Describe()); else _console.Out(e.Describe());
            if (!_opt.AutoScrub || _stop.IsCancellationRequested) continue;
            var req = _planner.OnEvent(e, out var note);
            if (note is not null) _console.Out($"btrfs: {note}");
            if (req is not null) StartScrub(req);
        }
        if (_opt.Scrub.FullScrubInterval is not null && !_stop.IsCancellationRequested)
        {
            DateTimeOffset? last;
            lock (_lock) last = _monitor.State.Find(m.Fsid)?.LastFullScrub;
            if (_planner.FullScrubDue(last, DateTimeOffset.UtcNow, out var why))
            {
                _console.Out($"btrfs: {_mountPoint}: scheduled full scrub ({why})");
                lock (_lock) _monitor.RecordFullScrub(m.Fsid, DateTimeOffset.UtcNow);
                foreach (var s in samples)
                {
                    var req = new ScrubRequest(m.Fsid, s.Devid, s.Path, ScrubReason.Scheduled, _opt.Scrub.ReadOnly, _opt.Scrub.LimitBytesPerSecond, why);
                    if (_planner.TryBegin(req, out var note)) StartScrub(req);
                    else if (note is not null) _console.Out($"btrfs: {note}");
                }
            }
        }
        SaveState();
    }

    private void SaveState()
    {
        if (_opt.StateFile is not { } sf) return;
        lock (_saveLock)
        {
            string json;
            lock (_lock)
            {
                if (!_monitor.Dirty) return;
                json = _monitor.Snapshot();
            }
            var err = BtrfsStateFile.Save(sf, json);
            if (err is not null)
            {
                _console.Err($"btrfs state: {err}");
                lock (_lock) _monitor.MarkDirty();
            }
        }
    }

    private void StartScrub(ScrubRequest req)
    {
        _console.Out($"btrfs: scrubbing {req.Path} (devid {req.Devid}) of {_mountPoint}: {req.Why}{(req.ReadOnly ? " [read-only]" : "")}");
        BtrfsScrubRunner? runner = null;
        runner = new BtrfsScrubRunner(_mountPoint, req, _opt.ScrubProgressInterval, log: line => _console.Out(line));
        lock (_lock) _runners.Add(runner);
        var r = runner;
        if (!runner.Start()) { Finish(r); return; }
        var t = new Thread(() => { r.Wait(Timeout.InfiniteTimeSpan); Finish(r); }) { IsBackground = true, Name = $"btrfs-scrub-wait-{req.Devid}" };
        t.Start();
    }

    private void Finish(BtrfsScrubRunner r)
    {
        var outcome = r.Outcome ?? ScrubOutcome.Classify(r.Request.Devid, Errno.ECANCELED, null, r.Request.Path);
        var report = new BtrfsScrubReport(r.Request, outcome, r.Damaged, [.. r.Notes]);
        foreach (var line in BtrfsFormat.ResultLines(outcome))
            if (outcome.Success && outcome.Uncorrectable == 0) _console.Out("btrfs: " + line.TrimStart()); else _console.Err("btrfs: " + line.TrimStart());
        foreach (var d in r.Damaged) _console.Err($"btrfs: {_mountPoint}: uncorrectable damage: {d.Describe()}");
        foreach (var n in r.Notes) _console.Out($"btrfs: note: {n}");
        // Counters move during a scrub (it counts what it finds): take them in while the device is still marked
        // as being scrubbed, so they are attributed to this scrub and do not trigger another one.
        try { if (!_stop.IsCancellationRequested) PollAfterScrub(); } catch (Exception ex) { _console.Err($"btrfs: {ex.Message}"); }
        if (IsCleanScrub(r.Request, outcome))
        {
            bool recorded;
            lock (_lock) recorded = _monitor.RecordCleanScrub(r.Request.Fsid, r.Request.Devid, DateTimeOffset.UtcNow);
            if (recorded) SaveState();
        }
        lock (_lock) { _reports.Add(report); _runners.Remove(r); }
        r.Dispose();
        ScrubFinished?.Invoke(report);
        var next = _planner.Complete(r.Request.Fsid, r.Request.Devid);
        if (next is not null && !_stop.IsCancellationRequested) StartScrub(next);
        else if (next is not null) _planner.Complete(next.Fsid, next.Devid);
    }

    /// <summary>
    /// The scheduled check's full scrub: every device of the filesystem, one after the other, through this healer's own
    /// planner (a device being scrubbed for another reason is waited for, never scrubbed twice at once) and runner; the
    /// counters it moves are taken in as this scrub's, and a clean device gets its baseline (as every clean scrub).
    /// <paramref name="abort"/> (budget, stop) cancels the running scrub (BTRFS_IOC_SCRUB_CANCEL) and ends it.
    /// </summary>
    public FullScrubResult ScrubAll(string why, bool readOnly, bool idleIo, CancellationToken abort)
    {
        List<BtrfsDevInfo> devs;
        string fsid;
        using (var m = BtrfsMount.Open(_mountPoint, out var err))
        {
            if (m is null) return FullScrubResult.Failed(err ?? $"{_mountPoint}: cannot open");
            fsid = m.Fsid;
            devs = m.Devices(out var derr);
            if (derr is not null) return FullScrubResult.Failed(derr);
            if (devs.Count == 0) return FullScrubResult.Failed($"{_mountPoint}: BTRFS_IOC_DEV_INFO listed no device");
        }
        var outcomes = new List<ScrubOutcome>();
        var files = new List<string>();
        var notes = new List<string>();
        var paths = devs.ToDictionary(d => d.Devid, d => d.Path);
        foreach (var d in devs)
        {
            var req = new ScrubRequest(fsid, d.Devid, d.Path, ScrubReason.ScheduledCheck, readOnly, _opt.Scrub.LimitBytesPerSecond, why);
            // another scrub of this device (a counter rise, the kernel log): wait for it, then scrub it ourselves
            while (!_planner.TryBeginNow(req))
                if (abort.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)) || _stop.IsCancellationRequested)
                    return new FullScrubResult(outcomes, readOnly, files, notes, Killed: true) { Paths = paths };
            if (abort.IsCancellationRequested || _stop.IsCancellationRequested)
            {
                _planner.Complete(fsid, d.Devid);
                return new FullScrubResult(outcomes, readOnly, files, notes, Killed: true) { Paths = paths };
            }
            _console.Out($"btrfs: scrubbing {req.Path} (devid {req.Devid}) of {_mountPoint}: {why}{(readOnly ? " [read-only]" : "")}{(idleIo ? " [idle I/O class]" : "")}");
            var runner = new BtrfsScrubRunner(_mountPoint, req, _opt.ScrubProgressInterval, log: line => _console.Out(line)) { IdleIo = idleIo };
            lock (_lock) _runners.Add(runner);
            bool killed = false;
            if (runner.Start())
                while (!runner.Wait(TimeSpan.FromMilliseconds(200)))
                    if (abort.IsCancellationRequested && !killed)
                    {
                        killed = true;
                        _console.Out($"btrfs: cancelling the scheduled scrub of {req.Path} (devid {req.Devid})");
                        if (!runner.Cancel(TimeSpan.FromSeconds(30))) _console.Err($"btrfs: scrub of devid {req.Devid} did not stop in time");
                    }
            var outcome = runner.Outcome ?? ScrubOutcome.Classify(req.Devid, Errno.ECANCELED, null, req.Path);
            outcomes.Add(outcome);
            files.AddRange(runner.Damaged.SelectMany(x => x.Paths));
            notes.AddRange(runner.Notes);
            Finish(runner);
            if (killed || outcome.Kind == ScrubOutcomeKind.Cancelled) return new FullScrubResult(outcomes, readOnly, files, notes, Killed: true) { Paths = paths };
        }
        // what the kernel logged during the scrub ("fixed up error ...") is published before the caller records the
        // verified check: logged after it, the scrub's own findings would count as new problems
        WaitForKernelLogRead(TimeSpan.FromSeconds(2));
        return new FullScrubResult(outcomes, readOnly, files, notes) { Paths = paths };
    }

    /// <summary>Wait until the poller thread has read the kernel log at least once from start to end after now.</summary>
    private void WaitForKernelLogRead(TimeSpan max)
    {
        if (_opt.KernelLog is null || _thread is not { IsAlive: true }) return;
        long target = Interlocked.Read(ref _drains) + 2;
        var until = DateTime.UtcNow + max;
        while (Interlocked.Read(ref _drains) < target && DateTime.UtcNow < until && !_stop.IsCancellationRequested) Thread.Sleep(20);
    }

    /// <summary>A scrub that leaves the device clean: it completed and nothing is uncorrectable (a read-only scrub
    /// must also have found nothing: it repairs nothing).</summary>
    public static bool IsCleanScrub(ScrubRequest req, ScrubOutcome o) =>
        o.Kind == ScrubOutcomeKind.Completed && o.Uncorrectable == 0 && (!req.ReadOnly || o.Progress.ErrorsFound == 0);

    private void PollAfterScrub()
    {
        using var m = BtrfsMount.Open(_mountPoint, out _);
        if (m is null) return;
        var samples = m.Sample([]);
        if (samples.Count == 0) return;
        IReadOnlyList<DevStatsEvent> evs;
        lock (_lock) { evs = _monitor.Observe(m.Fsid, samples); _events.AddRange(evs); }
        foreach (var ev in evs) CounterEvent?.Invoke(ev);
        foreach (var e in evs) if (e.Kind != DevStatsEventKind.Baseline) _console.Out(e.Describe() + " (during scrub)");
        SaveState();
    }

    /// <summary>Cancel every running scrub of this healer (unmount). Returns the number cancelled.</summary>
    public int CancelScrubs(string why)
    {
        BtrfsScrubRunner[] running;
        lock (_lock) running = [.. _runners.Where(r => !r.IsDone)];
        foreach (var r in running)
        {
            _console.Out($"btrfs: cancelling scrub of {r.Request.Path} (devid {r.Request.Devid}): {why}");
            if (!r.Cancel(TimeSpan.FromSeconds(30))) _console.Err($"btrfs: scrub of devid {r.Request.Devid} did not stop in time");
        }
        return running.Length;
    }

    /// <summary>Stop polling, cancel running scrubs (no hang), persist state.</summary>
    public void Stop(TimeSpan? timeout = null)
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _thread?.Join(timeout ?? TimeSpan.FromSeconds(30));
        BtrfsScrubRunner[] running;
        lock (_lock) running = [.. _runners];
        foreach (var r in running)
            if (!r.Cancel(timeout ?? TimeSpan.FromSeconds(30)))
                _console.Err($"btrfs: scrub of devid {r.Request.Devid} did not stop in time");
        // Wait for the waiter threads to file their reports.
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline) { lock (_lock) if (_runners.Count == 0) break; Thread.Sleep(20); }
        SaveState();
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
        _opt.KernelLog?.Dispose();
    }
}
