using FsHealer.Config;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Status;

public class AppliedPolicyTests
{
    private const string M = "/mnt/a";
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly EffectivePolicy Offline = new() { Ext4 = Ext4Policy.OfflineRepair, Rule = "(defaults)" };

    private static FsEvent Ev(EventClass c, int minutes, string? msg = null, string? cid = null, string? structure = null) => new()
    {
        Class = c, Severity = Severity.Info, Mount = M, FsType = "ext4", Time = T0.AddMinutes(minutes),
        Message = msg ?? $"{M}: {c}", CorrelationId = cid, Structure = structure,
    };

    /// <summary>Exactly what the daemon records on an attach (FsHealerDaemon: Attached, then the policy Decision).</summary>
    private static FsEvent[] Attach(int minutes, EffectivePolicy p) =>
    [
        Ev(EventClass.Attached, minutes, $"{M}: ext4 filesystem attached (dev 7:3, source /dev/loop3); ext4 errors via fanotify"),
        Ev(EventClass.Decision, minutes, $"{M}: policy: {p.Describe("ext4")}", structure: p.ActionName("ext4")),
    ];

    [Fact]
    public void The_daemons_decision_after_the_attach_wins_over_the_configuration()
    {
        var a = AppliedPolicySelector.Select(Attach(5, Offline), EffectivePolicy.Defaults, "ext4");
        Assert.Equal(PolicySource.Daemon, a.Source);
        Assert.Equal("ext4: offline repair (unmount, e2fsck, remount) (rule (defaults))", a.Text);
        Assert.Equal("offline-repair", a.Action);
        Assert.Equal("(defaults)", a.Rule);
        Assert.Equal(T0.AddMinutes(5), a.Since);
        Assert.Equal("daemon", a.SourceName);
        Assert.Equal("ext4: offline repair (unmount, e2fsck, remount) (rule (defaults)) — applied by the daemon since 2026-11-21T12:05:00Z", a.Line);
    }

    [Fact]
    public void No_decision_means_the_configuration_with_a_note()
    {
        var cfg = new EffectivePolicy { Ext4 = Ext4Policy.Schedule, Rule = "scratch" };
        foreach (var events in new FsEvent[][] { [], [Ev(EventClass.IoError, 1)], [Ev(EventClass.Attached, 1)] })
        {
            var a = AppliedPolicySelector.Select(events, cfg, "ext4");
            Assert.Equal(PolicySource.Config, a.Source);
            Assert.Equal("ext4: schedule e2fsck at next boot (rule scratch)", a.Text);
            Assert.Equal("schedule", a.Action);
            Assert.Equal("scratch", a.Rule);
            Assert.Null(a.Since);
            Assert.Equal("config", a.SourceName);
            Assert.EndsWith("(from the configuration; the daemon has not attached this filesystem)", a.Line);
        }
    }

    [Fact]
    public void An_old_decision_before_a_reattach_does_not_win()
    {
        // attached with offline-repair, then re-attached (the daemon restarted) and no Decision recorded yet
        var events = Attach(1, Offline).Append(Ev(EventClass.Attached, 10)).ToList();
        Assert.Equal(PolicySource.Config, AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4").Source);
        // the re-attach's own Decision wins over the old one
        var report = new EffectivePolicy { Rule = "r2" };
        events.Add(Ev(EventClass.Decision, 10, $"{M}: policy: {report.Describe("ext4")}", structure: "report"));
        var a = AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4");
        Assert.Equal((PolicySource.Daemon, "report", "r2", T0.AddMinutes(10)), (a.Source, a.Action, a.Rule, a.Since));
    }

    [Fact]
    public void A_detach_after_the_attach_means_the_current_mount_is_not_attached()
    {
        var events = Attach(1, Offline).Append(Ev(EventClass.Detached, 2)).ToList();
        Assert.Equal(PolicySource.Config, AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4").Source);
        // remounted (the offline repair's remount: detach and attach in the same millisecond, in recording order)
        events.AddRange(Attach(2, Offline));
        Assert.Equal(PolicySource.Daemon, AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4").Source);
    }

    [Fact]
    public void Same_millisecond_events_keep_their_recorded_order_and_out_of_order_times_are_sorted()
    {
        // Detached recorded after the Attached+Decision of the same millisecond: not attached
        var events = Attach(1, Offline).Append(Ev(EventClass.Detached, 1)).ToList();
        Assert.Equal(PolicySource.Config, AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4").Source);
        // given newest first by time, still the latest attach counts
        var reversed = Attach(1, EffectivePolicy.Defaults).Concat(Attach(5, Offline)).Reverse().ToList();
        // (reversal also swaps each attach with its Decision; only the sort by time can fix the pairs' order, so
        // give each Decision a later millisecond than its attach)
        reversed = reversed.Select(e => e.Class == EventClass.Decision ? e with { Time = e.Time.AddMilliseconds(1) } : e).ToList();
        Assert.Equal("offline-repair", AppliedPolicySelector.Select(reversed, EffectivePolicy.Defaults, "ext4").Action);
    }

    [Fact]
    public void Heal_decisions_and_other_mounts_lines_are_not_policy_decisions()
    {
        var events = new List<FsEvent>(Attach(1, Offline))
        {
            Ev(EventClass.Decision, 2, $"{M}: decision (Report policy, rule x): report only", cid: "abc"),
            Ev(EventClass.Decision, 3, $"{M}: policy: something", cid: "abc"),
            Ev(EventClass.Decision, 4, "/mnt/other: policy: ext4: report errors only (rule (defaults))"),
        };
        var a = AppliedPolicySelector.Select(events, EffectivePolicy.Defaults, "ext4");
        Assert.Equal("offline-repair", a.Action);
        Assert.False(AppliedPolicySelector.IsPolicyDecision(events[2]));
        Assert.False(AppliedPolicySelector.IsPolicyDecision(events[3]));
        Assert.False(AppliedPolicySelector.IsPolicyDecision(events[4]));
        Assert.False(AppliedPolicySelector.IsPolicyDecision(Ev(EventClass.Decision, 0, $"{M}: policy: ")));
        Assert.True(AppliedPolicySelector.IsPolicyDecision(events[1]));
    }

    [Fact]
    public void A_decision_without_structure_from_an_older_daemon_still_counts_and_deferred_is_its_own_source()
    {
        var old = new[] { Ev(EventClass.Deferred, 1), Ev(EventClass.Decision, 1, $"{M}: policy: xfs: online repair of sick metadata (rule fast)") };
        var a = AppliedPolicySelector.Select(old, EffectivePolicy.Defaults, "xfs");
        Assert.Equal((PolicySource.Deferred, "deferred", null, "fast"), (a.Source, a.SourceName, a.Action, a.Rule));
        Assert.Contains("not applied: the daemon defers this filesystem to another healer", a.Line);
    }

    [Fact]
    public void Action_names_and_rule_parsing()
    {
        var p = new EffectivePolicy { Xfs = XfsPolicy.Repair, Ext4 = Ext4Policy.OfflineRepair, BtrfsReadOnlyScrub = true, Rule = "r" };
        Assert.Equal(("repair", "offline-repair", "read-only-scrub"), (p.ActionName("xfs"), p.ActionName("ext4"), p.ActionName("btrfs")));
        Assert.Equal("report", (p with { BtrfsAutoScrub = false }).ActionName("btrfs"));
        Assert.Equal("scrub", EffectivePolicy.Defaults.ActionName("btrfs"));
        Assert.Equal("unsupported", p.ActionName("vfat"));
        foreach (var fs in new[] { "xfs", "ext4", "btrfs" })
            Assert.Equal("r", AppliedPolicySelector.RuleOf(p.Describe(fs)));
        Assert.Equal("(defaults)", AppliedPolicySelector.RuleOf(EffectivePolicy.Defaults.Describe("ext4")));
        Assert.Null(AppliedPolicySelector.RuleOf("no rule here"));
    }
}
