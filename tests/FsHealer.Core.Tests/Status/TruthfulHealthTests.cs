using FsHealer.Btrfs;
using FsHealer.Config;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Status;

/// <summary>Issue 17, defect 2: status says what is true now — each transition: damaged → repaired+verified →
/// healthy; errors raised during the repair; btrfs counters that stay high after a clean scrub.</summary>
public class TruthfulHealthTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 20, 23, 32, TimeSpan.Zero);
    private static readonly LevelState Clean = new() { Readable = true, ErrorCount = 0 };

    private static FsEvent Ev(EventClass c, double seconds, Severity s = Severity.Error, ulong? inode = null, string? structure = null, string? cid = null) =>
        new() { Class = c, Severity = s, Mount = "/mnt/a", FsType = "ext4", Message = c.ToString(), Time = T0.AddSeconds(seconds),
            Inode = inode, Structure = structure, CorrelationId = cid };

    private static FsStatus Compute(LevelState level, params FsEvent[] events) =>
        StatusComputer.Compute(events, level, EffectivePolicy.Defaults, T0.AddMinutes(5));

    // what the corpus recorded for ext4-f_baddir2 before this fix: the user's error on inode 12, the repair, and three
    // more errors about inode 12 delivered in the same millisecond as the verified success (queued before the unmount
    // and raised again by the daemon's own path lookups)
    private static readonly FsEvent[] Baddir2 =
    [
        Ev(EventClass.Attached, 0, Severity.Info),
        Ev(EventClass.MetadataCorrupt, 0.45, inode: 12),
        Ev(EventClass.ActionStarted, 0.46, Severity.Warning, cid: "c1"),
        Ev(EventClass.Detached, 0.7, Severity.Info),
        Ev(EventClass.Attached, 1.16, Severity.Info),
        Ev(EventClass.OfflineRepair, 1.213, Severity.Notice, cid: "c1"),
        Ev(EventClass.MetadataCorrupt, 1.213, inode: 12),
        Ev(EventClass.MetadataCorrupt, 1.213, inode: 12),
        Ev(EventClass.MetadataCorrupt, 1.213, inode: 12),
    ];

    [Fact]
    public void Damaged_is_degraded()
    {
        var s = Compute(Clean with { ErrorCount = 1 }, Baddir2[..2]);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("1 metadata_corrupt event(s) since the last successful check/repair", s.Reasons);
    }

    [Fact]
    public void Repaired_and_verified_is_healthy_even_with_the_repairs_echoes_recorded_after_it()
    {
        var s = Compute(Clean, Baddir2);
        Assert.Equal(Health.Healthy, s.Health);
        Assert.Empty(s.Reasons);
        Assert.Equal(0, s.EventsSinceGoodCheck);
        Assert.Contains(s.Notes!, n => n.StartsWith("3 event(s) right after the last successful check/repair", StringComparison.Ordinal));
        Assert.Equal(T0.AddSeconds(1.213), s.LastGoodCheck);
    }

    [Fact]
    public void Errors_during_the_repair_do_not_count_once_it_verified_the_filesystem()
    {
        // raised while e2fsck ran (between the start and the verified outcome): before the good check
        var s = Compute(Clean, [.. Baddir2[..5], Ev(EventClass.IoError, 1.0, inode: 40), Baddir2[5]]);
        Assert.Equal(Health.Healthy, s.Health);
    }

    [Fact]
    public void A_new_object_after_the_repair_counts()
    {
        var s = Compute(Clean, [.. Baddir2, Ev(EventClass.MetadataCorrupt, 1.5, inode: 99)]);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("1 metadata_corrupt event(s) since the last successful check/repair", s.Reasons);
    }

    [Fact]
    public void The_same_object_again_after_the_echo_window_counts()
    {
        var later = Ev(EventClass.MetadataCorrupt, 1.213 + StatusComputer.EchoWindow.TotalSeconds + 1, inode: 12);
        Assert.Equal(Health.Degraded, Compute(Clean, [.. Baddir2, later]).Health);
    }

    [Fact]
    public void An_echo_with_the_kernel_still_counting_errors_is_degraded_by_the_level_state()
    {
        // the echo rule only drops events; the kernel's own count is what is true now
        var s = Compute(Clean with { ErrorCount = 2 }, Baddir2);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("2 error(s) recorded by the kernel", s.Reasons);
    }

    [Fact]
    public void A_failed_repair_is_not_a_good_check_so_nothing_is_an_echo()
    {
        FsEvent[] failed = [.. Baddir2[..5], Ev(EventClass.OfflineRepair, 1.213, Severity.Error, cid: "c1"), .. Baddir2[6..]];
        var s = Compute(Clean, failed);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Equal(4, s.EventsSinceGoodCheck);
    }

    [Fact]
    public void Events_without_an_object_are_never_echoes()
    {
        var s = Compute(Clean, [.. Baddir2, Ev(EventClass.ErrorsMissed, 1.3), Ev(EventClass.ErrorsMissed, 1.0)]);
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("1 errors_missed event(s) since the last successful check/repair", s.Reasons);
    }

    // ---- btrfs: persistent device counters against the baseline of the last clean scrub ----

    private static readonly Guid U1 = Guid.Parse("11111111-1111-1111-1111-111111111111"), U2 = Guid.Parse("22222222-2222-2222-2222-222222222222");
    private static DevStatCounters C(ulong corrupt, ulong read = 0) => new(0, read, 0, corrupt, 0);

    private static FilesystemState Saved(ulong corrupt1, DateTimeOffset? at) => new()
    {
        Fsid = "f",
        Devices =
        [
            new DeviceState { Devid = 1, Uuid = U1.ToString("D"), Counters = [0, 0, 0, corrupt1, 0], CleanCounters = at is null ? null : [0, 0, 0, corrupt1, 0], CleanAt = at },
            new DeviceState { Devid = 2, Uuid = U2.ToString("D"), Counters = [0, 0, 0, 0, 0] },
        ],
    };

    private static LevelState Level(DevStatsBaseline.Comparison c) =>
        Clean with { ErrorCount = c.Total, ErrorBaseline = c.Baseline > 0 ? c.Baseline : null, ErrorBaselineAt = c.At };

    [Fact]
    public void Btrfs_counters_that_stay_high_after_a_clean_scrub_are_healthy()
    {
        var at = T0.AddSeconds(30);
        var cmp = DevStatsBaseline.Compare([(1, U1, C(5)), (2, U2, C(0))], Saved(5, at));
        Assert.Equal((5UL, 5UL, 0UL, (DateTimeOffset?)at), (cmp.Total, cmp.Baseline, cmp.SinceClean, cmp.At));
        var events = new[]
        {
            Ev(EventClass.CounterRise, 10, structure: "CorruptionErrs"),
            Ev(EventClass.ScrubFinished, 30, Severity.Notice),
        };
        var s = Compute(Level(cmp), events);
        Assert.Equal(Health.Healthy, s.Health);
        Assert.Contains(s.Notes!, n => n.StartsWith("5 error(s) counted before the last clean check", StringComparison.Ordinal));
    }

    [Fact]
    public void Btrfs_counters_without_a_clean_scrub_are_degraded()
    {
        var cmp = DevStatsBaseline.Compare([(1, U1, C(5)), (2, U2, C(0))], Saved(5, null));
        Assert.Equal(0UL, cmp.Baseline);
        Assert.Equal(Health.Degraded, Compute(Level(cmp)).Health);
        Assert.Equal(Health.Degraded, Compute(Level(DevStatsBaseline.Compare([(1, U1, C(5))], null))).Health);
    }

    [Fact]
    public void Btrfs_errors_after_the_clean_scrub_count_and_say_since_when()
    {
        var at = T0.AddSeconds(30);
        var cmp = DevStatsBaseline.Compare([(1, U1, C(7)), (2, U2, C(0, read: 1))], Saved(5, at));
        Assert.Equal((8UL, 5UL, 3UL), (cmp.Total, cmp.Baseline, cmp.SinceClean));
        var s = Compute(Level(cmp));
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("3 error(s) recorded by the kernel since the last clean check (2026-12-05T20:24:02Z)", s.Reasons);
    }

    [Fact]
    public void Btrfs_baseline_of_a_replaced_or_reset_device_does_not_apply()
    {
        var at = T0.AddSeconds(30);
        // another device at devid 1 now
        var replaced = DevStatsBaseline.Compare([(1, Guid.NewGuid(), C(5))], Saved(5, at));
        Assert.Equal(0UL, replaced.Baseline);
        // counters reset below the baseline, then risen: all of them are new
        var reset = DevStatsBaseline.Compare([(1, U1, C(2))], Saved(5, at));
        Assert.Equal((2UL, 0UL), (reset.Total, reset.Baseline));
    }

    [Fact]
    public void Monitor_drops_the_baseline_when_counters_go_down_so_new_errors_cannot_hide_under_it()
    {
        var mon = new DevStatsMonitor();
        DeviceSample S(ulong corrupt) => new(1, U1, "/dev/loop3", C(corrupt));
        mon.Observe("f", [S(5)]);
        Assert.True(mon.RecordCleanScrub("f", 1, T0));
        Assert.Equal(5UL, mon.State.Find("f")!.Devices[0].CleanCounters![3]);
        mon.Observe("f", [S(0)]);   // reset (fshealer btrfs reset-counters, btrfs device stats -z)
        Assert.Null(mon.State.Find("f")!.Devices[0].CleanCounters);
        mon.Observe("f", [S(5)]);   // five new errors
        var cmp = DevStatsBaseline.Compare([(1, U1, C(5))], mon.State.Find("f"));
        Assert.Equal(5UL, cmp.SinceClean);
        Assert.False(mon.RecordCleanScrub("f", 9, T0));   // unknown device
    }

    [Fact]
    public void Clean_baseline_survives_the_state_file()
    {
        var mon = new DevStatsMonitor();
        mon.Observe("f", [new DeviceSample(1, U1, "/dev/loop3", C(3))]);
        mon.RecordCleanScrub("f", 1, T0);
        var back = DevStatsState.FromJson(mon.Snapshot(), out var err);
        Assert.Null(err);
        var d = back!.Find("f")!.Devices[0];
        Assert.Equal(new ulong[] { 0, 0, 0, 3, 0 }, d.CleanCounters);
        Assert.Equal(T0, d.CleanAt);
        // a state file from before this field loads with no baseline
        var old = DevStatsState.FromJson("""{"version":1,"filesystems":[{"fsid":"f","devices":[{"devid":1,"uuid":"","path":"/dev/x","counters":[0,0,0,3,0]}]}]}""", out var err2);
        Assert.Null(err2);
        Assert.Equal(3UL, old!.Find("f")!.Devices[0].Counters[3]);
        Assert.Null(old.Find("f")!.Devices[0].CleanCounters);
    }
}
