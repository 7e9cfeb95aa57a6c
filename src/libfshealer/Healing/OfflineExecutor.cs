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
    /// <summary>Scrub every device of the btrfs <paramref name="target"/> mounted at <paramref name="path"/> and wait for
    /// the end; <paramref name="abort"/> cancels the scrub (it is never left running).</summary>
    FsHealer.Btrfs.FullScrubResult FullScrub(FilesystemIdentity target, string path, bool readOnly, bool idleIo, CancellationToken abort) =>
        FsHealer.Btrfs.FullScrubResult.Failed("this host cannot scrub btrfs");
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

    /// <summary>A scheduled btrfs check's full scrub (null: none ran).</summary>
    public FsHealer.Btrfs.FullScrubResult? Scrub { get; init; }
    private string ScrubPrefix => Scrub is { } s && Steps.Any(x => x.Step is UnmountStep) ? s.Describe() + "; then " : "";
    /// <summary>A check on an LVM snapshot could not give a verdict (the snapshot could not be made, overflowed, the
    /// tool failed): why. Never damage.</summary>
    public string? CouldNotCheck { get; init; }
    /// <summary>The check snapshot could not be removed: what to remove by hand.</summary>
    public string? SnapshotLeftBehind { get; init; }
    /// <summary>The check ran on an LVM snapshot (nothing was unmounted).</summary>
    public bool OnSnapshot => Steps.Any(s => s.Step is CreateSnapshotStep);

    public string Summary => (Refusal is { } r ? $"refused: {r}"
        : StartedUnmounted ? (Verified && !NotMounted ? "repaired, verified clean, mounted"
            : Verified ? "repaired, verified clean; not mounted" + (Steps.Any(s => s.Step is RemountStep) ? ": the mount FAILED (mount it yourself)" : "")
            : Aborted ? "aborted by a stop request: the repair tool was killed; not mounted"
            : $"repair FAILED; not mounted")
        : OnSnapshot ? SnapshotSummary
        : OverBudget && Scrub is not null && !Steps.Any(s => s.Step is UnmountStep) ? "the check ran longer than its budget: the scrub was cancelled (BTRFS_IOC_SCRUB_CANCEL); nothing verified"
        : Aborted && Scrub is not null && !Steps.Any(s => s.Step is UnmountStep) ? "the scrub was cancelled by a stop request; nothing verified"
        : OverBudget ? "the check ran longer than its budget: the tool was killed" + (LeftUnmounted ? "; the filesystem is NOT MOUNTED" : "; mounted again unchecked")
        : Aborted ? "aborted by a stop request: the repair tool was killed" + (LeftUnmounted ? "; the filesystem is NOT MOUNTED" : "; mounted again unrepaired")
        : LeftUnmounted ? "FAILED: the filesystem is NOT MOUNTED again"
        : Scrub is { } sc && !Steps.Any(s => s.Step is UnmountStep) ? (Verified ? "scrubbed online: " : "scrubbed online: NOT VERIFIED: ") + sc.Describe()
        : Final == HealDecision.OfflineRepair && Verified && FoundClean && !Steps.Any(s => s.Step is UnmountStep) ? "checked online: no damage found"
        : Final == HealDecision.OfflineRepair && DamageFound is not null && !Steps.Any(s => s.Step is UnmountStep) ? "checked online: DAMAGE FOUND"
        : Final == HealDecision.OfflineRepair && Verified && FoundClean ? ScrubPrefix + "checked: no damage found, mounted again"
        : Final == HealDecision.OfflineRepair && Verified && DamageFound is not null ? ScrubPrefix + "latent damage found, repaired, verified clean, mounted again"
        : Final == HealDecision.OfflineRepair && Verified ? ScrubPrefix + "repaired, verified clean, mounted again"
        : Final == HealDecision.OfflineRepair && DamageFound is not null && Scrub is not null ? ScrubPrefix + "DAMAGE FOUND, not repaired; mounted again"
        : $"{ScrubPrefix}{Final} {(Success ? "succeeded" : "FAILED")}")
        + (SnapshotLeftBehind is { } left ? $"; SNAPSHOT LEFT BEHIND: {left}" : "");

    private string SnapshotSummary =>
        OverBudget ? "the check on an LVM snapshot ran longer than its budget: the tool was killed, nothing checked"
        : Aborted ? "the check on an LVM snapshot was stopped (the daemon is stopping): nothing checked"
        : DamageFound is not null ? "checked on an LVM snapshot: DAMAGE FOUND"
        : Verified && FoundClean ? "checked on an LVM snapshot: no damage found"
        : CouldNotCheck is { } why ? $"could not check on an LVM snapshot: {why}"
        : "the check on an LVM snapshot FAILED";
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
        string? refusal = null, damage = null, couldNotCheck = null, leftBehind = null;
        FsHealer.Btrfs.FullScrubResult? scrub = null;
        bool snapshotAttempted = false, snapshotMade = false;
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
                    var why = IdentityProof.Device(_target, host.ProbeDevice(pd.Device), pd.Rdev);
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
                case FullScrubStep sc when !down && refusal is null && !aborted:
                {
                    if (budgetCts is not null && plan.Budget.MaxDuration is { } max) budgetCts.CancelAfter(max);
                    // nothing is unmounted yet: a stop request cancels the scrub at once (there is nothing to roll back)
                    using var scrubCts = CancellationTokenSource.CreateLinkedTokenSource(abort, control.Stopping);
                    var r = host.FullScrub(_target, sc.Path, sc.ReadOnly, idleIo, scrubCts.Token);
                    budgetCts?.CancelAfter(Timeout.InfiniteTimeSpan);
                    scrub = r;
                    // the offline part (when planned) follows only a scrub that covered everything and left nothing broken
                    bool more = plan.Steps.Any(s => s is UnmountStep);
                    if (r.Killed)
                    {
                        overBudget = budgetCts is not null && !control.Stopping.IsCancellationRequested && !control.Abort.IsCancellationRequested;
                        aborted = failed = true;
                        Record(step, false, overBudget ? $"{r.Describe()}: ran longer than the check budget"
                            : control.Stopping.IsCancellationRequested ? $"{r.Describe()}: the daemon is stopping" : r.Describe());
                        goto done;
                    }
                    switch (r.Verdict)
                    {
                        case FsHealer.Btrfs.FullScrubVerdict.Clean:
                            Record(step, true, r.Describe());
                            if (!more) surveyedClean = verified = true;
                            break;
                        case FsHealer.Btrfs.FullScrubVerdict.Corrected:
                            Record(step, true, r.Describe());
                            if (!more) verified = true;
                            break;
                        case FsHealer.Btrfs.FullScrubVerdict.Uncorrectable:
                            damage = r.Describe();
                            failed = true;
                            Record(step, true, $"DAMAGE FOUND: {damage}");
                            if (more) Log(messages, "not unmounting it for btrfs check: the scrub found damage no copy covers, which btrfs check does not repair");
                            goto done;
                        default:
                            failed = true;
                            Record(step, false, r.Describe());
                            goto done;
                    }
                    break;
                }
                case RemoveSnapshotStep { Leftover: true } rs:
                {
                    // a snapshot of this LV from an earlier check (the daemon was killed in the middle): remove it first
                    if (SnapshotAttr(rs.Vg, rs.Snapshot) is null) { Record(step, true, "none"); break; }
                    bool removed = RemoveSnapshot(rs.Vg, rs.Snapshot, out var detail);
                    Record(step, removed, removed ? $"removed a snapshot left behind: {detail}" : detail);
                    if (!removed)
                    {
                        failed = true;
                        couldNotCheck = $"a snapshot {rs.Vg}/{rs.Snapshot} left behind by an earlier check could not be removed ({detail})";
                        leftBehind = $"{rs.Vg}/{rs.Snapshot} (lvremove -f {rs.Vg}/{rs.Snapshot})";
                    }
                    break;
                }
                case CreateSnapshotStep cs when refusal is null && !aborted && !failed:
                {
                    if (control.Stopping.IsCancellationRequested)
                    {
                        Record(step, false, "not started: the daemon is stopping");
                        aborted = failed = true;
                        break;
                    }
                    snapshotAttempted = true;
                    // never killed halfway: lvcreate suspends the origin for the moment of the snapshot
                    var r = host.Run(LvmTool.Lvcreate, LvmTool.CreateArgs(cs.Vg, cs.Lv, cs.Snapshot, cs.Bytes), CancellationToken.None);
                    snapshotMade = r.Exit == 0;
                    Record(step, snapshotMade, snapshotMade ? "created" : $"{LvmTool.Lvcreate} exit {r.Exit}{Tail(r.Output)}");
                    if (!snapshotMade) { failed = true; couldNotCheck = $"the snapshot could not be made ({LvmTool.Lvcreate} exit {r.Exit}{Tail(r.Output)})"; }
                    break;
                }
                case SnapshotCheckStep sc when snapshotMade && refusal is null && !aborted && !failed:
                {
                    // a stop request kills the check at once: nothing is unmounted, there is nothing to finish
                    using var checkCts = CancellationTokenSource.CreateLinkedTokenSource(abort, control.Stopping);
                    (ToolResult R, bool OverBudget) RunOnSnapshot(string[] args)
                    {
                        if (budgetCts is not null && plan.Budget.MaxDuration is { } max) budgetCts.CancelAfter(max);
                        var r = idleIo ? host.Run(Ionice, ["-c", "3", "--", sc.Tool.Program, .. args, sc.Device], checkCts.Token)
                                       : host.Run(sc.Tool.Program, [.. args, sc.Device], checkCts.Token);
                        bool over = r.Killed && budgetCts is { IsCancellationRequested: true } && !control.Abort.IsCancellationRequested && !control.Stopping.IsCancellationRequested;
                        budgetCts?.CancelAfter(Timeout.InfiniteTimeSpan);
                        return (r, over);
                    }
                    bool Killed(ToolResult r, bool over)
                    {
                        if (!r.Killed) return false;
                        overBudget |= over;
                        aborted = failed = true;
                        Record(step, false, over ? $"{sc.Tool.Program} killed: ran longer than the check budget ({plan.Budget.MaxDuration!.Value.TotalSeconds:0} s)"
                                                 : $"{sc.Tool.Program} killed: the daemon is stopping");
                        return true;
                    }
                    var (replay, replayOver) = RunOnSnapshot(sc.Tool.ReplayArgs);
                    if (Killed(replay, replayOver)) break;
                    // 0: nothing to do; 1/2: the journal was replayed (orphans released): normal for a live filesystem
                    var replayOutcome = sc.Tool.Classify(replay.Exit);
                    string replayDetail = $"{sc.Tool.Program} {string.Join(' ', sc.Tool.ReplayArgs)}: exit {replay.Exit}{Tail(replay.Output)}";
                    string verdict;
                    if (replayOutcome == FsckOutcome.Failed) { verdict = "failed"; couldNotCheck = replayDetail; }
                    else if (replayOutcome == FsckOutcome.Damaged) { verdict = "damage"; damage = replayDetail; }
                    else
                    {
                        var (check, checkOver) = RunOnSnapshot(sc.Tool.CheckArgs);
                        if (Killed(check, checkOver)) break;
                        string checkDetail = $"{sc.Tool.Program} exit {check.Exit}{Tail(check.Output)}";
                        var outcome = sc.Tool.Classify(check.Exit);
                        if (outcome == FsckOutcome.Clean) verdict = "clean";
                        else if (outcome is FsckOutcome.Damaged or FsckOutcome.Repaired) { verdict = "damage"; damage = checkDetail; }
                        else { verdict = "failed"; couldNotCheck = checkDetail; }
                    }
                    // a snapshot that overflowed reads as I/O errors: whatever the tool said, nothing was checked
                    var attr = SnapshotAttr(sc.Vg, sc.Snapshot);
                    if (attr is null || new FsHealer.Devices.LvmVolume(sc.Vg, sc.Snapshot, 0, attr).IsInvalidSnapshot)
                    {
                        couldNotCheck = attr is null ? $"the snapshot {sc.Vg}/{sc.Snapshot} disappeared during the check"
                            : $"the snapshot {sc.Vg}/{sc.Snapshot} overflowed (lv_attr {attr}: more changed on the filesystem during the check than it holds; raise ext4.snapshot_size_mb)";
                        damage = null;
                        verdict = "invalid";
                    }
                    switch (verdict)
                    {
                        case "clean":
                            surveyedClean = verified = true;
                            Record(step, true, "clean: no damage found");
                            break;
                        case "damage":
                            failed = true;
                            Record(step, true, $"DAMAGE FOUND: {damage}");
                            break;
                        default:
                            failed = true;
                            Record(step, false, $"could not check: {couldNotCheck}");
                            break;
                    }
                    break;
                }
                case RemoveSnapshotStep { Leftover: false } rs when snapshotAttempted:
                {
                    bool removed = RemoveSnapshot(rs.Vg, rs.Snapshot, out var detail);
                    Record(step, removed, detail);
                    if (!removed)
                    {
                        failed = true;
                        leftBehind = $"{rs.Vg}/{rs.Snapshot} (lvremove -f {rs.Vg}/{rs.Snapshot})";
                        Log(messages, $"SNAPSHOT LEFT BEHIND: {rs.Vg}/{rs.Snapshot} could not be removed ({detail}); it fills as the filesystem changes: remove it by hand: lvremove -f {rs.Vg}/{rs.Snapshot}");
                    }
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
                    var seen = host.ProbeMount(pr.Path);
                    var why = pr.NewDevKey ? IdentityProof.Remounted(_target, pr.Path, seen) : IdentityProof.Mount(_target, 0, pr.Path, seen);
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
            DamageFound = damage, FoundClean = surveyedClean, Scrub = scrub, CouldNotCheck = couldNotCheck, SnapshotLeftBehind = leftBehind,
        };
    }

    /// <summary>How often and how long lvremove is retried while the snapshot is busy (e2scrub: every 0.5 s, 30 s).</summary>
    public static readonly TimeSpan SnapshotRemoveRetry = TimeSpan.FromMilliseconds(500);
    public const int SnapshotRemoveAttempts = 60;

    /// <summary>The snapshot's lv_attr, or null when lvs does not list it (it does not exist).</summary>
    private string? SnapshotAttr(string vg, string snapshot)
    {
        var r = host.Run(LvmTool.Lvs, LvmTool.AttrArgs(vg, snapshot), CancellationToken.None);
        if (r.Exit != 0) return null;
        foreach (var line in r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (line.Length >= 5 && !line.Contains(' ') && !line.Contains(':')) return line;
        return null;
    }

    /// <summary>lvremove -f, retried while it says busy and the snapshot is still there; never cancelled (a stop request
    /// must not leave the snapshot behind).</summary>
    private bool RemoveSnapshot(string vg, string snapshot, out string detail)
    {
        ToolResult r = new(-1, "");
        for (int attempt = 1; attempt <= SnapshotRemoveAttempts; attempt++)
        {
            r = host.Run(LvmTool.Lvremove, LvmTool.RemoveArgs(vg, snapshot), CancellationToken.None);
            if (r.Exit == 0) { detail = attempt > 1 ? $"removed (attempt {attempt})" : "removed"; return true; }
            if (SnapshotAttr(vg, snapshot) is null) { detail = $"gone ({LvmTool.Lvremove} exit {r.Exit}{Tail(r.Output)})"; return true; }
            if (r.Exit != LvmTool.ExitBusy) break;
            host.Sleep(SnapshotRemoveRetry);
        }
        detail = $"{LvmTool.Lvremove} exit {r.Exit}{Tail(r.Output)}";
        return false;
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
        var outcome = tool.Classify(mode, r.Exit, r.Output);
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
