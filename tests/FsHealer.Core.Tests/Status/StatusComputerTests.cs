using FsHealer.Config;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Status;

public class StatusComputerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly LevelState Clean = new() { Readable = true, ErrorCount = 0 };

    private static FsEvent Ev(EventClass c, int minutes, Severity s = Severity.Error) =>
        new() { Class = c, Severity = s, Mount = "/mnt/a", FsType = "ext4", Message = c.ToString(), Time = T0.AddMinutes(minutes) };

    private static FsStatus Compute(LevelState level, params FsEvent[] events) =>
        StatusComputer.Compute(events, level, EffectivePolicy.Defaults, T0.AddHours(2));

    [Fact]
    public void Clean_and_no_history_is_healthy()
    {
        var s = Compute(Clean);
        Assert.Equal(Health.Healthy, s.Health);
        Assert.Empty(s.Reasons);
        Assert.Null(s.LastGoodCheck);
        // the policy line status prints comes from AppliedPolicySelector (the daemon's, else the configuration's)
        Assert.Contains("ext4: report errors only", AppliedPolicySelector.Select([], EffectivePolicy.Defaults, "ext4").Text);
    }

    [Fact]
    public void Error_counter_is_degraded_and_read_only_with_errors_is_error()
    {
        var s = Compute(Clean with { ErrorCount = 3 });
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Contains("3 error(s) recorded by the kernel", s.Reasons);
        Assert.Equal(Health.Error, Compute(Clean with { ErrorCount = 3, ReadOnly = true }).Health);
        Assert.Equal(Health.Healthy, Compute(Clean with { ReadOnly = true }).Health); // ro by choice, no errors
    }

    [Fact]
    public void Problems_since_the_last_good_check_count_older_ones_do_not()
    {
        var s = Compute(Clean, Ev(EventClass.IoError, 1), Ev(EventClass.RepairSucceeded, 2, Severity.Info), Ev(EventClass.MetadataSick, 3));
        Assert.Equal(Health.Degraded, s.Health);
        Assert.Equal(1, s.EventsSinceGoodCheck);
        Assert.Equal(T0.AddMinutes(2), s.LastGoodCheck);
        Assert.Equal(TimeSpan.FromMinutes(118), s.LastGoodCheckAge);

        var healed = Compute(Clean, Ev(EventClass.IoError, 1), Ev(EventClass.RepairSucceeded, 2, Severity.Info));
        Assert.Equal(Health.Healthy, healed.Health);
        Assert.Equal(0, healed.EventsSinceGoodCheck);
    }

    [Fact]
    public void Events_out_of_order_are_sorted_by_time()
    {
        var s = Compute(Clean, Ev(EventClass.RepairSucceeded, 5, Severity.Info), Ev(EventClass.IoError, 1));
        Assert.Equal(Health.Healthy, s.Health);
        Assert.Equal(EventClass.RepairSucceeded, s.LastEvent!.Class);
    }

    [Fact]
    public void Shutdown_is_error_until_the_next_mount()
    {
        Assert.Equal(Health.Error, Compute(Clean, Ev(EventClass.Shutdown, 1, Severity.Critical)).Health);
        // a repair does not undo a shutdown, a remount (Attached) does
        Assert.Equal(Health.Error, Compute(Clean, Ev(EventClass.Shutdown, 1), Ev(EventClass.RepairSucceeded, 2, Severity.Info)).Health);
        Assert.Equal(Health.Healthy, Compute(Clean, Ev(EventClass.Shutdown, 1), Ev(EventClass.RepairSucceeded, 2, Severity.Info), Ev(EventClass.Attached, 3, Severity.Info)).Health);
        Assert.Equal(Health.Error, Compute(Clean with { Shutdown = true }).Health);
    }

    [Fact]
    public void Failed_repair_and_data_loss_are_errors()
    {
        Assert.Equal(Health.Error, Compute(Clean, Ev(EventClass.RepairFailed, 1)).Health);
        Assert.Equal(Health.Error, Compute(Clean, Ev(EventClass.DataLost, 1, Severity.Critical)).Health);
        var mixed = Compute(Clean with { ErrorCount = 1 }, Ev(EventClass.MediaError, 1), Ev(EventClass.RepairFailed, 2));
        Assert.Equal(Health.Error, mixed.Health);
        Assert.Equal(3, mixed.Reasons.Count);
    }

    [Fact]
    public void Scrub_with_errors_is_not_a_good_check()
    {
        Assert.True(StatusComputer.IsGoodCheck(Ev(EventClass.ScrubFinished, 1, Severity.Info)));
        Assert.False(StatusComputer.IsGoodCheck(Ev(EventClass.ScrubFinished, 1, Severity.Warning)));
        Assert.True(StatusComputer.IsGoodCheck(Ev(EventClass.OfflineRepair, 1, Severity.Notice)));
        Assert.False(StatusComputer.IsGoodCheck(Ev(EventClass.OfflineRepair, 1, Severity.Error)));
        Assert.False(StatusComputer.IsGoodCheck(Ev(EventClass.FullCheckStarted, 1, Severity.Info)));
    }

    [Fact]
    public void Remembered_good_check_time_is_used_when_newer()
    {
        var s = Compute(Clean with { LastGoodCheck = T0.AddMinutes(10) }, Ev(EventClass.RepairSucceeded, 2, Severity.Info));
        Assert.Equal(T0.AddMinutes(10), s.LastGoodCheck);
    }

    [Fact]
    public void Unreadable_state_and_no_history_is_unknown()
    {
        var s = Compute(new LevelState { Readable = false, Diagnostics = ["/sys/fs/ext4/loop9/errors_count: gone"] });
        Assert.Equal(Health.Unknown, s.Health);
        Assert.Contains("gone", s.Reasons[0]);
        // with history we know something
        Assert.Equal(Health.Degraded, Compute(new LevelState(), Ev(EventClass.IoError, 1)).Health);
        Assert.Equal(Health.Healthy, Compute(new LevelState(), Ev(EventClass.Attached, 1, Severity.Info)).Health);
    }

    [Theory]
    [InlineData(new[] { Health.Healthy, Health.Healthy }, Health.Healthy)]
    [InlineData(new[] { Health.Healthy, Health.Unknown }, Health.Unknown)]
    [InlineData(new[] { Health.Unknown, Health.Degraded }, Health.Degraded)]
    [InlineData(new[] { Health.Degraded, Health.Error, Health.Unknown }, Health.Error)]
    [InlineData(new Health[0], Health.Healthy)]
    public void Overall_is_the_worst(Health[] all, Health expected)
    {
        Assert.Equal(expected, StatusComputer.Overall(all));
        Assert.Equal((int)expected, expected switch { Health.Healthy => 0, Health.Degraded => 1, Health.Error => 2, _ => 3 });
    }
}
