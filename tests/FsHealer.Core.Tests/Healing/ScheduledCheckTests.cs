using FsHealer.Config;
using FsHealer.Healing;

namespace FsHealer.Core.Tests.Healing;

public class IdleRuleTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-05T12:00:00Z");

    [Fact]
    public void Parses_the_block_stat_file()
    {
        // /sys/block/loop0/stat as the kernel prints it (fields padded with spaces)
        const string text = "     120        0     9600       35       40       10      800       12        0       60       47        0        0        0        0        0        0\n";
        Assert.True(IdleRule.TryParseStat(text, T0, out var s));
        Assert.Equal(9600ul, s.SectorsRead);
        Assert.Equal(800ul, s.SectorsWritten);
        Assert.False(IdleRule.TryParseStat("1 2 3", T0, out _));
        Assert.False(IdleRule.TryParseStat("a b c d e f g h", T0, out _));
        Assert.False(IdleRule.TryParseStat("", T0, out _));
    }

    [Fact]
    public void Rate_is_bytes_per_second_between_two_samples()
    {
        var a = new IoSample(T0, 1000, 2000);
        var b = new IoSample(T0.AddSeconds(4), 1000 + 4096, 2000 + 4096);   // 8192 sectors = 4 MiB in 4 s
        Assert.Equal(1024.0 * 1024, IdleRule.Rate(a, b));
        Assert.Null(IdleRule.Rate(null, b));                               // one sample: unknown
        Assert.Null(IdleRule.Rate(a, a));                                  // no time passed
        Assert.Null(IdleRule.Rate(b, a));                                  // went backwards (device replaced, clock)
        Assert.Null(IdleRule.Rate(a, new IoSample(T0.AddSeconds(1), 10, 2000)));
    }

    [Fact]
    public void Idle_means_known_and_at_most_the_threshold()
    {
        Assert.True(IdleRule.IsIdle(0, 0));
        Assert.True(IdleRule.IsIdle(1024, 1024));
        Assert.False(IdleRule.IsIdle(1025, 1024));
        Assert.False(IdleRule.IsIdle(null, long.MaxValue));   // unknown is not idle
    }

    [Theory]
    [InlineData("01:00-05:00", "03:00", true)]
    [InlineData("01:00-05:00", "05:00", false)]
    [InlineData("01:00-05:00", "00:59", false)]
    [InlineData("22:00-04:00", "23:30", true)]
    [InlineData("22:00-04:00", "02:00", true)]
    [InlineData("22:00-04:00", "12:00", false)]
    [InlineData("00:00-00:00", "12:00", true)]
    public void Window_contains(string window, string at, bool inside)
    {
        var w = CheckWindow.Parse(window, out var err);
        Assert.Null(err);
        Assert.Equal(inside, w!.Value.Contains(TimeOnly.Parse(at).ToTimeSpan()));
        Assert.Equal(window, w.Value.ToString());
    }

    [Theory]
    [InlineData("1-5")]
    [InlineData("25:00-05:00")]
    [InlineData("01:00")]
    [InlineData("01:00-05:00-06:00")]
    public void Bad_windows_are_refused_with_the_format(string text)
    {
        Assert.Null(CheckWindow.Parse(text, out var err));
        Assert.Contains("HH:MM-HH:MM", err);
        Assert.Contains(text, err);
    }
}

public class ScheduledCheckPlannerTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = DateTimeOffset.Parse("2026-12-05T12:00:00Z");
        public override DateTimeOffset GetUtcNow() => Now;
        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }

    private const long Threshold = 1 << 20;

    private static CheckCandidate C(string id, string[] disks, bool overdue = true, double? rate = 0, bool enabled = true, CheckWindow? window = null,
        TimeSpan? limit = null) =>
        new(id, "/mnt/" + id, "ext4", disks, overdue, enabled, rate, Threshold, window, limit ?? TimeSpan.FromDays(30));

    private static CheckWait W(IReadOnlyList<CheckVerdict> v, string id) => v.Single(x => x.FsId == id).Wait;

    [Fact]
    public void An_overdue_idle_filesystem_is_started_once()
    {
        var t = new ManualTime();
        var p = new ScheduledCheckPlanner(t);
        var v = p.Tick([C("a", ["loop0"])]);
        Assert.Equal(CheckWait.Start, W(v, "a"));
        Assert.Equal(1, p.Running);
        Assert.Equal(CheckWait.Running, W(p.Tick([C("a", ["loop0"])]), "a"));   // not twice while it runs
    }

    [Fact]
    public void Not_due_disabled_busy_and_unknown_rates_wait()
    {
        var p = new ScheduledCheckPlanner(new ManualTime());
        var v = p.Tick([
            C("fresh", ["a"], overdue: false),
            C("off", ["b"], enabled: false),
            C("busy", ["c"], rate: 5 << 20),
            C("new", ["d"], rate: null),
        ]);
        Assert.Equal(CheckWait.NotDue, W(v, "fresh"));
        Assert.Equal(CheckWait.Disabled, W(v, "off"));
        Assert.Equal(CheckWait.NotIdle, W(v, "busy"));
        Assert.Contains("5120 KiB/s", v.Single(x => x.FsId == "busy").Why);
        Assert.Equal(CheckWait.Measuring, W(v, "new"));
        Assert.Equal(0, p.Running);
    }

    [Fact]
    public void A_busy_filesystem_is_checked_once_it_is_idle()
    {
        var p = new ScheduledCheckPlanner(new ManualTime());
        Assert.Equal(CheckWait.NotIdle, W(p.Tick([C("a", ["loop0"], rate: 40 << 20)]), "a"));
        Assert.Equal(CheckWait.NotIdle, W(p.Tick([C("a", ["loop0"], rate: Threshold + 1)]), "a"));
        Assert.Equal(CheckWait.Start, W(p.Tick([C("a", ["loop0"], rate: Threshold)]), "a"));
    }

    [Fact]
    public void Two_filesystems_on_one_disk_are_never_checked_at_once()
    {
        var p = new ScheduledCheckPlanner(new ManualTime());
        // two partitions of loop0, and one filesystem on another disk
        CheckCandidate[] all = [C("p1", ["loop0p1", "loop0"]), C("p2", ["loop0p2", "loop0"]), C("other", ["loop1"])];
        var v = p.Tick(all);
        Assert.Equal(CheckWait.Start, W(v, "p1"));          // the first (most overdue) one
        Assert.Equal(CheckWait.DiskBusy, W(v, "p2"));
        Assert.Contains("loop0", v.Single(x => x.FsId == "p2").Why);
        Assert.Equal(CheckWait.Start, W(v, "other"));       // another disk: in parallel
        Assert.Equal(CheckWait.DiskBusy, W(p.Tick(all), "p2"));
        p.Finished("p1", verified: true);
        v = p.Tick([C("p1", ["loop0p1", "loop0"], overdue: false), all[1], all[2]]);
        Assert.Equal(CheckWait.Start, W(v, "p2"));
        Assert.Equal(CheckWait.Running, W(v, "other"));
    }

    [Fact]
    public void Loop_devices_backed_by_one_disk_share_it()
    {
        var p = new ScheduledCheckPlanner(new ManualTime());
        var v = p.Tick([C("a", ["loop3", "vda1", "vda"]), C("b", ["loop4", "vda1", "vda"])]);
        Assert.Equal(CheckWait.Start, W(v, "a"));
        Assert.Equal(CheckWait.DiskBusy, W(v, "b"));
    }

    [Fact]
    public void A_failed_attempt_is_retried_after_the_retry_interval_and_a_verified_one_at_once_when_due()
    {
        var t = new ManualTime();
        var p = new ScheduledCheckPlanner(t);
        var limit = TimeSpan.FromMinutes(10);
        Assert.Equal(CheckWait.Start, W(p.Tick([C("a", ["x"], limit: limit)]), "a"));
        p.Finished("a", verified: false);                   // e.g. the unmount was refused (busy)
        Assert.Equal(CheckWait.RetryLater, W(p.Tick([C("a", ["x"], limit: limit)]), "a"));
        t.Now += limit - TimeSpan.FromSeconds(1);
        Assert.Equal(CheckWait.RetryLater, W(p.Tick([C("a", ["x"], limit: limit)]), "a"));
        t.Now += TimeSpan.FromSeconds(1);
        Assert.Equal(CheckWait.Start, W(p.Tick([C("a", ["x"], limit: limit)]), "a"));
        p.Finished("a", verified: true);
        // verified: due again only when freshness says so, with no retry wait
        Assert.Equal(CheckWait.Start, W(p.Tick([C("a", ["x"], limit: limit)]), "a"));
    }

    [Fact]
    public void Retry_interval_is_the_limit_within_bounds()
    {
        Assert.Equal(ScheduledCheckPlanner.MinRetry, ScheduledCheckPlanner.RetryInterval(TimeSpan.FromSeconds(2)));
        Assert.Equal(TimeSpan.FromMinutes(20), ScheduledCheckPlanner.RetryInterval(TimeSpan.FromMinutes(20)));
        Assert.Equal(ScheduledCheckPlanner.MaxRetry, ScheduledCheckPlanner.RetryInterval(TimeSpan.FromDays(30)));
        Assert.Equal(ScheduledCheckPlanner.MaxRetry, ScheduledCheckPlanner.RetryInterval(null));
    }

    [Fact]
    public void Cannot_check_is_said_once_until_forgotten()
    {
        var p = new ScheduledCheckPlanner(new ManualTime());
        Assert.Equal(CheckWait.Start, W(p.Tick([C("root", ["vda1"])]), "root"));
        p.Finished("root", verified: false, cannotCheck: true);
        var changed = new List<CheckVerdict>();
        Assert.Equal(CheckWait.CannotCheck, W(p.Tick([C("root", ["vda1"])], changed), "root"));
        Assert.Single(changed);
        changed.Clear();
        Assert.Equal(CheckWait.CannotCheck, W(p.Tick([C("root", ["vda1"])], changed), "root"));
        Assert.Empty(changed);                               // the same verdict is not reported again
        p.Forget("root");                                    // a reload changed its policy
        Assert.Equal(CheckWait.Start, W(p.Tick([C("root", ["vda1"])]), "root"));
    }

    [Fact]
    public void Outside_the_window_nothing_starts()
    {
        var t = new ManualTime { Now = DateTimeOffset.Parse("2026-12-05T12:00:00Z") };
        var p = new ScheduledCheckPlanner(t);
        var night = CheckWindow.Parse("01:00-05:00", out _);
        Assert.Equal(CheckWait.OutsideWindow, W(p.Tick([C("a", ["x"], window: night)]), "a"));
        t.Now = DateTimeOffset.Parse("2026-12-06T01:30:00Z");
        Assert.Equal(CheckWait.Start, W(p.Tick([C("a", ["x"], window: night)]), "a"));
    }

    [Fact]
    public void Property_no_two_running_checks_ever_share_a_disk()
    {
        var rnd = new Random(17);
        var t = new ManualTime();
        var p = new ScheduledCheckPlanner(t);
        var disksOf = Enumerable.Range(0, 12).ToDictionary(i => $"fs{i}", i => new[] { $"part{i}", $"disk{rnd.Next(4)}" });
        var running = new Dictionary<string, string[]>();
        for (int step = 0; step < 500; step++)
        {
            t.Now += TimeSpan.FromMinutes(1);
            var cands = disksOf.Select(kv => C(kv.Key, kv.Value, overdue: rnd.Next(3) > 0, rate: rnd.Next(3) == 0 ? 50 << 20 : 0, limit: TimeSpan.FromMinutes(2))).ToList();
            foreach (var v in p.Tick(cands).Where(v => v.Wait == CheckWait.Start)) running[v.FsId] = disksOf[v.FsId];
            var used = running.Values.SelectMany(d => d).ToList();
            Assert.Equal(used.Count, used.Distinct().Count());
            Assert.Equal(running.Count, p.Running);
            foreach (var id in running.Keys.Where(_ => rnd.Next(2) == 0).ToList())
            {
                p.Finished(id, verified: rnd.Next(2) == 0);
                running.Remove(id);
            }
        }
    }
}

public class ScheduledCheckPlanTests
{
    private static readonly FilesystemIdentity Ext4 = new(FilesystemIdentity.DevKeyOf(7, 3), "ext4", Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae"));
    private static readonly FilesystemIdentity Xfs = new(FilesystemIdentity.DevKeyOf(7, 4), "xfs", Guid.Parse("d5f355a5-f04e-420b-a3e5-b4b99e9635ae"));

    private static OfflineFacts F(FilesystemIdentity id, HealAction wanted) => new()
    {
        Identity = id, Path = "/mnt/x", Device = "/dev/loop3", Wanted = wanted, CanIdleIo = true,
        Remount = RemountSpec.From(new FsHealer.Mounts.MountEntry { FsType = id.FsType, MountOptions = "rw,relatime", SuperOptions = "rw" }),
    };

    [Fact]
    public void Offline_check_surveys_first_and_repairs_only_after()
    {
        var plan = OfflinePlanner.PlanCheck(F(Xfs, HealAction.OfflineRepair), new CheckBudget(true, TimeSpan.FromHours(1)));
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.True(plan.IsCheck);
        Assert.True(plan.Budget.IdleIoClass);
        Assert.Equal(TimeSpan.FromHours(1), plan.Budget.MaxDuration);
        var kinds = plan.Steps.Select(s => s.GetType().Name).ToList();
        Assert.Equal(["ProveMountStep", "UnmountStep", "ProveDeviceStep", "SurveyStep", "ProveDeviceStep", "FsckStep", "ProveDeviceStep", "FsckStep", "RemountStep", "ProveRemountedStep"], kinds);
        Assert.Contains("xfs_repair -n /dev/loop3", plan.Steps[3].Description);
        // every tool run on the device is preceded by a proof of identity
        for (int i = 0; i < plan.Steps.Count; i++)
            if (plan.Steps[i] is SurveyStep or FsckStep) Assert.IsType<ProveDeviceStep>(plan.Steps[i - 1]);
    }

    [Fact]
    public void Xfs_with_online_scrub_is_checked_mounted_whatever_the_offline_policy()
    {
        foreach (var wanted in new[] { HealAction.Report, HealAction.OfflineRepair })
        {
            var plan = OfflinePlanner.PlanCheck(F(Xfs, wanted) with { OnlineScrub = true }, new CheckBudget(true, null));
            Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
            Assert.Equal(["ProveMountStep", "OnlineCheckStep"], plan.Steps.Select(s => s.GetType().Name));
            var oc = Assert.IsType<OnlineCheckStep>(plan.Steps[1]);
            Assert.Equal("xfs_scrub", oc.Program);
            Assert.Equal(["-n", "/mnt/x"], oc.Arguments);
            Assert.DoesNotContain(plan.Steps, s => s is UnmountStep);
        }
        // ext4 has no online scrub: the flag changes nothing
        Assert.Contains(OfflinePlanner.PlanCheck(F(Ext4, HealAction.OfflineRepair) with { OnlineScrub = true }, CheckBudget.None).Steps, s => s is UnmountStep);
    }

    [Fact]
    public void Without_ionice_the_budget_keeps_only_the_duration()
    {
        var plan = OfflinePlanner.PlanCheck(F(Ext4, HealAction.OfflineRepair) with { CanIdleIo = false }, new CheckBudget(true, null));
        Assert.False(plan.Budget.IdleIoClass);
    }

    [Fact]
    public void Ext4_with_the_schedule_policy_gets_the_boot_time_check()
    {
        var plan = OfflinePlanner.PlanCheck(F(Ext4, HealAction.Schedule), CheckBudget.None);
        Assert.Equal(HealDecision.Schedule, plan.Decision);
        Assert.IsType<ScheduleStep>(Assert.Single(plan.Steps));
    }

    [Fact]
    public void The_root_filesystem_falls_back_to_the_boot_time_check_or_cannot_be_checked()
    {
        var ext4 = OfflinePlanner.PlanCheck(F(Ext4, HealAction.OfflineRepair) with { IsRootFilesystem = true }, CheckBudget.None);
        Assert.Equal(HealDecision.Schedule, ext4.Decision);
        Assert.Contains(ext4.Reasons, r => r.Contains("root filesystem"));
        var xfs = OfflinePlanner.PlanCheck(F(Xfs, HealAction.OfflineRepair) with { IsRootFilesystem = true }, CheckBudget.None);
        Assert.Equal(HealDecision.Report, xfs.Decision);
        Assert.Contains(xfs.Reasons, r => r.Contains("cannot check xfs"));
    }

    [Fact]
    public void A_policy_without_offline_action_says_which_setting()
    {
        var xfs = OfflinePlanner.PlanCheck(F(Xfs, HealAction.Report), CheckBudget.None);
        Assert.Equal(HealDecision.Report, xfs.Decision);
        Assert.Contains(xfs.Reasons, r => r.Contains("xfs.offline_repair is false"));
        var ext4 = OfflinePlanner.PlanCheck(F(Ext4, HealAction.Report), CheckBudget.None);
        Assert.Contains(ext4.Reasons, r => r.Contains("ext4.policy is report"));
    }

    [Fact]
    public void A_moved_or_replaced_filesystem_is_refused()
    {
        var plan = OfflinePlanner.PlanCheck(F(Ext4, HealAction.OfflineRepair) with { NotTheTarget = "another filesystem is mounted there" }, CheckBudget.None);
        Assert.Equal(HealDecision.Refuse, plan.Decision);
    }
}

public class ScheduledCheckConfigTests
{
    [Fact]
    public void The_section_is_read_into_the_policy_and_rules_override_it()
    {
        var r = ConfigLoader.Parse("""
            { "max_check_age_seconds": 86400,
              "scheduled_check": { "enabled": true, "idle_io_limit": 65536, "max_duration_seconds": 600, "window": "01:00-05:00" },
              "rules": [ { "name": "busy", "match": { "mount_point": "/srv" }, "scheduled_check": { "enabled": false } },
                         { "name": "nolimit", "match": { "mount_point": "/data" }, "scheduled_check": { "max_duration_seconds": 0 } } ] }
            """);
        Assert.Empty(r.Errors);
        var g = r.Config!.Global;
        Assert.True(g.ScheduledCheck);
        Assert.Equal(65536, g.ScheduledCheckIdleIoLimit);
        Assert.Equal(TimeSpan.FromMinutes(10), g.ScheduledCheckMaxDuration);
        Assert.Equal("01:00-05:00", g.ScheduledCheckWindow.ToString());
        Assert.Contains("scheduled when idle, 01:00-05:00", g.Describe("ext4"));
        var busy = r.Config.PolicyFor(new FsIdentity("/srv", "xfs"));
        Assert.False(busy.ScheduledCheck);
        Assert.Equal(65536, busy.ScheduledCheckIdleIoLimit);
        var data = r.Config.PolicyFor(new FsIdentity("/data", "xfs"));
        Assert.True(data.ScheduledCheck);
        Assert.Null(data.ScheduledCheckMaxDuration);
    }

    [Fact]
    public void Defaults_are_off_with_a_budget()
    {
        var p = ConfigLoader.Parse("{}").Config!.Global;
        Assert.False(p.ScheduledCheck);
        Assert.Equal(EffectivePolicy.DefaultIdleIoLimit, p.ScheduledCheckIdleIoLimit);
        Assert.Equal(EffectivePolicy.DefaultScheduledCheckMaxDuration, p.ScheduledCheckMaxDuration);
        Assert.Null(p.ScheduledCheckWindow);
    }

    [Theory]
    [InlineData("""{ "max_check_age_seconds": 60, "scheduled_check": { "idle_io_limit": -1 } }""", "$.scheduled_check.idle_io_limit", "got -1")]
    [InlineData("""{ "max_check_age_seconds": 60, "scheduled_check": { "max_duration_seconds": -5 } }""", "$.scheduled_check.max_duration_seconds", "got -5")]
    [InlineData("""{ "max_check_age_seconds": 60, "scheduled_check": { "window": "night" } }""", "$.scheduled_check.window", "HH:MM-HH:MM")]
    [InlineData("""{ "scheduled_check": { "enabled": true } }""", "$.scheduled_check.enabled", "needs max_check_age_seconds")]
    [InlineData("""{ "rules": [ { "match": { "fs_type": "xfs" }, "scheduled_check": { "enabled": true } } ] }""", "$.rules[0].scheduled_check.enabled", "needs max_check_age_seconds")]
    [InlineData("""{ "max_check_age_seconds": 60, "scheduled_check": { "enable": true } }""", null, "enable")]
    public void Bad_values_are_refused_with_a_clear_message(string json, string? path, string text)
    {
        var r = ConfigLoader.Parse(json);
        Assert.Null(r.Config);
        var e = Assert.Single(r.Errors);
        if (path is not null) Assert.Equal(path, e.JsonPath);
        Assert.Contains(text, e.ToString());
    }

    [Fact]
    public void Sizes_and_durations_take_units()
    {
        var r = ConfigLoader.Parse("""{ "max_check_age_seconds": "30d", "scheduled_check": { "enabled": true, "idle_io_limit": "512K", "max_duration_seconds": "2h" } }""");
        Assert.Empty(r.Errors);
        Assert.Equal(512 * 1024, r.Config!.Global.ScheduledCheckIdleIoLimit);
        Assert.Equal(TimeSpan.FromHours(2), r.Config.Global.ScheduledCheckMaxDuration);
    }

    [Fact]
    public void A_rule_may_enable_it_with_the_global_limit()
    {
        var r = ConfigLoader.Parse("""{ "max_check_age_seconds": 60, "rules": [ { "match": { "fs_type": "xfs" }, "scheduled_check": { "enabled": true } } ] }""");
        Assert.Empty(r.Errors);
        Assert.True(r.Config!.PolicyFor(new FsIdentity("/x", "xfs")).ScheduledCheck);
    }
}
