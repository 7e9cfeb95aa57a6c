using FsHealer.Text;

namespace FsHealer.Healing;

/// <summary>What running a tool gave: its exit status (-1: could not run or timed out), its output, and whether it was
/// killed because the daemon had to stop.</summary>
public sealed record ToolResult(int Exit, string Output, bool Killed = false);

/// <summary>
/// The system, as an offline repair sees it. The live implementation (Healing.Live.LiveHealHost) looks and acts for
/// real; scenario tests script it. Every method reports failures as values and never throws.
/// </summary>
public interface IHealHost
{
    MountProbe ProbeMount(string path);
    DeviceProbe ProbeDevice(string device);
    /// <summary>umount(2) without MNT_DETACH. 0 or errno.</summary>
    int Unmount(string path);
    /// <summary>Run a program in its own process group; <paramref name="abort"/> kills the group.</summary>
    ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort);
    /// <summary>Mount <paramref name="device"/> at <paramref name="path"/> as <paramref name="spec"/> says. 0 or errno, and what was tried.</summary>
    int Mount(string device, string path, RemountSpec spec, out string detail);
    /// <summary>Replay a dirty XFS log: mount the device somewhere private and unmount it again. 0 or errno.</summary>
    int ReplayLog(string device, string fsType, out string detail);
    void Sleep(TimeSpan t);
}

/// <summary>How a stop request reaches a running action: <see cref="Stopping"/> = do not start anything new (an
/// action that has not unmounted yet gives up); <see cref="Abort"/> = kill the running tool and roll back.</summary>
public sealed class HealControl
{
    private readonly CancellationTokenSource _stopping = new(), _abort = new();
    public CancellationToken Stopping => _stopping.Token;
    public CancellationToken Abort => _abort.Token;
    public void RequestStop() { try { _stopping.Cancel(); } catch (ObjectDisposedException) { } }
    public void RequestAbort() { RequestStop(); try { _abort.Cancel(); } catch (ObjectDisposedException) { } }
    public static HealControl None { get; } = new();
}

/// <summary>Not planned: xfs_repair found a dirty log that could not be replayed and the plan allows discarding it.</summary>
public sealed record ZeroLogStep(string Device) : HealStep($"zero the dirty log of {Device} (xfs_repair -L: the policy allows discarding its last transactions)");

/// <summary>Not planned: recorded when xfs_repair found a dirty log and the executor replayed it.</summary>
public sealed record ReplayLogStep(string Device) : HealStep($"replay the dirty log of {Device} (mount and unmount it privately; never zero it)");

public sealed record StepResult(HealStep Step, bool Ok, string Detail)
{
    public override string ToString() => $"{(Ok ? "ok" : "FAILED")}: {Step.Description}: {Detail}";
}

/// <summary>What an executed plan ended as.</summary>
public sealed record HealOutcome(HealDecision Final, bool Success, IReadOnlyList<StepResult> Steps, IReadOnlyList<string> Messages)
{
    /// <summary>The identity proof failed: nothing (or nothing more) was done to what is there now.</summary>
    public string? Refusal { get; init; }
    /// <summary>The filesystem was unmounted and could not be mounted again.</summary>
    public bool LeftUnmounted { get; init; }
    /// <summary>A stop request killed the repair tool; the filesystem was mounted again unrepaired.</summary>
    public bool Aborted { get; init; }
    /// <summary>Repaired (or found clean) and verified clean by the check tool, and mounted again.</summary>
    public bool Verified { get; init; }
    /// <summary>A scheduled check's read-only check found damage (its tool's output); null when it found none or did not run.</summary>
    public string? DamageFound { get; init; }
    /// <summary>A scheduled check's read-only check ran and found the filesystem clean.</summary>
    public bool FoundClean { get; init; }
    /// <summary>A tool ran longer than the check budget's maximum duration and was killed.</summary>
    public bool OverBudget { get; init; }
    /// <summary>The plan started on an unmounted filesystem (<see cref="HealPlan.StartsUnmounted"/>) and it is still not
    /// mounted at the end (no mount step, the repair did not verify, or the mount failed).</summary>
    public bool NotMounted { get; init; }
    /// <summary>The plan started on an unmounted filesystem.</summary>
    public bool StartedUnmounted { get; init; }

    public string Summary => Refusal is { } r ? $"refused: {r}"
        : StartedUnmounted ? (Verified && !NotMounted ? "repaired, verified clean, mounted"
            : Verified ? "repaired, verified clean; not mounted" + (Steps.Any(s => s.Step is RemountStep) ? ": the mount FAILED (mount it yourself)" : "")
            : Aborted ? "aborted by a stop request: the repair tool was killed; not mounted"
            : $"repair FAILED; not mounted")
        : OverBudget ? "the check ran longer than its budget: the tool was killed" + (LeftUnmounted ? "; the filesystem is NOT MOUNTED" : "; mounted again unchecked")
        : Aborted ? "aborted by a stop request: the repair tool was killed" + (LeftUnmounted ? "; the filesystem is NOT MOUNTED" : "; mounted again unrepaired")
        : LeftUnmounted ? "FAILED: the filesystem is NOT MOUNTED again"
        : Final == HealDecision.OfflineRepair && Verified && FoundClean && !Steps.Any(s => s.Step is UnmountStep) ? "checked online: no damage found"
        : Final == HealDecision.OfflineRepair && DamageFound is not null && !Steps.Any(s => s.Step is UnmountStep) ? "checked online: DAMAGE FOUND"
        : Final == HealDecision.OfflineRepair && Verified && FoundClean ? "checked: no damage found, mounted again"
        : Final == HealDecision.OfflineRepair && Verified && DamageFound is not null ? "latent damage found, repaired, verified clean, mounted again"
        : Final == HealDecision.OfflineRepair && Verified ? "repaired, verified clean, mounted again"
        : $"{Final} {(Success ? "succeeded" : "FAILED")}";
}

/// <summary>
/// Runs a <see cref="HealPlan"/> against an <see cref="IHealHost"/> (pure: everything it touches goes through the
/// host). Rules: every destructive step is preceded by a proof of identity; once unmounted, the filesystem is always
/// mounted again, whatever happened in between (tool failure, refusal, stop request); a stop request before the
/// unmount cancels the action, during the repair it kills the tool and rolls back; logging never interrupts.
/// </summary>
public sealed class OfflineExecutor(IHealHost host, FilesystemIdentity target, ulong mountId, Action<string>? log = null)
{
    /// <summary>The filesystem the proofs compare with. It changes in one case only: an ext4 whose superblock carried
    /// the null UUID, to which e2fsck itself gave one during the repair (it says so: <see cref="E2fsckNewUuid"/>).</summary>
    private FilesystemIdentity _target = target;

    /// <summary>What e2fsck prints when it gives a filesystem with the null UUID a new one (PR_0_ADD_UUID).</summary>
    public const string E2fsckNewUuid = "did not have a UUID; generating one";

    /// <summary>The identity at the end (<see cref="_target"/>: a null UUID replaced by the one e2fsck generated).</summary>
    public FilesystemIdentity Target => _target;

    private void Log(List<string> messages, string s)
    {
        messages.Add(s);
        try { log?.Invoke(s); }
        catch (Exception) { /* a failing log sink must never interrupt an action between unmount and remount */ }
    }

    public HealOutcome Execute(HealPlan plan, HealControl? control = null)
    {
        control ??= HealControl.None;
        var results = new List<StepResult>();
        var messages = new List<string>(plan.Reasons);
        void Record(HealStep step, bool ok, string detail)
        {
            var r = new StepResult(step, ok, detail);
            results.Add(r);
            Log(messages, r.ToString());
        }

        if (plan.Decision is HealDecision.Report or HealDecision.Refuse)
            return new(plan.Decision, plan.Decision == HealDecision.Report, results, messages)
                { Refusal = plan.Decision == HealDecision.Refuse ? string.Join("; ", plan.Reasons) : null };

        if (plan.Decision == HealDecision.Schedule)
        {
            bool scheduled = true;
            foreach (var s in plan.Steps.OfType<ScheduleStep>()) scheduled &= RunSchedule(s, control, Record);
            return new(HealDecision.Schedule, scheduled, results, messages);
        }

        // offline repair. "down": unmounted and not yet mounted again.
        bool down = plan.StartsUnmounted, everDown = plan.StartsUnmounted, failed = false, wantSchedule = false, aborted = false;
        bool repairedOrClean = false, verified = false, remountProven = false, surveyedClean = false, overBudget = false;
        string? refusal = null, damage = null;
        // a scheduled check's budget: its tools are killed after the maximum duration (each), like a stop request
        using var budgetCts = plan.Budget.MaxDuration is not null ? CancellationTokenSource.CreateLinkedTokenSource(control.Abort) : null;
        var abort = budgetCts?.Token ?? control.Abort;
        bool idleIo = plan.Budget.IdleIoClass;
        (FsckOutcome Outcome, string Detail, bool Killed) Fsck(FsckTool tool, FsckMode mode, string device)
        {
            if (budgetCts is not null && plan.Budget.MaxDuration is { } max) budgetCts.CancelAfter(max);
            var r = RunFsck(tool, mode, device, abort, idleIo);
            if (budgetCts is not null && r.Killed && !control.Abort.IsCancellationRequested)
            {
                overBudget = true;
                r.Detail = $"{tool.Program} killed: ran longer than the check budget ({plan.Budget.MaxDuration!.Value.TotalSeconds:0} s)";
            }
            budgetCts?.CancelAfter(Timeout.InfiniteTimeSpan);
            return r;
        }
        foreach (var step in plan.Steps)
        {
            switch (step)
            {
                case ProveMountStep pm:
                {
                    var why = IdentityProof.Mount(_target, mountId, pm.Path, host.ProbeMount(pm.Path));
                    Record(step, why is null, why ?? "same superblock, same UUID, same mount");
                    if (why is not null) { refusal = why; goto done; }
                    break;
                }
                case UnmountStep u:
                {
                    if (control.Stopping.IsCancellationRequested)
                    {
                        Record(step, false, "not started: the daemon is stopping");
                        refusal = "the daemon is stopping; the offline repair was not started";
                        goto done;
                    }
                    int e = host.Unmount(u.Path), attempts = 1;
                    while (e == Errno.EBUSY && attempts < u.Attempts && !control.Stopping.IsCancellationRequested)
                    {
                        host.Sleep(u.RetryDelay);
                        e = host.Unmount(u.Path);
                        attempts++;
                    }
                    string tries = attempts > 1 ? $" (attempt {attempts})" : "";
                    if (e == 0) { down = everDown = true; Record(step, true, "unmounted" + tries); break; }
                    Record(step, false, $"umount({u.Path}): {Errno.Name(e)}: {Errno.Message(e)}{tries}");
                    if (e == Errno.EBUSY) Log(messages, $"{u.Path} is busy: not unmounting it (never lazily)");
                    else failed = true;
                    wantSchedule = true;
                    goto done;
                }
                case ProveDeviceStep pd when down && refusal is null && !aborted:
                {
                    var why = IdentityProof.Device(_target, host.ProbeDevice(pd.Device));
                    Record(step, why is null, why ?? "the device and its superblock are the watched filesystem's; nobody holds it");
                    if (why is not null) { refusal = why; failed = true; }
                    break;
                }
                case OnlineCheckStep oc when !down && refusal is null && !aborted:
                {
                    if (budgetCts is not null && plan.Budget.MaxDuration is { } max) budgetCts.CancelAfter(max);
                    var r = idleIo ? host.Run(Ionice, ["-c", "3", "--", oc.Program, .. oc.Arguments], abort) : host.Run(oc.Program, oc.Arguments, abort);
                    budgetCts?.CancelAfter(Timeout.InfiniteTimeSpan);
                    if (r.Killed)
                    {
                        overBudget = budgetCts is not null && !control.Abort.IsCancellationRequested;
                        aborted = failed = true;
                        Record(step, false, overBudget ? $"{oc.Program} killed: ran longer than the check budget" : $"{oc.Program} killed");
                        break;
                    }
                    if (r.Exit == 0) { surveyedClean = verified = true; Record(step, true, "clean: no damage found"); }
                    else if (r.Exit > 0 && (r.Exit & 3) == 1 || (r.Exit > 0 && (r.Exit & 4) != 0 && (r.Exit & 2) == 0))
                    {
                        damage = $"{oc.Program} exit {r.Exit}{Tail(r.Output)}";
                        failed = true;
                        Record(step, true, $"DAMAGE FOUND: {damage}");
                    }
                    else { failed = true; Record(step, false, $"{oc.Program} exit {r.Exit}{Tail(r.Output)}"); }
                    break;
                }
                case SurveyStep sv when down && refusal is null && !aborted:
                {
                    var (outcome, detail, killed) = Fsck(sv.Tool, FsckMode.Check, sv.Device);
                    if (outcome == FsckOutcome.DirtyLog && sv.Tool.ReplaysDirtyLogByMount && !killed)
                    {
                        Record(step, false, detail);
                        var replay = new ReplayLogStep(sv.Device);
                        int re = host.ReplayLog(sv.Device, sv.Tool.FsType, out var rd);
                        Record(replay, re == 0, re == 0 ? rd : $"{Errno.Name(re)}: {Errno.Message(re)} ({rd})");
                        if (re != 0) { failed = true; break; }
                        var why = IdentityProof.Device(_target, host.ProbeDevice(sv.Device));
                        Record(new ProveDeviceStep(sv.Device), why is null, why ?? "still the watched filesystem's device; nobody holds it");
                        if (why is not null) { refusal = why; failed = true; break; }
                        (outcome, detail, killed) = Fsck(sv.Tool, FsckMode.Check, sv.Device);
                    }
                    if (killed) { aborted = true; failed = true; Record(step, false, detail); break; }
                    switch (outcome)
                    {
                        case FsckOutcome.Clean:
                            surveyedClean = repairedOrClean = verified = true;
                            Record(step, true, "clean: no damage found");
                            break;
                        case FsckOutcome.Damaged or FsckOutcome.Repaired:
                            damage = detail;
                            Record(step, true, $"DAMAGE FOUND: {detail}");
                            if (!plan.Steps.OfType<FsckStep>().Any(s => s.Mode == FsckMode.Repair)) { failed = true; wantSchedule = true; }
                            break;
                        default:
                            Record(step, false, detail);
                            failed = true;
                            break;
                    }
                    break;
                }
                case FsckStep { Mode: FsckMode.Repair } f when down && refusal is null && !aborted && !surveyedClean && !(failed && damage is null && plan.IsCheck):
                {
                    var (outcome, detail, killed) = Fsck(f.Tool, f.Mode, f.Device);
                    if (outcome == FsckOutcome.DirtyLog && f.Tool.ReplaysDirtyLogByMount && !killed)
                    {
                        Record(step, false, detail);
                        var replay = new ReplayLogStep(f.Device);
                        int re = host.ReplayLog(f.Device, f.Tool.FsType, out var rd);
                        Record(replay, re == 0, re == 0 ? rd : $"{Errno.Name(re)}: {Errno.Message(re)} ({rd})");
                        if (re != 0 && plan.ZeroLogAllowed && f.Tool.FsType == "xfs" && !control.Stopping.IsCancellationRequested)
                        {
                            var why0 = IdentityProof.Device(_target, host.ProbeDevice(f.Device));
                            Record(new ProveDeviceStep(f.Device), why0 is null, why0 ?? "still the watched filesystem's device; nobody holds it");
                            if (why0 is not null) { refusal = why0; failed = true; break; }
                            var z = host.Run(f.Tool.Program, ["-L", f.Device], abort);
                            if (z.Killed) { aborted = true; failed = true; Record(new ZeroLogStep(f.Device), false, $"{f.Tool.Program} killed"); break; }
                            var zo = f.Tool.Classify(FsckMode.Repair, z.Exit);
                            bool zg = zo is FsckOutcome.Clean or FsckOutcome.Repaired;
                            Record(new ZeroLogStep(f.Device), zg, $"{f.Tool.Program} -L exit {z.Exit}{Tail(z.Output)}");
                            if (zg) repairedOrClean = true; else failed = true;
                            break;
                        }
                        if (re != 0) { failed = true; wantSchedule = true; break; }
                        var why = IdentityProof.Device(_target, host.ProbeDevice(f.Device));
                        Record(new ProveDeviceStep(f.Device), why is null, why ?? "still the watched filesystem's device; nobody holds it");
                        if (why is not null) { refusal = why; failed = true; break; }
                        (outcome, detail, killed) = Fsck(f.Tool, f.Mode, f.Device);
                    }
                    if (killed) { aborted = true; failed = true; Record(step, false, detail); break; }
                    bool good = outcome is FsckOutcome.Clean or FsckOutcome.Repaired;
                    Record(step, good, detail);
                    // e2fsck gave a filesystem with the null UUID a new one: the proofs from here on expect that one
                    if (good && _target.Uuid == Guid.Empty && _lastOutput.Contains(E2fsckNewUuid, StringComparison.Ordinal)
                        && host.ProbeDevice(f.Device) is { Error: null, Uuid: { } fresh } probe && probe.Rdev == _target.DevKey && fresh != Guid.Empty)
                    {
                        Log(messages, $"{f.Device}: the filesystem had the null UUID; {f.Tool.Program} generated {fresh:D}: the identity proofs from here on expect it");
                        _target = _target with { Uuid = fresh };
                    }
                    if (good) repairedOrClean = true;
                    else { failed = true; wantSchedule = true; }
                    break;
                }
                case FsckStep f when down && refusal is null && !aborted && repairedOrClean && !surveyedClean:
                {
                    var (outcome, detail, killed) = Fsck(f.Tool, f.Mode, f.Device);
                    if (killed) { aborted = true; failed = true; Record(step, false, detail); break; }
                    verified = outcome == FsckOutcome.Clean;
                    Record(step, verified, verified ? "clean" : $"still not clean: {detail}");
                    if (!verified) { failed = true; wantSchedule = true; }
                    break;
                }
                case RemountStep r when down && (!plan.StartsUnmounted || (verified && refusal is null && !aborted)):
                {
                    if (aborted && !overBudget) wantSchedule = true;
                    if (wantSchedule && plan.Fallback is { } fb) { RunSchedule(fb, HealControl.None, Record); wantSchedule = false; }
                    int e = host.Mount(r.Device, r.Path, r.Spec, out var detail);
                    if (e == 0) { down = false; Record(step, true, $"mounted ({detail})"); break; }
                    failed = true;
                    Record(step, false, $"{Errno.Name(e)}: {Errno.Message(e)} ({detail})");
                    Log(messages, (plan.StartsUnmounted ? $"MOUNT FAILED: {r.Device} is not mounted at {r.Path}: {Errno.Message(e)}; mount it by hand: "
                                                       : $"REMOUNT FAILED: {r.Device} is NO LONGER MOUNTED at {r.Path}: {Errno.Message(e)}; mount it by hand: ") +
                                  $"mount -t {r.Spec.FsType} -o {r.Spec.OptionsText} {r.Device} {r.Path}");
                    break;
                }
                case ProveRemountedStep pr when everDown && !down:
                {
                    var why = IdentityProof.Mount(_target, 0, pr.Path, host.ProbeMount(pr.Path));
                    remountProven = why is null;
                    Record(step, remountProven, why ?? "the watched filesystem is mounted there again");
                    if (!remountProven) failed = true;
                    break;
                }
            }
        }
    done:
        var final = plan.StartsUnmounted
            ? (refusal is not null && !results.Any(x => x.Step is FsckStep or ZeroLogStep) ? HealDecision.Refuse : HealDecision.OfflineRepair)
            : everDown ? HealDecision.OfflineRepair : refusal is not null ? HealDecision.Refuse : HealDecision.OfflineRepair;
        if (wantSchedule && plan.Fallback is { } fallback)
        {
            if (!RunSchedule(fallback, HealControl.None, Record)) failed = true;
            if (!everDown) final = HealDecision.Schedule;
        }
        // a plan that started unmounted: nothing to prove remounted unless it had a mount step
        bool mountPlanned = plan.Steps.Any(s => s is RemountStep);
        bool proven = plan.StartsUnmounted && !mountPlanned ? true : remountProven;
        if (plan.StartsUnmounted)
            return new(final, !failed && refusal is null && !aborted && verified && proven, results, messages)
            {
                Refusal = refusal, Aborted = aborted, StartedUnmounted = true, NotMounted = down,
                Verified = verified && refusal is null && !aborted,
                DamageFound = damage, FoundClean = surveyedClean,
            };
        return new(final, !failed && refusal is null && !aborted && (everDown ? verified && remountProven : !wantSchedule || final == HealDecision.Schedule),
            results, messages)
        {
            Refusal = refusal, LeftUnmounted = down, Aborted = aborted && !overBudget, OverBudget = overBudget,
            // a check that never unmounted (online) has nothing to prove remounted
            Verified = verified && (everDown ? remountProven : true) && refusal is null && !aborted,
            DamageFound = damage, FoundClean = surveyedClean,
        };
    }

    private string _lastOutput = "";

    /// <summary>util-linux ionice: run a program in the idle I/O class (it gets disk time only when nobody else wants it).</summary>
    public const string Ionice = "ionice";

    private (FsckOutcome Outcome, string Detail, bool Killed) RunFsck(FsckTool tool, FsckMode mode, string device, CancellationToken abort, bool idleIo)
    {
        var args = tool.Arguments(mode, device);
        var r = idleIo ? host.Run(Ionice, ["-c", "3", "--", tool.Program, .. args], abort) : host.Run(tool.Program, args, abort);
        _lastOutput = r.Output;
        if (r.Killed) return (FsckOutcome.Failed, $"{tool.Program} killed", true);
        var outcome = tool.Classify(mode, r.Exit);
        return (outcome, $"{tool.Program} exit {r.Exit} ({outcome.ToString().ToLowerInvariant()}){Tail(r.Output)}", false);
    }

    private bool RunSchedule(ScheduleStep s, HealControl control, Action<HealStep, bool, string> record)
    {
        var r = host.Run(s.Tool.Program, [.. s.Tool.ArgsBeforeDevice, s.Device], control.Abort);
        bool ok = r.Exit == 0;
        record(s, ok, ok ? "boot-time check scheduled" : $"{s.Tool.Program} exit {r.Exit}{Tail(r.Output)}");
        return ok;
    }

    private static string Tail(string output)
    {
        if (string.IsNullOrWhiteSpace(output)) return "";
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return ": " + string.Join(" / ", lines.TakeLast(3));
    }
}
