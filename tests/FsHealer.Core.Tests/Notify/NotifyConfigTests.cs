using System.Text.Json;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Core.Tests.Notify;

public class NotifyConfigTests
{
    private static NotifySettings? Parse(string json, List<string> errors)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        return NotifySettings.Parse(doc.RootElement.Clone(), errors);
    }

    [Fact]
    public void No_section_gives_safe_defaults()
    {
        var s = NotifySettings.Parse(null, []);
        Assert.NotNull(s);
        Assert.Equal(NotifySettings.DefaultHookDir, s.Hooks!.Dir);
        Assert.Null(s.Email);
        Assert.Empty(s.Webhooks);
        Assert.Equal(Severity.Warning, s.Policy.MinSeverity);
        Assert.Null(s.Policy.HeartbeatInterval);
    }

    [Fact]
    public void Full_section_parses()
    {
        var errors = new List<string>();
        var s = Parse("""
            { // comments allowed
              "min_severity": "error", "dedup_seconds": 60, "digest_seconds": 300, "max_immediate_per_digest": 2,
              "settle_seconds": 120, "heartbeat_seconds": 86400,
              "thresholds": [ { "class": "IoError", "count": 5, "within_seconds": 30 } ],
              "hooks": { "dir": "/tmp/h", "timeout_seconds": 5 },
              "email": { "to": ["root", "ops@example.com"], "from": "fshealer@host" },
              "webhooks": [ { "url": "https://ntfy.example/fs?auth=SECRET", "format": "text", "headers": { "Authorization": "Bearer X" } } ]
            }
            """, errors);
        Assert.Empty(errors);
        Assert.NotNull(s);
        Assert.Equal(Severity.Error, s.Policy.MinSeverity);
        Assert.Equal(TimeSpan.FromSeconds(300), s.Policy.DigestInterval);
        Assert.Equal(2, s.Policy.MaxImmediatePerInterval);
        Assert.Equal(TimeSpan.FromDays(1), s.Policy.HeartbeatInterval);
        Assert.Equal(new NotifyThreshold(EventClass.IoError, 5, TimeSpan.FromSeconds(30)), Assert.Single(s.Policy.Thresholds));
        Assert.Equal("/tmp/h", s.Hooks!.Dir);
        Assert.Equal(["root", "ops@example.com"], s.Email!.To);
        Assert.Equal("sendmail", s.Email.Sendmail);
        var w = Assert.Single(s.Webhooks);
        Assert.Equal(WebhookFormat.Text, w.Format);
        Assert.Equal("Bearer X", w.Headers["Authorization"]);
    }

    [Fact]
    public void Errors_name_the_setting_and_never_show_a_secret()
    {
        var errors = new List<string>();
        var s = Parse("""
            { "min_severity": "loud", "digest_seconds": -1, "thresholds": [ { "class": "nosuch" } ],
              "email": { "to": [] },
              "webhooks": [ { "url": "ftp://x/?token=SECRET1" }, { "url": "https://h/p?token=SECRET2", "format": "xml" } ] }
            """, errors);
        Assert.Null(s);
        var all = string.Join("\n", errors);
        Assert.Contains("notify.min_severity: unknown severity \"loud\"", all);
        Assert.Contains("notify.digest_seconds", all);
        Assert.Contains("unknown event class \"nosuch\"", all);
        Assert.Contains("notify.email.to", all);
        Assert.Contains("is not an http(s) URL", all);
        Assert.Contains("\"xml\" is not json, ntfy, text or slack", all);
        Assert.DoesNotContain("SECRET", all);
    }

    [Fact]
    public void Unknown_member_is_an_error()
    {
        var errors = new List<string>();
        Assert.Null(Parse("""{ "digestSecs": 5 }""", errors));
        Assert.Contains("digestSecs", Assert.Single(errors));
    }

    [Fact]
    public void Redact_drops_query_and_user_info()
    {
        Assert.Equal("https://hooks.example:8443/a/b (credentials redacted)", NotifySettings.Redact("https://u:pw@hooks.example:8443/a/b?token=abc"));
        Assert.Equal("http://127.0.0.1/x", NotifySettings.Redact("http://127.0.0.1/x"));
    }
}
