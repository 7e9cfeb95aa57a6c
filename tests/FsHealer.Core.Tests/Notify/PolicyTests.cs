using FsCheck;
using FsCheck.Fluent;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Core.Tests.Notify;

/// <summary>A manually advanced clock.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public ManualTime() : this(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero)) { }
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan t) => _now += t;
}

public class PolicyTests
{
    private static FsEvent Ev(EventClass c, Severity s = Severity.Error, string mount = "/mnt/a", ulong? ino = null, DateTimeOffset? t = null) => new()
    {
        Class = c, Severity = s, Mount = mount, FsType = "xfs", Message = $"{c} on {mount}", Inode = ino, Device = "/dev/loop" + mount.Length,
        Time = t ?? DateTimeOffset.UnixEpoch,
    };

    private static (NotificationPolicy P, ManualTime T) Make(NotifyPolicyOptions? o = null)
    {
        var t = new ManualTime();
        return (new NotificationPolicy(o ?? new NotifyPolicyOptions(), t), t);
    }

    [Fact]
    public void Below_min_severity_is_neither_sent_nor_counted()
    {
        var (p, t) = Make();
        Assert.Empty(p.Offer(Ev(EventClass.Attached, Severity.Info)));
        t.Advance(TimeSpan.FromHours(1));
        Assert.Empty(p.Tick());
        Assert.Equal(0, p.Considered);
    }

    [Fact]
    public void First_event_is_sent_with_its_details()
    {
        var (p, _) = Make();
        var m = Assert.Single(p.Offer(Ev(EventClass.MetadataSick, ino: 133)));
        Assert.Equal(NotifyKind.Event, m.Kind);
        Assert.Equal("[fshealer] localhost: error: metadata_sick on /mnt/a", m.Subject);
        Assert.Contains("inode:    133", m.Body);
        Assert.NotNull(m.Event);
    }

    [Fact]
    public void Duplicates_within_the_window_go_to_the_digest_and_are_sent_again_after_it()
    {
        var (p, t) = Make(new NotifyPolicyOptions { DedupWindow = TimeSpan.FromMinutes(30), DigestInterval = TimeSpan.FromMinutes(15) });
        Assert.Single(p.Offer(Ev(EventClass.IoError, ino: 5)));
        t.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(p.Offer(Ev(EventClass.IoError, ino: 5)));
        Assert.Single(p.Offer(Ev(EventClass.IoError, ino: 6)));   // another key
        Assert.Equal(1, p.PendingDigestCount);
        t.Advance(TimeSpan.FromMinutes(30));
        var ms = p.Offer(Ev(EventClass.IoError, ino: 5));
        Assert.Contains(ms, m => m.Kind == NotifyKind.Event);
        var d = Assert.Single(ms, m => m.Kind == NotifyKind.Digest);
        Assert.Equal([("/mnt/a", EventClass.IoError, 1L)], d.Counts);
    }

    [Fact]
    public void Threshold_needs_N_events_within_T()
    {
        var (p, t) = Make(new NotifyPolicyOptions { Thresholds = [new NotifyThreshold(EventClass.IoError, 3, TimeSpan.FromSeconds(60))], DedupWindow = TimeSpan.Zero });
        Assert.Empty(p.Offer(Ev(EventClass.IoError, ino: 1)));
        t.Advance(TimeSpan.FromSeconds(40));
        Assert.Empty(p.Offer(Ev(EventClass.IoError, ino: 2)));
        t.Advance(TimeSpan.FromSeconds(40));
        Assert.Empty(p.Offer(Ev(EventClass.IoError, ino: 3)));  // first fell out of the window: only 2 in 60 s
        t.Advance(TimeSpan.FromSeconds(10));
        Assert.Single(p.Offer(Ev(EventClass.IoError, ino: 4)), m => m.Kind == NotifyKind.Event);
        // Other classes and other filesystems are not affected by the threshold.
        Assert.Single(p.Offer(Ev(EventClass.MetadataSick)));
        Assert.Empty(p.Offer(Ev(EventClass.IoError, mount: "/mnt/b")));
    }

    [Fact]
    public void Digest_is_one_message_per_interval_and_summarises_by_fs_and_class()
    {
        var (p, t) = Make(new NotifyPolicyOptions { MaxImmediatePerInterval = 1, DigestInterval = TimeSpan.FromMinutes(10) });
        Assert.Single(p.Offer(Ev(EventClass.MetadataSick, ino: 1)));
        for (ulong i = 2; i < 12; i++) Assert.Empty(p.Offer(Ev(EventClass.MetadataSick, ino: i)));
        for (ulong i = 0; i < 4; i++) Assert.Empty(p.Offer(Ev(EventClass.IoError, mount: "/mnt/b", ino: i)));
        t.Advance(TimeSpan.FromMinutes(9));
        Assert.Empty(p.Tick());
        t.Advance(TimeSpan.FromMinutes(1));
        var d = Assert.Single(p.Tick());
        Assert.Equal(NotifyKind.Digest, d.Kind);
        Assert.Equal([("/mnt/a", EventClass.MetadataSick, 10L), ("/mnt/b", EventClass.IoError, 4L)], d.Counts);
        Assert.Contains("/mnt/a: metadata_sick=10", d.Body);
        Assert.Contains("/mnt/b: io_error=4", d.Body);
        Assert.Empty(p.Tick());
        t.Advance(TimeSpan.FromHours(2));
        Assert.Empty(p.Tick());  // nothing pending: no empty digests
    }

    [Fact]
    public void Resolved_after_a_healing_event_and_the_settle_time()
    {
        var (p, t) = Make(new NotifyPolicyOptions { SettleTime = TimeSpan.FromMinutes(10) });
        p.Offer(Ev(EventClass.MetadataSick, ino: 7));
        t.Advance(TimeSpan.FromMinutes(1));
        p.Offer(Ev(EventClass.RepairSucceeded, Severity.Notice, ino: 7));
        t.Advance(TimeSpan.FromMinutes(9.9));
        Assert.DoesNotContain(p.Tick(), m => m.Kind == NotifyKind.Resolved);
        t.Advance(TimeSpan.FromMinutes(0.2));
        var r = Assert.Single(p.Tick(), m => m.Kind == NotifyKind.Resolved);
        Assert.Equal("/mnt/a", r.Mount);
        Assert.Contains("resolved: /mnt/a is healthy again", r.Subject);
        t.Advance(TimeSpan.FromHours(1));
        Assert.DoesNotContain(p.Tick(), m => m.Kind == NotifyKind.Resolved);   // only once
    }

    [Fact]
    public void No_resolved_when_errors_return_during_the_settle_time_or_there_never_were_errors()
    {
        var (p, t) = Make(new NotifyPolicyOptions { SettleTime = TimeSpan.FromMinutes(10) });
        p.Offer(Ev(EventClass.MetadataHealthy, Severity.Notice, mount: "/mnt/clean"));
        p.Offer(Ev(EventClass.MetadataSick));
        p.Offer(Ev(EventClass.MetadataHealthy, Severity.Notice));
        t.Advance(TimeSpan.FromMinutes(5));
        p.Offer(Ev(EventClass.IoError));
        t.Advance(TimeSpan.FromMinutes(30));
        Assert.DoesNotContain(p.Tick(), m => m.Kind == NotifyKind.Resolved);
        // A scrub that found errors (warning) does not heal; a clean one (info) does.
        p.Offer(Ev(EventClass.ScrubFinished, Severity.Warning));
        t.Advance(TimeSpan.FromMinutes(30));
        Assert.DoesNotContain(p.Tick(), m => m.Kind == NotifyKind.Resolved);
        p.Offer(Ev(EventClass.ScrubFinished, Severity.Info));
        t.Advance(TimeSpan.FromMinutes(11));
        Assert.Single(p.Tick(), m => m.Kind == NotifyKind.Resolved && m.Mount == "/mnt/a");
    }

    [Fact]
    public void Heartbeat_is_periodic_and_off_by_default()
    {
        var (p0, t0) = Make();
        t0.Advance(TimeSpan.FromDays(3));
        Assert.Empty(p0.Tick());
        var (p, t) = Make(new NotifyPolicyOptions { HeartbeatInterval = TimeSpan.FromHours(24) });
        p.WatchedFilesystems = 3;
        t.Advance(TimeSpan.FromHours(23));
        Assert.Empty(p.Tick());
        t.Advance(TimeSpan.FromHours(1));
        var h = Assert.Single(p.Tick());
        Assert.Equal(NotifyKind.Heartbeat, h.Kind);
        Assert.Contains("watching 3 filesystem(s)", h.Subject);
        Assert.Empty(p.Tick());
    }

    /// <summary>
    /// A flood of 10,000 error events in one hour (three filesystems, many inodes and classes) yields at most
    /// (MaxImmediatePerInterval + 1) × (⌈1 h / 15 min⌉ + 1) = 6 × 5 = 30 messages — with the defaults it is
    /// 5 individual messages per 15 min plus one digest per 15 min — and every event is either sent or counted.
    /// </summary>
    [Fact]
    public void Flood_of_10000_events_yields_a_bounded_number_of_messages_and_loses_nothing()
    {
        var o = new NotifyPolicyOptions();
        var (p, t) = Make(o);
        var rnd = new Random(42);
        var classes = new[] { EventClass.MetadataSick, EventClass.IoError, EventClass.MediaError, EventClass.MetadataCorrupt };
        var msgs = new List<NotifyMessage>();
        for (int i = 0; i < 10_000; i++)
        {
            msgs.AddRange(p.Offer(Ev(classes[rnd.Next(classes.Length)], mount: $"/mnt/{rnd.Next(3)}", ino: (ulong)rnd.Next(5000))));
            t.Advance(TimeSpan.FromMilliseconds(360));
            msgs.AddRange(p.Tick());
        }
        if (p.FlushDigest() is { } last) msgs.Add(last);
        int bound = (o.MaxImmediatePerInterval + 1) * ((int)Math.Ceiling(TimeSpan.FromHours(1) / o.DigestInterval) + 1);
        TestContext.Current.TestOutputHelper?.WriteLine($"10000 events in 1 h → {msgs.Count} messages ({msgs.Count(m => m.Kind == NotifyKind.Event)} individual, {msgs.Count(m => m.Kind == NotifyKind.Digest)} digests); bound {bound}");
        Assert.True(msgs.Count <= bound, $"{msgs.Count} messages > bound {bound}");
        Assert.True(msgs.Count >= 5);
        long individually = msgs.Count(m => m.Kind == NotifyKind.Event);
        long inDigests = msgs.Where(m => m.Kind == NotifyKind.Digest).SelectMany(m => m.Counts).Sum(c => c.Count);
        Assert.Equal(10_000, individually + inDigests);
        Assert.Equal(individually, p.SentIndividually);
        // At most one digest per interval.
        var digestTimes = msgs.Where(m => m.Kind == NotifyKind.Digest).Select(m => m.Time).ToList();
        for (int i = 1; i < digestTimes.Count - 1; i++) Assert.True(digestTimes[i] - digestTimes[i - 1] >= o.DigestInterval);
    }

    [Fact]
    public void Property_every_considered_event_is_sent_or_counted_exactly_once()
    {
        var gen = Gen.Choose(0, 1000).ArrayOf();
        Prop.ForAll(gen.ToArbitrary(), steps =>
        {
            var (p, t) = Make(new NotifyPolicyOptions { MaxImmediatePerInterval = 2, DigestInterval = TimeSpan.FromMinutes(1), DedupWindow = TimeSpan.FromMinutes(5),
                Thresholds = [new NotifyThreshold(EventClass.IoError, 2, TimeSpan.FromSeconds(30))] });
            var msgs = new List<NotifyMessage>();
            int considered = 0;
            foreach (var s in steps)
            {
                var cls = (EventClass)(s % Enum.GetValues<EventClass>().Length);
                var sev = (Severity)(s / 7 % 6);
                if (sev >= Severity.Warning) considered++;
                msgs.AddRange(p.Offer(Ev(cls, sev, mount: $"/m{s % 3}", ino: (ulong)(s % 11))));
                t.Advance(TimeSpan.FromSeconds(s % 40));
                msgs.AddRange(p.Tick());
            }
            if (p.FlushDigest() is { } d) msgs.Add(d);
            long total = msgs.Count(m => m.Kind == NotifyKind.Event) + msgs.Where(m => m.Kind == NotifyKind.Digest).SelectMany(m => m.Counts).Sum(c => c.Count);
            return total == considered;
        }).QuickCheckThrowOnFailure();
    }
}
