using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;
using FsHealer.Ext4;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Ext4.Live;

public sealed record Ext4StepResult(Ext4PlanStep Step, bool Ok, int Status, string Detail)
{
    public override string ToString() => $"{(Ok ? "ok" : "FAILED")}: {Step.Description}: {Detail}";
}

public sealed record Ext4RepairOutcome(Ext4PlanDecision Final, bool Success, IReadOnlyList<Ext4StepResult> Steps, IReadOnlyList<string> Messages)
{
    public override string ToString() => $"{Final} {(Success ? "succeeded" : "FAILED")}: {string.Join(" | ", Messages)}";
}

/// <summary>
/// Executes an <see cref="Ext4HealPlan"/>: real umount(2) (never lazy), e2fsck, tune2fs and mount(8). Every step's
/// result is recorded. EBUSY at unmount falls back to scheduling; once unmounted the filesystem is always mounted
/// again, and a failed remount is reported loudly.
/// </summary>
public sealed class OfflineRepairExecutor(ICommandRunner runner, Action<string>? log = null)
{
    public TimeSpan FsckTimeout { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Unmount hook (tests may substitute); default umount2(2) without MNT_DETACH.</summary>
    public Func<string, int> UnmountFn { get; init; } = Umount.Unmount;
    /// <summary>EBUSY can be transient: the error event arrives while the process that hit the error is still inside
    /// its system call (holding the mount). Retry this many times before falling back to scheduling.</summary>
    public int UnmountAttempts { get; init; } = 4;
    public TimeSpan UnmountRetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public Ext4RepairOutcome Execute(Ext4HealPlan plan)
    {
        var results = new List<Ext4StepResult>();
        var messages = new List<string>(plan.Reasons);
        void Log(string s) { messages.Add(s); log?.Invoke(s); }

        if (plan.Decision is Ext4PlanDecision.Nothing or Ext4PlanDecision.Report)
            return new(plan.Decision, true, results, messages);

        bool unmounted = false, ok = true, remountFailed = false, schedule = false;
        foreach (var step in plan.Steps)
        {
            if (remountFailed && step.Kind == Ext4StepKind.VerifyMounted) break;
            if (!unmounted && step.Kind is Ext4StepKind.Repair or Ext4StepKind.VerifyClean or Ext4StepKind.Remount or Ext4StepKind.VerifyMounted)
                break;
            Ext4StepResult r;
            switch (step.Kind)
            {
                case Ext4StepKind.Unmount:
                {
                    string mnt = step.Arguments[0];
                    int e = UnmountFn(mnt), attempts = 1;
                    while (e == Errno.EBUSY && attempts < UnmountAttempts)
                    {
                        Thread.Sleep(UnmountRetryDelay);
                        e = UnmountFn(mnt);
                        attempts++;
                    }
                    string tries = attempts > 1 ? $" (attempt {attempts})" : "";
                    r = new(step, e == 0, e, e == 0 ? "unmounted" + tries : $"umount({mnt}): {Errno.Name(e)}: {Errno.Message(e)}{tries}");
                    results.Add(r); Log(r.ToString());
                    if (e == 0) { unmounted = true; continue; }
                    schedule = true;
                    if (e == Errno.EBUSY) Log($"{mnt} is busy: not unmounting (never lazily); scheduling e2fsck instead");
                    else ok = false;
                    goto done;
                }
                case Ext4StepKind.Repair:
                {
                    var (st, output) = runner.Run(step.Program, step.Arguments, FsckTimeout);
                    bool good = E2fsckExit.IsClean(st);
                    r = new(step, good, st, $"e2fsck {E2fsckExit.Describe(st)}" + Tail(output));
                    results.Add(r); Log(r.ToString());
                    if (!good) { ok = false; schedule = true; }
                    continue;
                }
                case Ext4StepKind.VerifyClean:
                {
                    var (st, output) = runner.Run(step.Program, step.Arguments, FsckTimeout);
                    r = new(step, st == 0, st, st == 0 ? "clean" : $"still not clean: e2fsck {E2fsckExit.Describe(st)}" + Tail(output));
                    results.Add(r); Log(r.ToString());
                    if (st != 0) { ok = false; schedule = true; }
                    continue;
                }
                case Ext4StepKind.Remount:
                {
                    if (schedule && plan.Fallback is { } fb) { RunSchedule(fb, results, Log); schedule = false; }
                    var (st, output) = runner.Run(step.Program, step.Arguments, CommandTimeout);
                    r = new(step, st == 0, st, st == 0 ? "mounted" : $"mount exit {st}" + Tail(output));
                    results.Add(r);
                    if (st != 0)
                    {
                        ok = false; remountFailed = true;
                        Log($"REMOUNT FAILED: {step.Arguments[^2]} is NO LONGER MOUNTED at {step.Arguments[^1]}: mount exit {st}{Tail(output)}");
                    }
                    else Log(r.ToString());
                    continue;
                }
                case Ext4StepKind.VerifyMounted:
                {
                    string mnt = step.Arguments[0];
                    string? dev = step.Arguments.Count > 1 ? step.Arguments[1] : null;
                    string? policy = step.Arguments.Count > 2 ? step.Arguments[2] : null;
                    var m = Ext4SysfsReader.FindMount(mnt);
                    string? problem = m is null ? $"nothing mounted at {mnt}"
                        : m.FullFsType != "ext4" ? $"{m.FullFsType} (not ext4) mounted at {mnt}"
                        : dev is not null && m.Source != dev ? $"{m.Source} mounted at {mnt}, expected {dev}"
                        : policy is not null && Ext4MountOptions.Of(m).ErrorsPolicy is var p && p.ToString() != policy ? $"errors policy {p}, expected {policy}"
                        : null;
                    bool good = problem is null;
                    r = new(step, good, good ? 0 : -1, good ? $"{m!.Source} mounted at {mnt} ({Ext4MountOptions.Of(m)})" : problem!);
                    results.Add(r); Log(r.ToString());
                    if (!good) ok = false;
                    continue;
                }
                case Ext4StepKind.ScheduleFsck:
                    if (!RunSchedule(step, results, Log)) ok = false;
                    continue;
            }
        }
    done:
        var final = plan.Decision;
        if (schedule && plan.Fallback is { } fallback)
        {
            final = Ext4PlanDecision.Schedule;
            if (!RunSchedule(fallback, results, Log)) ok = false;
        }
        return new(final, ok, results, messages);
    }

    private bool RunSchedule(Ext4PlanStep step, List<Ext4StepResult> results, Action<string> log)
    {
        var (st, output) = runner.Run(step.Program, step.Arguments, CommandTimeout);
        var r = new Ext4StepResult(step, st == 0, st, st == 0 ? "e2fsck scheduled (force_fsck set)" : $"tune2fs exit {st}" + Tail(output));
        results.Add(r); log(r.ToString());
        return st == 0;
    }

    private static string Tail(string output)
    {
        if (string.IsNullOrWhiteSpace(output)) return "";
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return ": " + string.Join(" / ", lines.TakeLast(3));
    }
}
