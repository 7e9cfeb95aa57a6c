using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Scenario.Tests.Notify;

internal sealed class ManualTime : TimeProvider
{
    private DateTimeOffset _now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    public override DateTimeOffset GetUtcNow() { lock (this) return _now; }
    public void Advance(TimeSpan t) { lock (this) _now += t; }
}

public class DispatcherTests
{
    /// <summary>End to end: 10,000 events through the dispatcher to a real webhook listener and a fake sendmail.
    /// Each destination receives at most (5 + 1) × (4 + 1) = 30 messages for one hour of flood (plus the
    /// resolved message at the end), and the digests' counts add up to every event not sent individually.</summary>
    [Fact]
    public void Flood_reaches_each_destination_as_a_bounded_number_of_messages_and_then_resolved()
    {
        using var d = new TempDir();
        using var srv = new RecordingServer();
        var mailLog = d.File("mails");
        var fake = d.Script("sendmail", $"cat >/dev/null; echo mail >> '{mailLog}'");
        var time = new ManualTime();
        var opts = new NotifyPolicyOptions { SettleTime = TimeSpan.FromMinutes(10) };
        var log = new List<string>();
        using var web = new WebhookDestination(new WebhookSettings(new Uri($"http://127.0.0.1:{srv.Port}/n"), WebhookFormat.Json, new Dictionary<string, string>(), TimeSpan.FromSeconds(5)));
        var disp = new NotifyDispatcher(new NotificationPolicy(opts, time), [web, new SendmailDestination(new EmailSettings(["root"], "f", fake))], time, l => { lock (log) log.Add(l); }, TimeSpan.FromDays(1));
        var rnd = new Random(1);
        for (int i = 0; i < 10_000; i++)
        {
            disp.Publish(new FsEvent { Class = i % 2 == 0 ? EventClass.MetadataSick : EventClass.IoError, Severity = Severity.Error, Mount = $"/m{rnd.Next(4)}", FsType = "xfs", Inode = (ulong)rnd.Next(100000), Message = $"event {i}" });
            time.Advance(TimeSpan.FromMilliseconds(360));
            disp.Tick();
        }
        foreach (var m in new[] { "/m0", "/m1", "/m2", "/m3" })
            disp.Publish(new FsEvent { Class = EventClass.RepairSucceeded, Severity = Severity.Notice, Mount = m, FsType = "xfs", Message = "repaired" });
        time.Advance(TimeSpan.FromMinutes(11));
        disp.Tick();
        Assert.True(disp.Drain(TimeSpan.FromSeconds(60)));
        disp.Dispose();
        Assert.Empty(log);
        var bodies = srv.Requests.Select(r => System.Text.Json.JsonDocument.Parse(r.Body).RootElement).ToList();
        int events = bodies.Count(b => b.GetProperty("kind").GetString() == "event");
        var digests = bodies.Where(b => b.GetProperty("kind").GetString() == "digest").ToList();
        long digestCount = digests.SelectMany(b => b.GetProperty("counts").EnumerateArray()).Sum(c => c.GetProperty("count").GetInt64());
        int resolved = bodies.Count(b => b.GetProperty("kind").GetString() == "resolved");
        TestContext.Current.TestOutputHelper?.WriteLine($"webhook got {bodies.Count} messages: {events} individual, {digests.Count} digests ({digestCount} events), {resolved} resolved");
        Assert.Equal(4, resolved);
        Assert.True(bodies.Count - resolved <= 30, $"{bodies.Count - resolved} > 30");
        Assert.Equal(10_000, events + digestCount);
        Assert.Equal(bodies.Count, File.ReadAllLines(mailLog).Length);
    }
}
