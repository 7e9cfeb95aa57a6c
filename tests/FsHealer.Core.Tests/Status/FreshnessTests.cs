using FsHealer.Config;
using FsHealer.Service.Metrics;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Core.Tests.Status;

/// <summary>Check freshness: max_check_age_seconds in the configuration, the status verdict, the daemon's
/// once-per-episode CheckOverdue event, and the metrics.</summary>
public class FreshnessTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);
    private static readonly LevelState Clean = new() { Readable = true, ErrorCount = 0 };
    private static readonly EffectivePolicy Month = EffectivePolicy.Defaults with { MaxCheckAge = TimeSpan.FromDays(30) };

    private static FsEvent Ev(EventClass c, DateTimeOffset t, Severity s = Severity.Info, string mount = "/mnt/a") =>
        new() { Class = c, Severity = s, Mount = mount, FsType = "ext4", Message = c.ToString(), Time = t };

    // ---- configuration ----

    [Fact]
    public void Config_global_and_rule_values_overlay_and_zero_turns_it_off()
    {
        var r = ConfigLoader.Parse("""
            { "max_check_age_seconds": 2592000,
              "rules": [ { "name": "scratch", "match": { "mount_point": "/scratch" }, "max_check_age_seconds": 0 },
                         { "name": "archive", "match": { "label": "archive" }, "max_check_age_seconds": 86400 },
                         { "name": "other", "match": { "fs_type": "btrfs" }, "poll_interval_seconds": 5 } ] }
            """);
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        var c = r.Config!;
        Assert.Equal(TimeSpan.FromDays(30), c.Global.MaxCheckAge);
        Assert.Equal(TimeSpan.FromDays(30), c.PolicyFor(new FsIdentity("/srv", "xfs")).MaxCheckAge);
        Assert.Null(c.PolicyFor(new FsIdentity("/scratch", "xfs")).MaxCheckAge);
        Assert.Equal(Day, c.PolicyFor(new FsIdentity("/a", "ext4", Label: "archive")).MaxCheckAge);
        Assert.Equal(TimeSpan.FromDays(30), c.PolicyFor(new FsIdentity("/b", "btrfs")).MaxCheckAge); // rule without the key keeps the global
        Assert.Contains("a successful check at least every 30d", c.Global.Describe("xfs"));
        Assert.Contains("\"max_check_age_seconds\": 2592000", c.ToJson());
    }

    [Fact]
    public void Config_default_is_off()
    {
        var c = ConfigLoader.Parse("{}").Config!;
        Assert.Null(c.Global.MaxCheckAge);
        Assert.DoesNotContain("successful check", c.Global.Describe("ext4"));
    }

    [Theory]
    [InlineData("{ \"max_check_age_seconds\": -1 }", "$.max_check_age_seconds", "got -1")]
    [InlineData("{ \"max_check_age_seconds\": 9223372036854775807 }", "$.max_check_age_seconds", "100 years")]
    [InlineData("{ \"rules\": [ { \"match\": { \"fs_type\": \"*\" }, \"max_check_age_seconds\": -5 } ] }", "$.rules[0].max_check_age_seconds", "got -5")]
    public void Config_bad_values_name_the_key(string json, string path, string text)
    {
        var r = ConfigLoader.Parse(json, "f.json");
        Assert.False(r.Ok);
        var e = Assert.Single(r.Errors);
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(text, e.Message);
        Assert.Contains("must be 0 (off) or a positive number of seconds", e.ToString());
    }

    [Fact]
    public void Config_string_value_is_a_type_error_with_position()
    {
        var r = ConfigLoader.Parse("{\n  \"max_check_age_seconds\": \"thirty\"\n}", "f.json");
        var e = Assert.Single(r.Errors);
        Assert.Equal(2, e.Line);
        Assert.Equal(28, e.Column);
        Assert.Contains("max_check_age_seconds", e.JsonPath);
        // a duration with a unit is fine
        Assert.Equal(TimeSpan.FromDays(30), ConfigLoader.Parse("{ \"max_check_age_seconds\": \"30d\" }").Config!.Global.MaxCheckAge);
    }

    // ---- the pure verdict ----

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(42, "42s")]
    [InlineData(60, "1m")]
    [InlineData(423, "7m 3s")]
    [InlineData(3600 * 5 + 12 * 60, "5h 12m")]
    [InlineData(86400 * 30, "30d")]
    [InlineData(86400 * 41 + 3 * 3600 + 59, "41d 3h")]
    [InlineData(-5, "0s")]
    public void FormatAge(long seconds, string text) => Assert.Equal(text, Freshness.FormatAge(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Evaluate_rules()
    {
        var limit = TimeSpan.FromDays(30);
        var now = T0;
        Assert.False(Freshness.Evaluate(now - 29 * Day, null, limit, now).Overdue);
        Assert.False(Freshness.Evaluate(now - limit, null, limit, now).Overdue); // exactly the limit is still fresh
        var v = Freshness.Evaluate(now - 41 * Day, null, limit, now);
        Assert.True(v.Overdue);
        Assert.Equal(41 * Day, v.Age);
        Assert.Equal("last successful check 41d ago, older than max_check_age 30d", v.Reason);
        Assert.False(Freshness.Evaluate(now - 41 * Day, null, null, now).Overdue);       // no limit
        Assert.False(Freshness.Evaluate(now - 41 * Day, null, TimeSpan.Zero, now).Overdue);
        Assert.False(Freshness.Evaluate(now + Day, null, limit, now).Overdue);            // clock went backwards
        // never checked: the limit is the grace period from the first attach
        Assert.False(Freshness.Evaluate(null, null, limit, now).Overdue);
        Assert.False(Freshness.Evaluate(null, now - 10 * Day, limit, now).Overdue);
        var n = Freshness.Evaluate(null, now - 35 * Day, limit, now);
        Assert.True(n.Overdue);
        Assert.Equal("no successful check recorded since first attached 35d ago, longer than max_check_age 30d", n.Reason);
        // a good check wins over the attach time
        Assert.False(Freshness.Evaluate(now - Day, now - 100 * Day, limit, now).Overdue);
    }

    // ---- status ----

    [Fact]
    public void Status_old_good_check_is_degraded_with_the_reason()
    {
        var now = T0;
        var s = StatusComputer.Compute([Ev(EventClass.Attached, now - 60 * Day), Ev(EventClass.RepairSucceeded, now - 41 * Day)], Clean, Month, now);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.True(s.CheckOverdue);
        Assert.Equal(TimeSpan.FromDays(30), s.MaxCheckAge);
        Assert.Equal(["last successful check 41d ago, older than max_check_age 30d"], s.Reasons);
    }

    [Fact]
    public void Status_recent_good_check_or_no_limit_is_healthy()
    {
        var now = T0;
        var events = new[] { Ev(EventClass.Attached, now - 60 * Day), Ev(EventClass.ScrubFinished, now - 29 * Day) };
        var fresh = StatusComputer.Compute(events, Clean, Month, now);
        Assert.Equal(Health.Healthy, fresh.Health);
        Assert.False(fresh.CheckOverdue);
        var noLimit = StatusComputer.Compute([Ev(EventClass.ScrubFinished, now - 400 * Day)], Clean, EffectivePolicy.Defaults, now);
        Assert.Equal(Health.Healthy, noLimit.Health);
        Assert.Null(noLimit.MaxCheckAge);
    }

    [Fact]
    public void Status_scrub_with_errors_is_not_a_good_check()
    {
        var now = T0;
        var s = StatusComputer.Compute([Ev(EventClass.ScrubFinished, now - 40 * Day), Ev(EventClass.ScrubFinished, now - Day, Severity.Warning)], Clean, Month, now);
        Assert.True(s.CheckOverdue);
        Assert.Equal(now - 40 * Day, s.LastGoodCheck);
    }

    [Fact]
    public void Status_level_last_good_check_from_history_counts()
    {
        var now = T0;
        // the events (newest 5000) have only an old check; the history's newest good check is recent
        var s = StatusComputer.Compute([Ev(EventClass.RepairSucceeded, now - 50 * Day)], Clean with { LastGoodCheck = now - 2 * Day }, Month, now);
        Assert.False(s.CheckOverdue);
        Assert.Equal(Health.Healthy, s.Health);
    }

    [Fact]
    public void Status_never_checked_after_grace_from_first_attach()
    {
        var now = T0;
        // first attach recorded 35 days ago (from the history query), only recent attaches in the events
        var s = StatusComputer.Compute([Ev(EventClass.Attached, now - Day)], Clean with { FirstAttached = now - 35 * Day }, Month, now);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Equal(["no successful check recorded since first attached 35d ago, longer than max_check_age 30d"], s.Reasons);
        // within the grace period
        Assert.Equal(Health.Healthy, StatusComputer.Compute([Ev(EventClass.Attached, now - 3 * Day)], Clean, Month, now).Health);
        // no attach and no check recorded: nothing known, not overdue (and no history at all stays "unknown" as before)
        Assert.False(StatusComputer.Compute([], Clean, Month, now).CheckOverdue);
        Assert.Equal(Health.Unknown, StatusComputer.Compute([], new LevelState(), Month, now).Health);
    }

    [Fact]
    public void Status_overdue_does_not_hide_worse_health()
    {
        var now = T0;
        var s = StatusComputer.Compute([Ev(EventClass.RepairSucceeded, now - 41 * Day), Ev(EventClass.RepairFailed, now - Day, Severity.Error)], Clean, Month, now);
        Assert.Equal(Health.Error, s.Health);
        Assert.Equal(2, s.Reasons.Count);
    }

    // ---- the daemon's state machine ----

    private static readonly FreshnessTarget A = new("/mnt/a", "/mnt/a", "ext4", "/dev/loop0", TimeSpan.FromDays(30));

    [Fact]
    public void Monitor_keys_by_identity_so_a_move_changes_nothing()
    {
        var m = new CheckOverdueMonitor();
        var at = new FreshnessTarget("uuid:1", "/mnt/a", "ext4", "/dev/loop0", TimeSpan.FromDays(30));
        m.Seed("uuid:1", T0 - 29 * Day, T0 - 100 * Day);
        Assert.Empty(m.Tick([at], T0));
        // moved (mount --move): same identity, new mount point; overdue on the day it would have been anyway
        var moved = at with { Mount = "/srv/a" };
        Assert.Empty(m.Tick([moved], T0 + 0.5 * Day));
        var e = Assert.Single(m.Tick([moved], T0 + 2 * Day));
        Assert.Equal("/srv/a: check overdue: last successful check 31d ago, older than max_check_age 30d", e.Message);
        Assert.Equal("uuid:1", e.FsId);
        // a warning given before a move back is not given again; another filesystem at the old place is another one
        Assert.Empty(m.Tick([at], T0 + 3 * Day));
        var other = new FreshnessTarget("uuid:2", "/srv/a", "ext4", "/dev/loop1", TimeSpan.FromDays(30));
        Assert.Empty(m.Tick([other], T0 + 3 * Day));                 // its grace period starts now
        // a good check of the moved filesystem (its events carry the identity) re-arms it
        m.Publish(new FsEvent { Class = EventClass.RepairSucceeded, Severity = Severity.Notice, Mount = "/srv/a", FsType = "ext4", FsId = "uuid:1", Message = "ok", Time = T0 + 4 * Day });
        Assert.Equal(T0 + 4 * Day, m.LastGoodCheck("uuid:1"));
        Assert.Equal(2, m.Tracked);
    }

    [Fact]
    public void Monitor_fires_once_while_overdue()
    {
        var m = new CheckOverdueMonitor();
        m.Seed("/mnt/a", T0 - 29 * Day, T0 - 100 * Day);
        Assert.Empty(m.Tick([A], T0));
        Assert.Empty(m.Tick([A], T0 + 0.5 * Day));
        var states = new List<FreshnessState>();
        var e = Assert.Single(m.Tick([A], T0 + 2 * Day, states));
        Assert.Equal(EventClass.CheckOverdue, e.Class);
        Assert.Equal(Severity.Warning, e.Severity);
        Assert.Equal("/mnt/a", e.Mount);
        Assert.Equal("/dev/loop0", e.Device);
        Assert.Equal("/mnt/a: check overdue: last successful check 31d ago, older than max_check_age 30d", e.Message);
        Assert.Equal((long)(31 * Day).TotalSeconds, e.Count);
        Assert.Equal(new FreshnessState("/mnt/a", "/mnt/a", "ext4", T0 - 29 * Day, true), Assert.Single(states));
        for (int i = 0; i < 100; i++) Assert.Empty(m.Tick([A], T0 + 2 * Day + TimeSpan.FromMinutes(i)));
    }

    [Fact]
    public void Monitor_good_check_resets_and_it_rearms()
    {
        var m = new CheckOverdueMonitor();
        m.Seed("/mnt/a", T0 - 40 * Day, null);
        Assert.Single(m.Tick([A], T0));
        m.Publish(Ev(EventClass.ScrubFinished, T0 + Day)); // a clean scrub
        var states = new List<FreshnessState>();
        Assert.Empty(m.Tick([A], T0 + 2 * Day, states));
        Assert.False(states[0].Overdue);
        Assert.Equal(T0 + Day, m.LastGoodCheck("/mnt/a"));
        Assert.Empty(m.Tick([A], T0 + 30 * Day));
        Assert.Single(m.Tick([A], T0 + 32 * Day)); // overdue again: one more event
        Assert.Empty(m.Tick([A], T0 + 33 * Day));
    }

    [Fact]
    public void Monitor_bad_checks_and_older_seeds_do_not_reset()
    {
        var m = new CheckOverdueMonitor();
        m.Seed("/mnt/a", T0 - 40 * Day, null);
        Assert.Single(m.Tick([A], T0));
        m.Publish(Ev(EventClass.ScrubFinished, T0 + Day, Severity.Warning)); // scrub found errors
        m.Publish(Ev(EventClass.RepairFailed, T0 + Day, Severity.Error));
        m.Seed("/mnt/a", T0 - 50 * Day, T0 - 90 * Day); // an older check (history after a remount)
        m.Publish(Ev(EventClass.Attached, T0 + Day));
        Assert.Empty(m.Tick([A], T0 + 2 * Day));
        Assert.Equal(T0 - 40 * Day, m.LastGoodCheck("/mnt/a"));
    }

    [Fact]
    public void Monitor_clock_going_backwards_does_not_repeat_or_crash()
    {
        var m = new CheckOverdueMonitor();
        m.Seed("/mnt/a", T0 - 31 * Day, null);
        Assert.Single(m.Tick([A], T0));
        // the clock jumps back 5 days (fresh again) and forward again: same episode, no second warning
        var states = new List<FreshnessState>();
        Assert.Empty(m.Tick([A], T0 - 5 * Day, states));
        Assert.False(states[0].Overdue);
        Assert.Empty(m.Tick([A], T0 + Day));
        // a last good check in the future of the clock: not overdue, no event, no exception
        var m2 = new CheckOverdueMonitor();
        m2.Seed("/mnt/a", T0 + 10 * Day, null);
        Assert.Empty(m2.Tick([A], T0));
        Assert.Empty(m2.Tick([A], DateTimeOffset.MinValue));
        Assert.Single(m2.Tick([A], T0 + 41 * Day));
    }

    [Fact]
    public void Monitor_never_checked_counts_from_first_attach()
    {
        var m = new CheckOverdueMonitor();
        m.Publish(Ev(EventClass.Attached, T0));
        Assert.Empty(m.Tick([A], T0 + 29 * Day));
        var e = Assert.Single(m.Tick([A], T0 + 31 * Day));
        Assert.Contains("no successful check recorded since first attached 31d ago", e.Message);
        Assert.Null(e.Count);
        // a target the monitor never heard of starts its grace period at the first tick
        var m2 = new CheckOverdueMonitor();
        Assert.Empty(m2.Tick([A], T0));
        Assert.Single(m2.Tick([A], T0 + 31 * Day));
    }

    [Fact]
    public void Monitor_ignores_targets_without_limit_and_keeps_filesystems_apart()
    {
        var m = new CheckOverdueMonitor();
        var b = new FreshnessTarget("/mnt/b", "/mnt/b", "xfs", null, TimeSpan.FromDays(1));
        var none = new FreshnessTarget("/mnt/c", "/mnt/c", "xfs", null, null);
        m.Seed("/mnt/a", T0 - 40 * Day, null);
        m.Seed("/mnt/b", T0 - 2 * Day, null);
        m.Seed("/mnt/c", T0 - 400 * Day, null);
        var states = new List<FreshnessState>();
        var evs = m.Tick([A, b, none], T0, states);
        Assert.Equal(["/mnt/a", "/mnt/b"], evs.Select(e => e.Mount).Order().ToArray());
        Assert.Equal(2, states.Count);
        m.Publish(Ev(EventClass.RepairSucceeded, T0, mount: "/mnt/b"));
        Assert.Empty(m.Tick([A, b, none], T0 + TimeSpan.FromHours(1)));
        Assert.Equal(["/mnt/b"], m.Tick([A, b, none], T0 + TimeSpan.FromHours(25)).Select(e => e.Mount).ToArray());
    }

    [Fact]
    public void Monitor_forgets_detached_mounts_but_remembers_an_overdue_episode_across_a_remount()
    {
        var m = new CheckOverdueMonitor();
        for (int i = 0; i < 1000; i++)
        {
            m.Publish(Ev(EventClass.Attached, T0, mount: $"/run/c{i}"));
            m.Publish(Ev(EventClass.Detached, T0, mount: $"/run/c{i}"));
        }
        Assert.Equal(0, m.Tracked); // ephemeral mounts leave nothing behind
        m.Seed("/mnt/a", T0 - 40 * Day, null);
        Assert.Single(m.Tick([A], T0));
        m.Publish(Ev(EventClass.Detached, T0 + Day));
        m.Publish(Ev(EventClass.Attached, T0 + Day));
        m.Seed("/mnt/a", T0 - 40 * Day, T0 - 90 * Day); // the history again at the attach
        Assert.Empty(m.Tick([A], T0 + Day)); // same episode: no second warning
        Assert.Equal(1, m.Tracked);
    }

    [Fact]
    public void Monitor_random_sequences_fire_at_most_once_per_good_check()
    {
        var rnd = new Random(20261121);
        for (int run = 0; run < 200; run++)
        {
            var m = new CheckOverdueMonitor();
            var limit = TimeSpan.FromHours(rnd.Next(1, 100));
            var target = A with { MaxCheckAge = limit };
            var now = T0;
            int goodChecks = 0, fired = 0;
            bool overdueSinceLastGood = false;
            for (int step = 0; step < 300; step++)
            {
                now += TimeSpan.FromMinutes(rnd.Next(-600, 3000)); // sometimes backwards
                switch (rnd.Next(10))
                {
                    case 0: m.Publish(Ev(EventClass.RepairSucceeded, now)); goodChecks++; overdueSinceLastGood = false; break;
                    case 1: m.Publish(Ev(EventClass.ScrubFinished, now, Severity.Error)); break;
                    default:
                        var evs = m.Tick([target], now);
                        Assert.True(evs.Count <= 1);
                        if (evs.Count == 1)
                        {
                            Assert.False(overdueSinceLastGood, "fired twice without a newer good check");
                            overdueSinceLastGood = true;
                            fired++;
                        }
                        break;
                }
            }
            Assert.True(fired <= goodChecks + 1);
        }
    }

    // ---- sinks ----

    [Fact]
    public void Journal_and_notification_treat_the_class()
    {
        Assert.Equal("6f1c4a0e2b7d4e51a3c9d2e8f0b1a21d", JournalFormat.MessageIds[EventClass.CheckOverdue]);
        Assert.Contains(EventClass.CheckOverdue, NotificationPolicy.ProblemClasses);
        var f = JournalFormat.Fields(Ev(EventClass.CheckOverdue, T0, Severity.Warning));
        Assert.Contains(new KeyValuePair<string, string>("PRIORITY", "4"), f);
        Assert.Contains(new KeyValuePair<string, string>("FSHEALER_CLASS", "check_overdue"), f);
    }

    [Fact]
    public void Notification_sends_the_warning_and_a_clean_scrub_resolves_it()
    {
        var t = new FsHealer.Core.Tests.Notify.ManualTime(T0);
        var p = new NotificationPolicy(new NotifyPolicyOptions { SettleTime = TimeSpan.FromMinutes(10) }, t);
        var m = Assert.Single(p.Offer(Ev(EventClass.CheckOverdue, T0, Severity.Warning) with { Message = "/mnt/a: check overdue: last successful check 41d ago, older than max_check_age 30d" }));
        Assert.Equal(NotifyKind.Event, m.Kind);
        Assert.Contains("check_overdue", m.Subject);
        Assert.Contains("41d ago", m.Body);
        t.Advance(TimeSpan.FromMinutes(1));
        p.Offer(Ev(EventClass.ScrubFinished, t.GetUtcNow()));
        t.Advance(TimeSpan.FromMinutes(11));
        Assert.Single(p.Tick(), x => x.Kind == NotifyKind.Resolved && x.Mount == "/mnt/a");
    }

    [Fact]
    public void Metrics_gauges_follow_good_checks_overdue_and_detach()
    {
        var m = new MetricsSink();
        m.Publish(Ev(EventClass.Attached, T0));
        Assert.DoesNotContain("fshealer_check_overdue{", m.Render()); // no limit known: no series
        m.SetFreshness("/mnt/a", "ext4", T0 - 40 * Day, false);
        Assert.Equal((T0 - 40 * Day).ToUnixTimeSeconds(), m.Value(m.LastGoodCheck, "/mnt/a", "ext4"));
        m.Publish(Ev(EventClass.CheckOverdue, T0, Severity.Warning));
        Assert.Equal(1, m.Value(m.CheckOverdue, "/mnt/a", "ext4"));
        Assert.Contains("fshealer_check_overdue{mount=\"/mnt/a\",fstype=\"ext4\"} 1\n", m.Render());
        Assert.Contains("fshealer_events_total{mount=\"/mnt/a\",fstype=\"ext4\",class=\"checkoverdue\"} 1\n", m.Render());
        m.Publish(Ev(EventClass.ScrubFinished, T0 + Day));
        Assert.Equal(0, m.Value(m.CheckOverdue, "/mnt/a", "ext4"));
        Assert.Equal((T0 + Day).ToUnixTimeSeconds(), m.Value(m.LastGoodCheck, "/mnt/a", "ext4"));
        m.Publish(Ev(EventClass.ScrubFinished, T0 + 2 * Day, Severity.Warning)); // with errors: not a good check
        Assert.Equal((T0 + Day).ToUnixTimeSeconds(), m.Value(m.LastGoodCheck, "/mnt/a", "ext4"));
        m.Publish(Ev(EventClass.Detached, T0 + 3 * Day));
        Assert.DoesNotContain("fshealer_check_overdue{", m.Render());
        Assert.DoesNotContain("fshealer_last_good_check_timestamp_seconds{", m.Render());
        Assert.Contains("# TYPE fshealer_last_good_check_timestamp_seconds gauge", m.Render());
    }
}
