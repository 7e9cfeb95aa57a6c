using FsHealer.Model;
using FsHealer.Service.History;

namespace FsHealer.Core.Tests.Model;

/// <summary>Issue 16: storm coalescing in the history — identical events in a storm become repeats of one row,
/// distinct ones are capped per window, and lifecycle/action events are never folded.</summary>
public class StormCoalescerTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static FsEvent Ev(string mount, int i, string msg = "EIO", EventClass c = EventClass.IoError, string? cid = null, int ino = 12) => new()
    {
        Time = T.AddMilliseconds(i), Class = c, Severity = Severity.Error, Mount = mount, FsType = "ext4", Message = $"{mount}: {msg}",
        Inode = (ulong)ino, CorrelationId = cid,
    };

    [Fact]
    public void A_quiet_filesystem_gets_every_event_as_a_row()
    {
        var c = new StormCoalescer();
        for (int i = 0; i < 20; i++) Assert.False(c.Offer(Ev("/a", i * 10_000)).Repeat);
        Assert.Equal(0, c.Folded);
    }

    [Fact]
    public void An_identical_storm_becomes_a_few_rows_with_repeats()
    {
        var c = new StormCoalescer(stormThreshold: 20, distinctPerWindow: 100);
        var ops = Enumerable.Range(0, 38_000).Select(i => c.Offer(Ev("/a", i))).ToList();   // 38k events in 38 s
        int rows = ops.Count(o => !o.Repeat);
        Assert.Equal(20, rows);                        // the first 20 as they came; the rest folded into the last of them
        Assert.Equal(38_000 - 20, c.Folded);
        Assert.All(ops.Where(o => o.Repeat), o => Assert.Equal(ops[19].Slot, o.Slot));
    }

    [Fact]
    public void Distinct_events_are_capped_per_window_and_the_rest_fold_into_a_summary_per_class()
    {
        var c = new StormCoalescer(stormThreshold: 20, distinctPerWindow: 100, window: TimeSpan.FromMinutes(1));
        var ops = new List<HistoryOp>();
        for (int i = 0; i < 5000; i++) ops.Add(c.Offer(Ev("/a", i, $"error on inode {i}", ino: i)));             // all different
        for (int i = 0; i < 500; i++) ops.Add(c.Offer(Ev("/a", 5000 + i, $"media {i}", EventClass.MediaError, ino: i)));
        var rows = ops.Where(o => !o.Repeat).ToList();
        Assert.Equal(100 + 2, rows.Count);             // 100 distinct rows, one summary for io_error, one for media_error
        var summaries = rows.Where(o => o.Event.Message.Contains("event storm")).ToList();
        Assert.Equal(2, summaries.Count);
        Assert.Contains("further io_error events", summaries[0].Event.Message);
        Assert.Null(summaries[0].Event.Inode);
        Assert.Equal(5000 + 500 - 102, ops.Count(o => o.Repeat));
        // the next window starts over
        Assert.False(c.Offer(Ev("/a", 61_000, "later")).Repeat);
    }

    [Fact]
    public void Each_filesystem_has_its_own_window()
    {
        var c = new StormCoalescer(stormThreshold: 5, distinctPerWindow: 5);
        for (int i = 0; i < 100; i++) c.Offer(Ev("/a", i));
        Assert.False(c.Offer(Ev("/b", 100)).Repeat);
    }

    [Fact]
    public void Actions_decisions_lifecycle_and_good_checks_are_never_folded()
    {
        var c = new StormCoalescer(stormThreshold: 0, distinctPerWindow: 0);
        c.Offer(Ev("/a", 0));
        foreach (var cls in new[] { EventClass.Attached, EventClass.Detached, EventClass.Decision, EventClass.ActionStarted, EventClass.RepairSucceeded,
                     EventClass.RepairFailed, EventClass.ScrubFinished, EventClass.Shutdown, EventClass.CheckOverdue })
            for (int i = 0; i < 3; i++) Assert.False(c.Offer(Ev("/a", i, "same", cls)).Repeat);
        for (int i = 0; i < 3; i++) Assert.False(c.Offer(Ev("/a", i, "same", cid: "c1")).Repeat);
        Assert.False(StormCoalescer.Coalescible(Ev("", 0)));   // the history's own drop rows
    }

    [Fact]
    public void Slots_are_forgotten_with_their_window()
    {
        var c = new StormCoalescer(stormThreshold: 1, distinctPerWindow: 1, window: TimeSpan.FromSeconds(1));
        long row = 1;
        for (int i = 0; i < 10_000; i++)
        {
            var op = c.Offer(Ev($"/m{i % 50}", i * 100, $"e{i % 7}"));
            if (!op.Repeat) c.Bind(op.Slot, row++);
            if (i % 512 == 511) c.EndBatch();
        }
        c.EndBatch();
        Assert.True(c.LiveSlots <= 50 * 3, $"{c.LiveSlots} slots remembered");
    }
}
