using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;

namespace FsHealer.Scenario.Tests.Ext4;

/// <summary>Scripted e2fsck/tune2fs/mount and a scripted umount: the executor's decisions without a kernel.</summary>
internal sealed class ScriptedRunner(Dictionary<string, Queue<(int, string)>> script) : ICommandRunner
{
    public List<string> Calls { get; } = [];
    public (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout)
    {
        Calls.Add($"{program} {string.Join(' ', args)}");
        string key = program + (args.Count > 1 && program == "e2fsck" ? " " + args[1] : "");
        return script.TryGetValue(key, out var q) && q.Count > 0 ? q.Dequeue() : (0, "");
    }
}

public class OfflineRepairExecutorScenarioTests
{
    private const string Mnt = "/nonexistent/fshealer-scenario-mnt";

    private static Ext4HealPlan Plan() => Ext4HealPlanner.Plan(new Ext4HealInput
    {
        MountPoint = Mnt, Device = "/dev/loop9", HasErrors = true, Policy = Ext4HealPolicy.OfflineRepair,
        Options = Ext4MountOptions.Parse("rw,relatime,errors=remount-ro,emergency_ro"),
    });

    private static ScriptedRunner Runner(params (string Key, int Exit, string Output)[] s) =>
        new(s.GroupBy(x => x.Key).ToDictionary(g => g.Key, g => new Queue<(int, string)>(g.Select(x => (x.Exit, x.Output)))));

    [Fact]
    public void RemountFailure_IsReportedLoudly_AndNotVerifiedAsMounted()
    {
        var runner = Runner(("e2fsck -y", 1, ""), ("e2fsck -n", 0, ""), ("mount", 32, "mount: wrong fs type, bad option"));
        var logs = new List<string>();
        var o = new OfflineRepairExecutor(runner, logs.Add) { UnmountFn = _ => 0 }.Execute(Plan());
        Assert.False(o.Success);
        Assert.Contains(logs, l => l.StartsWith("REMOUNT FAILED") && l.Contains("NO LONGER MOUNTED") && l.Contains("bad option"));
        Assert.DoesNotContain(o.Steps, s => s.Step.Kind == Ext4StepKind.VerifyMounted);
        Assert.Contains("mount -t ext4 -o rw,relatime,errors=remount-ro /dev/loop9 " + Mnt, runner.Calls);
    }

    [Fact]
    public void UncorrectedErrors_ScheduleBeforeRemount_AndStillRemount()
    {
        var runner = Runner(("e2fsck -y", 4, "Inode 15 ... Clear? no"), ("e2fsck -n", 4, ""), ("mount", 32, "x"));
        var o = new OfflineRepairExecutor(runner) { UnmountFn = _ => 0 }.Execute(Plan());
        Assert.False(o.Success);
        Assert.Equal(["e2fsck -f -y /dev/loop9", "e2fsck -f -n /dev/loop9", "tune2fs -E force_fsck /dev/loop9",
            "mount -t ext4 -o rw,relatime,errors=remount-ro /dev/loop9 " + Mnt], runner.Calls);
        Assert.Contains(o.Steps, s => s.Step.Kind == Ext4StepKind.Repair && s.Detail.Contains("left uncorrected"));
    }

    [Fact]
    public void Ebusy_NoFsck_NoLazyUnmount_Schedules()
    {
        var runner = Runner();
        int unmounts = 0;
        var o = new OfflineRepairExecutor(runner) { UnmountFn = _ => { unmounts++; return 16; }, UnmountRetryDelay = TimeSpan.Zero }.Execute(Plan());
        Assert.True(o.Success);
        Assert.Equal(Ext4PlanDecision.Schedule, o.Final);
        Assert.Equal(4, unmounts); // transient EBUSY retried, never a lazy unmount
        Assert.Equal(["tune2fs -E force_fsck /dev/loop9"], runner.Calls);
    }

    [Fact]
    public void TransientEbusy_IsRetried_ThenRepairs()
    {
        var runner = Runner(("e2fsck -y", 1, ""), ("e2fsck -n", 0, ""), ("mount", 0, ""));
        int unmounts = 0;
        var o = new OfflineRepairExecutor(runner) { UnmountFn = _ => ++unmounts < 3 ? 16 : 0, UnmountRetryDelay = TimeSpan.Zero }.Execute(Plan());
        Assert.Equal(3, unmounts);
        Assert.Equal(Ext4PlanDecision.OfflineRepair, o.Final);
        Assert.Contains(o.Steps, s => s.Step.Kind == Ext4StepKind.Unmount && s.Detail == "unmounted (attempt 3)");
        Assert.DoesNotContain("tune2fs -E force_fsck /dev/loop9", runner.Calls);
    }

    [Fact]
    public void OtherUnmountError_FailsAndSchedules_WithoutTouchingTheDevice()
    {
        var runner = Runner();
        var o = new OfflineRepairExecutor(runner) { UnmountFn = _ => 1 }.Execute(Plan());
        Assert.False(o.Success);
        Assert.Contains(o.Steps, s => s.Detail.Contains("EPERM: Operation not permitted"));
        Assert.DoesNotContain(runner.Calls, c => c.StartsWith("e2fsck") || c.StartsWith("mount"));
    }

    [Fact]
    public void ReportPolicy_ExecutesNothing()
    {
        var runner = Runner();
        var plan = Ext4HealPlanner.Plan(new Ext4HealInput { MountPoint = Mnt, Device = "/dev/loop9", HasErrors = true });
        var o = new OfflineRepairExecutor(runner) { UnmountFn = _ => throw new InvalidOperationException("must not unmount") }.Execute(plan);
        Assert.True(o.Success);
        Assert.Equal(Ext4PlanDecision.Report, o.Final);
        Assert.Empty(runner.Calls);
    }
}

public class FsErrorPipelineScenarioTests
{
    /// <summary>Decoder → guard → reconciler over a simulated event stream with an overflow in the middle.</summary>
    [Fact]
    public void OverflowThenReconcile_ReportsExactlyTheLostErrors()
    {
        var id = new FsId(0x770018a1, 0x097c8fa1);
        var rec = new Ext4ErrorReconciler(id, "loop9");
        Assert.Null(rec.Reconcile(Ext4SysfsState.Parse("loop9", Attrs(0))));
        // as read() returns them on 6.18: sb-level (56 bytes), inode with error_count 2 (64 bytes), then an overflow
        var buf = Convert.FromHexString(
            "38000000030018000080000000000000FFFFFFFF0A000000" + "01001400A1180077A18F7C0900000000FF000000" + "05000C007500000001000000" +
            "40000000030018000080000000000000FFFFFFFF0B000000" + "01001C00A1180077A18F7C0908000000010000000C000000A2486C0E" + "05000C007500000002000000" +
            "18000000030018000040000000000000FFFFFFFF00000000");
        var res = FsErrorDecoder.Decode(buf);
        Assert.Empty(res.Diagnostics);
        Assert.Equal([null, 12u, null], res.Events.Select(e => e.Inode));
        foreach (var e in res.Events) rec.Observe(e);
        Assert.Contains(res.Events, e => e.Kind == FsErrorKind.Overflow);
        var missed = rec.Reconcile(Ext4SysfsState.Parse("loop9", Attrs(10)))!;
        Assert.Equal(7u, missed.ErrorCount); // 10 counted, 1 + 2 reported
        Assert.Equal(FsErrorKind.Missed, missed.Kind);
    }

    private static Dictionary<string, string> Attrs(ulong n) => Ext4SysfsState.AttributeNames.ToDictionary(a => a, a =>
        a == "errors_count" ? n.ToString() : a.EndsWith("_time") ? (n == 0 ? "0" : "1795284995") : a.EndsWith("_func") ? "ext4_lookup" : "5");
}
