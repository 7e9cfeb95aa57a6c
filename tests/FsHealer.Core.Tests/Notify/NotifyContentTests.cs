using System.Text;
using FsHealer.Model;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Core.Tests.Notify;

/// <summary>Issue 16: the host in every notification, RFC 2047 bounded subjects, one time format, ntfy's JSON,
/// the proxy from the environment.</summary>
public class NotifyContentTests
{
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly DateTimeOffset T = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static FsEvent Ev(string mount = "/srv", string? device = "loop1") => new()
    {
        Time = T.AddSeconds(1), Class = EventClass.MetadataSick, Severity = Severity.Error, Mount = mount, FsType = "xfs",
        Device = device, Message = $"{mount}: inode 133 core is sick", Inode = 133,
    };

    [Fact]
    public void Subject_and_body_name_the_host_with_rfc3339_times_and_device_paths()
    {
        var p = new NotificationPolicy(new NotifyPolicyOptions { HostName = "db7" }, new FixedTime(T));
        var m = Assert.Single(p.Offer(Ev()));
        Assert.Equal("[fshealer] db7: error: metadata_sick on /srv", m.Subject);
        Assert.Contains("host:     db7\n", m.Body);
        Assert.Contains("time:     2026-11-21T12:00:01Z\n", m.Body);
        Assert.Contains("device:   /dev/loop1\n", m.Body);
        Assert.DoesNotContain("+00:00", m.Body);
    }

    [Fact]
    public void Digest_resolved_and_heartbeat_name_the_host()
    {
        var now = T;
        var time = new MovingTime(() => now);
        var p = new NotificationPolicy(new NotifyPolicyOptions { HostName = "db7", MaxImmediatePerInterval = 0, HeartbeatInterval = TimeSpan.FromMinutes(1),
            SettleTime = TimeSpan.FromMinutes(1) }, time);
        p.Offer(Ev());
        now = now.AddMinutes(20);
        var msgs = p.Tick();
        var digest = Assert.Single(msgs, x => x.Kind == NotifyKind.Digest);
        Assert.StartsWith("[fshealer] db7: digest", digest.Subject);
        Assert.Contains("on db7 since 2026-11-21T12:00:00Z", digest.Body);
        Assert.StartsWith("[fshealer] db7: alive", Assert.Single(msgs, x => x.Kind == NotifyKind.Heartbeat).Subject);
    }

    private sealed class MovingTime(Func<DateTimeOffset> now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now();
    }

    [Fact]
    public void Ascii_subject_is_folded_below_78_columns_and_decodes_back()
    {
        var subject = "[fshealer] db7: error: metadata_sick on " + string.Join('/', Enumerable.Range(0, 12).Select(i => $"dir{i}"));
        var h = MailFormat.SubjectHeader(subject);
        Assert.All(h.Split('\n'), l => Assert.True(l.Length <= 78, l));
        Assert.Equal(subject, MailFormat.Decode(h["Subject: ".Length..]));
    }

    [Fact]
    public void Non_ascii_subject_is_rfc2047_encoded_in_short_words()
    {
        var subject = "[fshealer] hôte: error: metadata_sick on /srv/données/日本語/ünïcödé";
        var h = MailFormat.SubjectHeader(subject);
        Assert.All(Encoding.UTF8.GetBytes(h), b => Assert.True(b < 128));
        var lines = h.Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 76, l));
        Assert.Contains("=?UTF-8?B?", h);
        Assert.Equal(subject, MailFormat.Decode(h["Subject: ".Length..]));
    }

    /// <summary>The issue saw a 3,800-byte subject (a deep mount path): every header line now stays under 998 bytes
    /// and the subject keeps its start and end.</summary>
    [Fact]
    public void A_huge_subject_is_bounded_and_keeps_its_start_and_end()
    {
        var mount = "/" + string.Join('/', Enumerable.Repeat("very-long-directory-name", 160)) + "/end";
        var ev = Ev(mount);
        var mail = SendmailDestination.Compose(new EmailSettings(["root"], "fshealer", "sendmail"),
            new NotifyMessage(NotifyKind.Event, Severity.Error, NotificationPolicy.Subject(ev, "db7"), NotificationPolicy.Body(ev, "db7"), T) { Event = ev });
        Assert.True(mount.Length > 3800);
        foreach (var line in mail.Split('\n')) Assert.True(Encoding.UTF8.GetByteCount(line) <= 998, $"{line.Length}: {line[..Math.Min(40, line.Length)]}");
        var subjectLines = mail.Split('\n').SkipWhile(l => !l.StartsWith("Subject: ")).TakeWhile((l, i) => i == 0 || l.StartsWith(' ')).ToList();
        var subject = MailFormat.Decode(string.Join("\n", subjectLines)["Subject: ".Length..]);
        Assert.True(subject.Length <= MailFormat.MaxSubjectChars);
        Assert.StartsWith("[fshealer] db7: error: metadata_sick on /very-long", subject);
        Assert.EndsWith("/end", subject);
        Assert.Contains("...", subject);
        // a line break in a subject cannot inject a header
        var evil = SendmailDestination.Compose(new EmailSettings(["root"], "fshealer", "sendmail"),
            new NotifyMessage(NotifyKind.Test, Severity.Notice, "hi\nBcc: victim@example.com", "body", T));
        Assert.DoesNotContain("\nBcc:", evil);
    }

    [Fact]
    public void Ntfy_payload_has_topic_title_with_host_priority_and_tags()
    {
        var p = new NotificationPolicy(new NotifyPolicyOptions { HostName = "db7" }, new FixedTime(T));
        var m = Assert.Single(p.Offer(Ev() with { Severity = Severity.Critical, Class = EventClass.DataLost }));
        var n = WebhookDestination.Ntfy(m, "alerts");
        Assert.Equal("alerts", n.Topic);
        Assert.Equal("[fshealer] db7: critical: data_lost on /srv", n.Title);
        Assert.Equal(5, n.Priority);
        Assert.Equal(["rotating_light", "fshealer", "data_lost"], n.Tags);
        Assert.Equal(m.Body, n.Message);
        var payload = WebhookDestination.Payload(m, "db7");
        Assert.Equal("data_lost", payload.Class);
        Assert.Equal("critical", payload.Severity);
        Assert.Equal("2026-11-21T12:00:00.000Z", payload.Time);
        Assert.Equal("/dev/loop1", payload.Device);
    }

    [Theory]
    [InlineData("https://hooks.example/x", "https_proxy=http://proxy:3128", "http://proxy:3128/")]
    [InlineData("https://hooks.example/x", "HTTPS_PROXY=proxy:3128", "http://proxy:3128/")]
    [InlineData("http://hooks.example/x", "http_proxy=http://p:1", "http://p:1/")]
    [InlineData("http://hooks.example/x", "https_proxy=http://p:1", null)]
    [InlineData("https://hooks.example/x", "all_proxy=http://p:2", "http://p:2/")]
    [InlineData("https://hooks.example/x", "https_proxy=http://p:1;no_proxy=example", "")]
    [InlineData("https://hooks.example/x", "https_proxy=http://p:1;no_proxy=.example", "")]
    [InlineData("https://hooks.example/x", "https_proxy=http://p:1;NO_PROXY=other.org, hooks.example", "")]
    [InlineData("https://hooks.example/x", "https_proxy=http://p:1;no_proxy=*", "")]
    [InlineData("https://hooks.example/x", "https_proxy=http://p:1;no_proxy=hooks.example:8443", "http://p:1/")]
    [InlineData("https://hooks.example:8443/x", "https_proxy=http://p:1;no_proxy=hooks.example:8443", "")]
    [InlineData("https://notexample/x", "https_proxy=http://p:1;no_proxy=example", "http://p:1/")]
    [InlineData("http://127.0.0.1:9/x", "http_proxy=http://p:1", "")]
    [InlineData("http://localhost:9/x", "http_proxy=http://p:1", "")]
    public void Proxy_from_the_environment(string url, string env, string? proxy)
    {
        var vars = env.Split(';').Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        var got = ProxyRules.For(new Uri(url), k => vars.GetValueOrDefault(k));
        Assert.Equal(string.IsNullOrEmpty(proxy) ? null : proxy, got?.AbsoluteUri);
    }
}
