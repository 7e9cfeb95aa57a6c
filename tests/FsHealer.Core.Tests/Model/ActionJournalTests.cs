using FsHealer.Model;

namespace FsHealer.Core.Tests.Model;

public class ActionJournalTests
{
    private static FsEvent E(EventClass c, string? id, int minute) => new()
    {
        Class = c, Severity = Severity.Info, Mount = "/m", FsType = "ext4", Message = $"{c} {id}", CorrelationId = id,
        Time = new DateTimeOffset(2026, 11, 21, 0, minute, 0, TimeSpan.Zero),
    };

    [Fact]
    public void StartedWithoutOutcome_IsInterrupted_DecisionsDoNotCount()
    {
        var history = new[]
        {
            E(EventClass.Decision, "a", 0), E(EventClass.ActionStarted, "a", 1), E(EventClass.OfflineRepair, "a", 2), // finished
            E(EventClass.Decision, "b", 3), E(EventClass.ActionStarted, "b", 4),                                      // crashed
            E(EventClass.ActionStarted, "c", 5), E(EventClass.ActionInterrupted, "c", 6),                             // already reported
            E(EventClass.MetadataCorrupt, null, 7),
        };
        var i = ActionJournal.Interrupted(history);
        Assert.Equal("b", Assert.Single(i).CorrelationId);
    }

    [Fact]
    public void NewIds_AreUnique()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => ActionJournal.NewCorrelationId()).ToHashSet();
        Assert.Equal(10_000, ids.Count);
    }

    [Fact]
    public void PublishDurable_FlushesFlushableSinks()
    {
        var hub = new EventHub();
        var sink = new FlushCounter();
        hub.Add(sink);
        hub.PublishDurable(E(EventClass.ActionStarted, "x", 0));
        Assert.Equal((1, 1), (sink.Published, sink.Flushes));
        hub.Publish(E(EventClass.Diagnostic, null, 1));
        Assert.Equal((2, 1), (sink.Published, sink.Flushes));
    }

    private sealed class FlushCounter : IFlushableSink
    {
        public int Published, Flushes;
        public void Publish(FsEvent e) => Published++;
        public bool Flush(TimeSpan timeout) { Flushes++; return true; }
    }
}
