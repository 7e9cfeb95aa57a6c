using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Healing.Live;

/// <summary>
/// The one healing pipeline for problems that online repair cannot fix, for every filesystem type:
/// problem → the filesystem's policy (resolved when it was attached) → its gate (<see cref="ActionGate"/>) → a plan of
/// typed steps (<see cref="OfflinePlanner"/>, from facts looked up now) → the action journal (the start is made
/// durable first; if it cannot be, nothing offline runs) → the executor (<see cref="OfflineExecutor"/>: identity
/// re-proven before every destructive step) → the outcome, published. One action at a time, on a thread of its own;
/// requests for a filesystem already queued are merged. <see cref="Stop"/> lets a running action finish (bounded) or
/// aborts and rolls it back, and says which.
/// </summary>
public sealed class HealingPipeline : IDisposable
{
    private sealed record Request(WatchedFilesystem Fs, string Reason)
    {
        /// <summary>A scheduled full check (latent damage) rather than a known problem.</summary>
        public CheckBudget? Check { get; init; }
        public Action<HealOutcome?, HealPlan?>? Done { get; init; }
        /// <summary>A mount the kernel refused because the filesystem is damaged (issue 17): repair the unmounted device.</summary>
        public UnmountableRequest? Unmountable { get; init; }
    }

    /// <summary>What a refused mount hands the pipeline: the filesystem (device number, type, the UUID its superblock
    /// carried when the refusal was reported), the device node, the policy, and how to look at the device now.</summary>
    public sealed record UnmountableRequest(FilesystemIdentity Identity, string Device, UnmountablePolicy Policy, bool Damage,
        Func<UnmountableFacts> Facts, Func<string?> Fingerprint);

    private readonly UnmountableRepairLimiter _unmountable;

    private readonly EventHub _events;
    private readonly IHealerConsole _console;
    private readonly IHealHost _host;
    private readonly Func<WatchedFilesystem, HealAction, OfflineFacts> _facts;
    private readonly Queue<Request> _queue = new();
    private readonly HashSet<string> _queued = [];
    private readonly object _lock = new();
    private readonly Thread _worker;
    private HealControl? _current;
    private string? _currentWhat;
    private bool _stopping;
    private readonly ManualResetEventSlim _idle = new(true);

    /// <summary>Why the action journal could not be made durable the last time it was needed (null: it could). The
    /// daemon shows this as a degraded state.</summary>
    public string? NotDurable { get; private set; }

    public HealingPipeline(EventHub events, IHealerConsole console, IHealHost? host = null,
        Func<WatchedFilesystem, HealAction, OfflineFacts>? facts = null, TimeProvider? time = null)
    {
        _unmountable = new UnmountableRepairLimiter(time);
        _events = events;
        _console = console;
        _host = host ?? new LiveHealHost();
        _facts = facts ?? ((fs, wanted) => LiveHealHost.Facts(fs, wanted));
        _worker = new Thread(Work) { IsBackground = true, Name = "fshealer-heal" };
        _worker.Start();
    }

    private void Out(string line) { try { _console.Out(line); } catch (Exception) { /* logging never interrupts healing */ } }
    private void Err(string line) { try { _console.Err(line); } catch (Exception) { } }
    private void Publish(FsEvent e) { try { _events.Publish(e); } catch (Exception) { } }

    /// <summary>A problem on <paramref name="fs"/> that online repair does not handle. Returns false when the daemon
    /// is stopping or the filesystem already has a request waiting (merged).</summary>
    public bool Submit(WatchedFilesystem fs, string reason)
    {
        if (OfflinePlanner.Wanted(fs.FsType, fs.Policy) == HealAction.Report) return false;
        lock (_lock)
        {
            if (_stopping || !_queued.Add(fs.Identity.Id + "\0" + fs.Identity.Dev)) return false;
            _queue.Enqueue(new Request(fs, reason));
            _idle.Reset();
            Monitor.Pulse(_lock);
        }
        return true;
    }

    /// <summary>
    /// A scheduled full check of <paramref name="fs"/> (its last successful check is too old): planned by
    /// <see cref="OfflinePlanner.PlanCheck"/>, journalled and executed like a repair, within <paramref name="budget"/>.
    /// <paramref name="done"/> is called once with the outcome (null outcome: nothing ran — the plan says why). Returns
    /// false (and does not call it) when the daemon is stopping or the filesystem already has a request waiting.
    /// </summary>
    public bool SubmitCheck(WatchedFilesystem fs, string reason, CheckBudget budget, Action<HealOutcome?, HealPlan?> done)
    {
        lock (_lock)
        {
            if (_stopping || !_queued.Add(fs.Identity.Id + "\0" + fs.Identity.Dev)) return false;
            _queue.Enqueue(new Request(fs, reason) { Check = budget, Done = done });
            _idle.Reset();
            Monitor.Pulse(_lock);
        }
        return true;
    }

    /// <summary>
    /// A mount the kernel refused because the filesystem on <see cref="UnmountableRequest.Device"/> is damaged: plan
    /// (<see cref="UnmountablePlanner"/>), journal, execute on the one ladder (<see cref="OfflineExecutor"/>), publish.
    /// One attempt per filesystem per <see cref="UnmountableRepairLimiter.Window"/>; a failed one is not repeated until the
    /// superblock changes or the configuration is reloaded (<see cref="ResetUnmountableLimits"/>). False: not queued.
    /// </summary>
    public bool SubmitUnmountable(UnmountableRequest u, string reason, Action<HealOutcome?, HealPlan?>? done = null)
    {
        var fs = new WatchedFilesystem(u.Identity, u.Device, 0, u.Device, EffectivePolicyForDevice);
        lock (_lock)
        {
            if (_stopping || !_queued.Add(fs.Identity.Id + "\0" + fs.Identity.Dev)) return false;
            _queue.Enqueue(new Request(fs, reason) { Unmountable = u, Done = done });
            _idle.Reset();
            Monitor.Pulse(_lock);
        }
        return true;
    }

    private static readonly FsHealer.Config.EffectivePolicy EffectivePolicyForDevice = FsHealer.Config.EffectivePolicy.Defaults with { Rule = "unmountable" };

    /// <summary>A configuration reload: failed repairs of unmountable filesystems may be tried again.</summary>
    public void ResetUnmountableLimits() => _unmountable.Reset();

    /// <summary>True while an action runs or requests wait.</summary>
    public bool Busy { get { lock (_lock) return _queue.Count > 0 || _current is not null; } }

    /// <summary>Wait until nothing is queued or running (tests).</summary>
    public bool WaitIdle(TimeSpan timeout) => _idle.Wait(timeout);

    private void Work()
    {
        while (true)
        {
            Request r;
            lock (_lock)
            {
                while (_queue.Count == 0 && !_stopping) { _idle.Set(); Monitor.Wait(_lock); }
                if (_queue.Count == 0) { _idle.Set(); return; }
                r = _queue.Dequeue();
                _queued.Remove(r.Fs.Identity.Id + "\0" + r.Fs.Identity.Dev);
                if (_stopping)
                {
                    Out($"{r.Fs.Path}: not healing ({r.Reason}): the daemon is stopping");
                    Safe(() => r.Done?.Invoke(null, null));
                    continue;
                }
                _current = new HealControl();
                _currentWhat = r.Fs.Path;
            }
            HealOutcome? outcome = null;
            HealPlan? plan = null;
            try { (outcome, plan) = Heal(r, _current); }
            catch (Exception e) { Err($"{r.Fs.Path}: healing failed: {e.GetType().Name}: {e.Message}"); }
            finally { lock (_lock) { _current = null; _currentWhat = null; } }
            Safe(() => r.Done?.Invoke(outcome, plan));
        }
    }

    private void Safe(Action a) { try { a(); } catch (Exception e) { Err($"healing: completion callback failed: {e.Message}"); } }

    private (HealOutcome?, HealPlan?) Heal(Request r, HealControl control)
    {
        if (r.Unmountable is { } um) return HealUnmountable(r, um, control);
        var fs = r.Fs;
        var wanted = r.Check is null ? OfflinePlanner.Wanted(fs.FsType, fs.Policy) : OfflinePlanner.WantedCheck(fs.FsType, fs.Policy);
        // a scheduled check is paced by its own scheduler (freshness limit, retry interval), not by the repair gates
        if (r.Check is null)
        {
            var gate = fs.Gate(wanted == HealAction.OfflineRepair ? ActionKind.OfflineRepair : ActionKind.Schedule);
            if (!gate.TryAcquire(out var next))
            {
                Out($"{fs.Path}: {r.Reason}: no new {(wanted == HealAction.OfflineRepair ? "offline repair" : "scheduled check")} before {next:HH:mm:ss} (rate limit)");
                return (null, null);
            }
        }
        var facts = _facts(fs, wanted);
        var plan = r.Check is { } budget ? OfflinePlanner.PlanCheck(facts, budget) : OfflinePlanner.Plan(facts);
        bool onSnapshot = plan.Steps.Any(st => st is CreateSnapshotStep);
        string what = r.Check is null ? "offline repair" : onSnapshot ? "scheduled check on an LVM snapshot"
            : plan.Steps.Any(s => s is UnmountStep) ? "scheduled offline check" : "scheduled online check";
        string cid = ActionJournal.NewCorrelationId();
        string path = fs.Path;
        if (plan.Decision == HealDecision.OfflineRepair)
        {
            // the action journal first: a crash between unmount and remount must be found at the next start
            var started = fs.Event(EventClass.ActionStarted, Severity.Warning,
                $"{path}: {what} of {facts.Device ?? (facts.Members.Count > 0 ? string.Join(", ", facts.Members.Select(m => m.Device)) : path)} ({fs.Identity}) started: {string.Join(" -> ", plan.Steps)}", cid);
            bool durable;
            try { durable = _events.PublishDurable(started); }
            catch (Exception) { durable = false; }
            if (!durable)
            {
                NotDurable = "the history store did not confirm the start of an action (full, read-only, corrupt or disabled)";
                Err($"{path}: {NotDurable}: no offline action runs");
                var notDurable = facts with { Durable = false, NotDurableReason = NotDurable };
                plan = r.Check is { } b ? OfflinePlanner.PlanCheck(notDurable, b) : OfflinePlanner.Plan(notDurable);
                Publish(fs.Event(EventClass.Diagnostic, Severity.Error, $"{path}: {what} not started: {NotDurable}", cid));
            }
            else NotDurable = null;
        }
        Out($"{path}: heal plan: {plan} (trigger: {r.Reason})");
        Publish(fs.Event(EventClass.Decision, Severity.Notice,
            $"{path}: decision ({OfflinePlannerName(wanted)} policy, rule {fs.Policy.Rule}): {plan}", cid));

        if (plan.Decision == HealDecision.Refuse)
        {
            string why = string.Join("; ", plan.Reasons);
            Err($"{path}: REFUSED to heal {fs.Identity}: {why}");
            Publish(fs.Event(EventClass.RepairRefused, Severity.Error, $"{path}: repair of {fs.Identity} refused: {why}", cid));
            return (null, plan);
        }
        if (plan.Decision == HealDecision.Report)
        {
            if (r.Check is not null)
            {
                string why = string.Join("; ", plan.Reasons);
                Err($"{path}: scheduled check: {why}");
                Publish(fs.Event(EventClass.Diagnostic, Severity.Warning, $"{path}: scheduled check not possible: {why}", cid) with { Structure = "scheduled-check" });
            }
            return (null, plan);
        }

        var outcome = new OfflineExecutor(_host, fs.Identity, facts.Remount is null ? 0 : fs.MountId, s => Out($"{path}: {s}"))
            .Execute(plan, control);
        if (outcome.Scrub is { Verdict: FsHealer.Btrfs.FullScrubVerdict.Uncorrectable } bad)
        {
            // btrfs: what no good copy covers — data lost (the files are named when the kernel log named them) or metadata
            string devs = string.Join(", ", bad.BadDevices);
            string text = $"{path}: scheduled scrub found damage no copy covers on {devs}: {bad.Describe()}";
            Err(text);
            Publish(fs.Event(bad.DamagedFiles.Count > 0 ? EventClass.DataLost : EventClass.MetadataCorrupt, Severity.Critical, text, cid) with
            {
                Structure = "scheduled-check", Device = bad.BadDevices.FirstOrDefault(),
                Count = (long)Math.Min(bad.Uncorrectable, long.MaxValue),
            });
        }
        else if (outcome.DamageFound is { } found)
        {
            // the problem itself, before what was done about it: latent damage no user access had surfaced
            Err($"{path}: scheduled check found latent damage: {found}");
            Publish(fs.Event(EventClass.MetadataCorrupt, Severity.Error, $"{path}: scheduled check found latent damage: {found}", cid) with { Structure = "scheduled-check" });
        }
        var (cls, sev) = outcome switch
        {
            { Refusal: not null } => (EventClass.RepairRefused, Severity.Error),
            { LeftUnmounted: true } => (EventClass.OfflineRepair, Severity.Critical),
            { Final: HealDecision.Schedule } => (EventClass.CheckScheduled, outcome.Success ? Severity.Notice : Severity.Error),
            { Verified: true, FoundClean: true } => (EventClass.RepairUnnecessary, Severity.Notice),
            { Verified: true } => (EventClass.OfflineRepair, Severity.Notice),
            // nothing checked (the snapshot overflowed, could not be made, was stopped): not damage, not a good check
            { OnSnapshot: true, DamageFound: null, SnapshotLeftBehind: null } => (EventClass.OfflineRepair, Severity.Warning),
            _ => (EventClass.OfflineRepair, Severity.Error),
        };
        string msg = r.Check is null ? $"{path}: heal {outcome.Final}: {outcome.Summary}" : $"{path}: scheduled check: {outcome.Summary}";
        if (outcome.Refusal is not null) Err($"{path}: REFUSED after starting: {outcome.Refusal}");
        if (outcome.SnapshotLeftBehind is { } left)
        {
            Err($"{path}: SNAPSHOT LEFT BEHIND: {left}: it fills as the filesystem changes; the next check removes it first");
            Publish(fs.Event(EventClass.Diagnostic, Severity.Error, $"{path}: check snapshot left behind: {left}", cid) with { Structure = "scheduled-check" });
        }
        (sev >= Severity.Error ? (Action<string>)Err : Out)(msg);
        // damage found by an online check: the ordinary healing decision for the problem (offline repair when allowed)
        bool onlineDamage = outcome.DamageFound is not null && !outcome.Steps.Any(s => s.Step is UnmountStep);
        Publish(fs.Event(cls, sev, outcome.Refusal is { } rf ? $"{path}: repair of {fs.Identity} refused: {rf}" : msg, cid)
            with { Structure = r.Check is not null ? "scheduled-check" : null });
        if (onlineDamage && OfflinePlanner.Wanted(fs.FsType, fs.Policy) != HealAction.Report)
            lock (_lock)
                if (!_stopping && _queued.Add(fs.Identity.Id + "\0" + fs.Identity.Dev))
                {
                    _queue.Enqueue(new Request(fs, "the scheduled online check found damage"));
                    _idle.Reset();
                }
        return (outcome, plan);
    }

    private (HealOutcome?, HealPlan?) HealUnmountable(Request r, UnmountableRequest u, HealControl control)
    {
        var id = u.Identity;
        string dev = u.Device, cid = ActionJournal.NewCorrelationId();
        string key = id.Id + "\0" + id.Dev;
        FsEvent Ev(EventClass cls, Severity sev, string msg) => new()
        {
            Class = cls, Severity = sev, Mount = "", FsType = id.FsType, Device = dev, FsId = id.Id, Message = msg,
            CorrelationId = cid, Structure = "unmountable",
        };
        string? before = u.Fingerprint();
        if (u.Policy.Repair && u.Damage && UnmountablePlanner.RepairableTypes.Contains(id.FsType) && _unmountable.TryStart(key, before) is { } limited)
        {
            Out($"{dev}: {r.Reason}: not repairing it now: {limited}");
            Publish(Ev(EventClass.Decision, Severity.Notice, $"{dev}: unmountable {id}: not repairing it now: {limited}"));
            return (null, null);
        }
        var facts = u.Facts();
        var plan = UnmountablePlanner.Plan(facts);
        if (plan.Decision == HealDecision.OfflineRepair)
        {
            var started = Ev(EventClass.ActionStarted, Severity.Warning,
                $"{dev}: offline repair of the unmountable {id} started: {string.Join(" -> ", plan.Steps)}");
            bool durable;
            try { durable = _events.PublishDurable(started); }
            catch (Exception) { durable = false; }
            if (!durable)
            {
                NotDurable = "the history store did not confirm the start of an action (full, read-only, corrupt or disabled)";
                Err($"{dev}: {NotDurable}: no offline action runs");
                plan = UnmountablePlanner.Plan(facts with { Durable = false, NotDurableReason = NotDurable });
            }
            else NotDurable = null;
        }
        Out($"{dev}: heal plan: {plan} (trigger: {r.Reason})");
        Publish(Ev(EventClass.Decision, Severity.Notice, $"{dev}: decision (unmountable policy: {u.Policy.Describe()}): {plan}"));
        if (plan.Decision == HealDecision.Refuse)
        {
            string why = string.Join("; ", plan.Reasons);
            Err($"{dev}: REFUSED to repair {id}: {why}");
            Publish(Ev(EventClass.RepairRefused, Severity.Error, $"{dev}: repair of the unmountable {id} refused: {why}"));
            _unmountable.Finished(key, false, u.Fingerprint());
            return (null, plan);
        }
        if (plan.Decision != HealDecision.OfflineRepair)
        {
            _unmountable.Finished(key, false, before);
            return (null, plan);
        }
        var executor = new OfflineExecutor(_host, id, 0, s => Out($"{dev}: {s}"));
        var outcome = executor.Execute(plan, control);
        // (a null UUID that e2fsck replaced: the messages name the filesystem as it is now; FsId stays the report's)
        var shown = executor.Target;
        string? target = plan.Steps.OfType<RemountStep>().FirstOrDefault()?.Path;
        string notMounted = target is null ? plan.Reasons.LastOrDefault(x => x.Contains("not mounted afterwards", StringComparison.Ordinal)) is { } nm
            ? nm[(nm.IndexOf("not mounted afterwards", StringComparison.Ordinal) + "not mounted afterwards: ".Length)..] : "" : "";
        var (cls, sev, msg) = outcome switch
        {
            { Refusal: { } rf } => (EventClass.RepairRefused, Severity.Error, $"{dev}: repair of the unmountable {id} refused: {rf}"),
            { Verified: true, NotMounted: false } => (EventClass.OfflineRepair, Severity.Notice,
                $"{dev}: unmountable {shown}: repaired, verified clean, mounted at {target}"),
            { Verified: true } when target is null => (EventClass.OfflineRepair, Severity.Notice,
                $"{dev}: unmountable {shown}: repaired, verified clean; not mounted: {(notMounted.StartsWith("no fstab entry", StringComparison.Ordinal) ? $"{notMounted} (mount it again yourself)" : notMounted)}"),
            { Verified: true } => (EventClass.OfflineRepair, Severity.Error,
                $"{dev}: unmountable {shown}: repaired, verified clean, but the mount at {target} FAILED (mount it yourself)"),
            _ => (EventClass.OfflineRepair, Severity.Error, $"{dev}: unmountable {shown}: {outcome.Summary}"),
        };
        if (outcome.Refusal is not null) Err($"{dev}: REFUSED after starting: {outcome.Refusal}");
        (sev >= Severity.Error ? (Action<string>)Err : Out)(msg);
        Publish(Ev(cls, sev, msg));
        _unmountable.Finished(key, outcome.Verified && !(target is not null && outcome.NotMounted), u.Fingerprint());
        return (outcome, plan);
    }

    private static string OfflinePlannerName(HealAction a) => a switch
    {
        HealAction.OfflineRepair => "offline-repair", HealAction.Schedule => "schedule", _ => "report",
    };

    /// <summary>
    /// The daemon is stopping: nothing new starts; an action that has not unmounted anything gives up at once; one in
    /// progress gets <paramref name="grace"/> to finish (it always mounts the filesystem again), after which its tool is
    /// killed and the filesystem mounted again unrepaired. Returns what happened, for the log; null when idle.
    /// </summary>
    public string? Stop(TimeSpan grace)
    {
        HealControl? current;
        string? what;
        lock (_lock)
        {
            _stopping = true;
            current = _current;
            what = _currentWhat;
            Monitor.PulseAll(_lock);
        }
        if (current is null) { _worker.Join(TimeSpan.FromSeconds(5)); return null; }
        current.RequestStop();
        Out($"{what}: stop requested during a healing action: letting it finish (up to {grace.TotalSeconds:0} s)");
        if (_worker.Join(grace)) return $"{what}: the healing action finished before the daemon stopped";
        current.RequestAbort();
        Err($"{what}: the healing action did not finish within {grace.TotalSeconds:0} s: killing its tool and mounting the filesystem again");
        bool done = _worker.Join(TimeSpan.FromSeconds(120));
        int killed = ToolRunner.KillAll();
        return done ? $"{what}: the healing action was aborted and rolled back (the filesystem is mounted again unrepaired)"
                    : $"{what}: the healing action did not roll back in time{(killed > 0 ? $"; killed {killed} tool(s)" : "")}";
    }

    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(30));
        _idle.Dispose();
    }
}
