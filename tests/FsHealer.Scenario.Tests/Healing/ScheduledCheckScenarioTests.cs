using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Scenario.Tests.Healing;

/// <summary>The scheduled full check through the one offline ladder, on a scripted system.</summary>
public class ScheduledCheckScenarioTests
{
    private const string Remount = "mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro";

    private static (HealOutcome Outcome, List<string> Log) Check(ScriptedHost h, CheckBudget? budget = null, HealControl? control = null)
    {
        var log = new List<string>();
        var plan = OfflinePlanner.PlanCheck(ScriptedHost.Facts() with { CanIdleIo = true }, budget ?? new CheckBudget(false, null));
        var o = new OfflineExecutor(h, ScriptedHost.Target, 42, log.Add).Execute(plan, control);
        return (o, log);
    }

    [Fact]
    public void A_clean_filesystem_is_checked_read_only_and_mounted_again()
    {
        var h = new ScriptedHost();
        var (o, _) = Check(h);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -n /dev/loop3", Remount], h.Calls);
        Assert.True(o.Success && o.Verified && o.FoundClean, o.Summary);
        Assert.Null(o.DamageFound);
        Assert.Equal("checked: no damage found, mounted again", o.Summary);
    }

    [Fact]
    public void Latent_damage_is_repaired_and_verified_in_the_same_unmount()
    {
        int checks = 0;
        var h = new ScriptedHost
        {
            // the first -n finds damage (exit 4), the repair fixes it (exit 1), the verifying -n is clean
            Tool = (p, a, _) => a.Contains("-n") ? new ToolResult(checks++ == 0 ? 4 : 0, "Free blocks count wrong for group #0") : new ToolResult(1, "FILE SYSTEM WAS MODIFIED"),
        };
        var (o, _) = Check(h);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -n /dev/loop3", "e2fsck -f -y /dev/loop3", "e2fsck -f -n /dev/loop3", Remount], h.Calls);
        Assert.True(o.Success && o.Verified, o.Summary);
        Assert.False(o.FoundClean);
        Assert.Contains("Free blocks count wrong", o.DamageFound);
        Assert.Equal("latent damage found, repaired, verified clean, mounted again", o.Summary);
        // identity proven before each tool run on the device
        var kinds = o.Steps.Select(s => s.Step).ToList();
        for (int i = 0; i < kinds.Count; i++)
            if (kinds[i] is SurveyStep or FsckStep) Assert.IsType<ProveDeviceStep>(kinds[i - 1]);
    }

    [Fact]
    public void A_check_tool_that_cannot_run_repairs_nothing_and_mounts_again()
    {
        var h = new ScriptedHost { Tool = (_, _, _) => new ToolResult(8, "e2fsck: operational error") };
        var (o, _) = Check(h);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -n /dev/loop3", Remount], h.Calls);
        Assert.False(o.Success);
        Assert.False(o.Verified);
        Assert.False(o.LeftUnmounted);
    }

    [Fact]
    public void Tools_run_in_the_idle_io_class_when_asked()
    {
        var h = new ScriptedHost();
        var (o, _) = Check(h, new CheckBudget(true, null));
        Assert.Contains("ionice -c 3 -- e2fsck -f -n /dev/loop3", h.Calls);
        Assert.True(o.Verified);
    }

    [Fact]
    public void A_tool_over_its_budget_is_killed_and_the_filesystem_mounted_again_unchecked()
    {
        var h = new ScriptedHost
        {
            Tool = (_, _, abort) =>
            {
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                while (!abort.IsCancellationRequested && DateTime.UtcNow < until) Thread.Sleep(10);
                return abort.IsCancellationRequested ? new ToolResult(-1, "killed", Killed: true) : new ToolResult(0, "");
            },
        };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (o, log) = Check(h, new CheckBudget(false, TimeSpan.FromMilliseconds(200)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), string.Join("\n", log) + "\n" + string.Join("\n", h.Calls));
        Assert.True(o.OverBudget);
        Assert.False(o.Aborted);
        Assert.False(o.Verified);
        Assert.False(o.LeftUnmounted);
        Assert.Equal(Remount, h.Calls[^1]);
        Assert.Contains(log, l => l.Contains("ran longer than the check budget"));
        Assert.StartsWith("the check ran longer than its budget", o.Summary);
    }

    [Fact]
    public void A_busy_filesystem_is_not_unmounted_lazily_and_nothing_runs()
    {
        var h = new ScriptedHost { UnmountResult = () => FsHealer.Text.Errno.EBUSY };
        var (o, _) = Check(h);
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("e2fsck"));
        Assert.False(o.Verified);
    }

    /// <summary>The plan PlanCheck makes for an XFS with online scrub (tier 1 tests that), run against the scripted mount.</summary>
    private static HealOutcome Online(ScriptedHost h)
    {
        var plan = new HealPlan(HealDecision.OfflineRepair,
            [new ProveMountStep(ScriptedHost.Mnt), new OnlineCheckStep("xfs_scrub", ["-n", ScriptedHost.Mnt], ScriptedHost.Mnt)], ["scheduled online check"], null)
            { IsCheck = true, Budget = new CheckBudget(true, null) };
        return new OfflineExecutor(h, ScriptedHost.Target, 42).Execute(plan);
    }

    [Fact]
    public void Online_check_clean_is_verified_without_unmounting()
    {
        var h = new ScriptedHost();
        var o = Online(h);
        Assert.Equal(["ionice -c 3 -- xfs_scrub -n /mnt/e4"], h.Calls);
        Assert.True(o.Verified && o.FoundClean && o.Success, o.Summary);
        Assert.Equal("checked online: no damage found", o.Summary);
    }

    [Fact]
    public void Online_check_damage_is_reported_not_verified()
    {
        var h = new ScriptedHost { Tool = (_, _, _) => new ToolResult(1, "Corruption: inode 133 (0/133) inode record") };
        var o = Online(h);
        Assert.Equal(["ionice -c 3 -- xfs_scrub -n /mnt/e4"], h.Calls);
        Assert.False(o.Verified);
        Assert.Contains("Corruption: inode 133", o.DamageFound);
        Assert.Equal("checked online: DAMAGE FOUND", o.Summary);
        var failedRun = Online(new ScriptedHost { Tool = (_, _, _) => new ToolResult(2, "operational error") });
        Assert.Null(failedRun.DamageFound);
        Assert.False(failedRun.Verified);
    }

    private sealed class Sink : IFlushableSink
    {
        public readonly List<FsEvent> Events = [];
        public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
        public bool Flush(TimeSpan timeout) => true;
        public FsEvent[] Snapshot() { lock (Events) return [.. Events]; }
    }

    [Fact]
    public void The_pipeline_records_a_verified_check_that_restarts_freshness()
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var freshness = new CheckOverdueMonitor();
        hub.Add(freshness);
        var host = new ScriptedHost();
        using var p = new HealingPipeline(hub, new MemoryConsole(), host, (fs, wanted) => ScriptedHost.Facts(wanted) with { Path = fs.Path });
        var fs = new WatchedFilesystem(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev,
            EffectivePolicy.Defaults with { Ext4 = Ext4Policy.OfflineRepair, ScheduledCheck = true, MaxCheckAge = TimeSpan.FromMinutes(1) });
        HealOutcome? got = null;
        using var done = new ManualResetEventSlim();
        Assert.True(p.SubmitCheck(fs, "scheduled check", CheckBudget.None, (o, _) => { got = o; done.Set(); }));
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.True(got!.Verified);
        var ev = sink.Snapshot();
        var ok = Assert.Single(ev, e => e.Class == EventClass.RepairUnnecessary);
        Assert.Equal("scheduled-check", ok.Structure);
        Assert.True(StatusComputer.IsGoodCheck(ok));
        Assert.Equal(ok.Time, freshness.LastGoodCheck(ScriptedHost.Target.Id));
        Assert.Contains(ev, e => e.Class == EventClass.ActionStarted && e.Message.Contains("scheduled offline check"));
        // a check is paced by the scheduler, not the repair gate: a second one runs at once
        using var done2 = new ManualResetEventSlim();
        Assert.True(p.SubmitCheck(fs, "scheduled check", CheckBudget.None, (o, _) => { got = o; done2.Set(); }));
        Assert.True(done2.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, host.Calls.Count(c => c == "umount /mnt/e4"));
    }

    [Fact]
    public void The_pipeline_records_latent_damage_as_a_problem_then_the_repair()
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        int checks = 0;
        var host = new ScriptedHost { Tool = (p, a, _) => a.Contains("-n") ? new ToolResult(checks++ == 0 ? 4 : 0, "Block bitmap differences: -(100--120)") : new ToolResult(1, "") };
        using var p = new HealingPipeline(hub, new MemoryConsole(), host, (fs, wanted) => ScriptedHost.Facts(wanted) with { Path = fs.Path });
        var fs = new WatchedFilesystem(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev, EffectivePolicy.Defaults with { Ext4 = Ext4Policy.OfflineRepair });
        using var done = new ManualResetEventSlim();
        p.SubmitCheck(fs, "scheduled check", CheckBudget.None, (_, _) => done.Set());
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        var ev = sink.Snapshot();
        var problem = Assert.Single(ev, e => e.Class == EventClass.MetadataCorrupt);
        var repair = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair);
        Assert.Contains("latent damage", problem.Message);
        Assert.Contains("Block bitmap differences", problem.Message);
        Assert.True(Array.IndexOf(ev, problem) < Array.IndexOf(ev, repair));
        Assert.Equal(problem.CorrelationId, repair.CorrelationId);
        Assert.True(StatusComputer.IsGoodCheck(repair));
    }

    [Fact]
    public void A_policy_that_allows_no_offline_action_says_it_cannot_check_and_touches_nothing()
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var host = new ScriptedHost();
        using var p = new HealingPipeline(hub, new MemoryConsole(), host, (fs, wanted) => ScriptedHost.Facts(wanted) with { Path = fs.Path });
        var fs = new WatchedFilesystem(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev, EffectivePolicy.Defaults);   // ext4 report
        HealPlan? plan = null;
        using var done = new ManualResetEventSlim();
        p.SubmitCheck(fs, "scheduled check", CheckBudget.None, (o, pl) => { plan = pl; Assert.Null(o); done.Set(); });
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        Assert.Empty(host.Calls);
        Assert.Equal(HealDecision.Report, plan!.Decision);
        var d = Assert.Single(sink.Snapshot(), e => e.Class == EventClass.Diagnostic);
        Assert.Contains("scheduled check not possible", d.Message);
        Assert.Contains("ext4.policy is report", d.Message);
    }
}
