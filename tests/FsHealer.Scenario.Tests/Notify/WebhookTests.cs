using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Scenario.Tests.Notify;

/// <summary>A local HTTP listener on 127.0.0.1 that records requests.</summary>
internal sealed class RecordingServer : IDisposable
{
    public sealed record Req(string Method, string Url, string ContentType, Dictionary<string, string> Headers, string Body);
    private readonly HttpListener _l = new();
    private readonly Thread _t;
    public List<Req> Requests { get; } = [];
    public int Status { get; set; } = 200;
    public int Port { get; }

    public RecordingServer()
    {
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try { _l.Prefixes.Add($"http://127.0.0.1:{Port}/"); _l.Start(); break; }
            catch (HttpListenerException) when (attempt < 5) { _l.Prefixes.Clear(); }
        }
        _t = new Thread(() =>
        {
            while (_l.IsListening)
            {
                HttpListenerContext c;
                try { c = _l.GetContext(); } catch (Exception) { return; }
                using var sr = new StreamReader(c.Request.InputStream, Encoding.UTF8);
                var headers = c.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => c.Request.Headers[k]!);
                lock (Requests) Requests.Add(new Req(c.Request.HttpMethod, c.Request.Url!.PathAndQuery, c.Request.ContentType ?? "", headers, sr.ReadToEnd()));
                c.Response.StatusCode = Status;
                c.Response.Close();
            }
        }) { IsBackground = true };
        _t.Start();
    }

    public void Dispose()
    {
        // The managed HttpListener can fail to re-resolve its endpoint while closing (EADDRINUSE); the socket is closed anyway.
        try { _l.Stop(); _l.Close(); } catch (HttpListenerException) { }
    }
}

public class WebhookTests
{
    private static NotifyMessage Msg() => new(NotifyKind.Event, Severity.Critical, "[fshealer] critical: shutdown on /srv", "XFS shut down\n", DateTimeOffset.FromUnixTimeSeconds(1_800_000_000))
    {
        Event = new FsEvent { Class = EventClass.Shutdown, Severity = Severity.Critical, Mount = "/srv", FsType = "xfs", Device = "/dev/sdb", Message = "XFS shut down" },
        Mount = "/srv",
    };

    [Fact]
    public void Json_post_carries_the_event_and_the_configured_auth_header()
    {
        using var srv = new RecordingServer();
        var url = new Uri($"http://127.0.0.1:{srv.Port}/hook?token=TOPSECRET");
        using var w = new WebhookDestination(new WebhookSettings(url, WebhookFormat.Json, new Dictionary<string, string> { ["Authorization"] = "Bearer HEADERSECRET" }, TimeSpan.FromSeconds(5)), "host1");
        var r = w.Send(Msg());
        Assert.True(r.Ok, r.Detail);
        var req = Assert.Single(srv.Requests);
        Assert.Equal("POST", req.Method);
        Assert.Equal("/hook?token=TOPSECRET", req.Url);
        Assert.StartsWith("application/json", req.ContentType);
        Assert.Equal("Bearer HEADERSECRET", req.Headers["Authorization"]);
        using var doc = JsonDocument.Parse(req.Body);
        var root = doc.RootElement;
        Assert.Equal("event", root.GetProperty("kind").GetString());
        Assert.Equal("critical", root.GetProperty("severity").GetString());
        Assert.Equal("shutdown", root.GetProperty("class").GetString());
        Assert.Equal("/srv", root.GetProperty("mount").GetString());
        Assert.Equal("/dev/sdb", root.GetProperty("device").GetString());
        Assert.Equal("host1", root.GetProperty("host").GetString());
        // The destination's name never shows the secrets.
        Assert.DoesNotContain("SECRET", w.Name);
        Assert.Equal($"webhook http://127.0.0.1:{srv.Port}/hook (credentials redacted) (json)", w.Name);
    }

    [Fact]
    public void Text_and_slack_formats()
    {
        using var srv = new RecordingServer();
        using var t = new WebhookDestination(new WebhookSettings(new Uri($"http://127.0.0.1:{srv.Port}/fshealer"), WebhookFormat.Text, new Dictionary<string, string>(), TimeSpan.FromSeconds(5)));
        using var s = new WebhookDestination(new WebhookSettings(new Uri($"http://127.0.0.1:{srv.Port}/slack"), WebhookFormat.Slack, new Dictionary<string, string>(), TimeSpan.FromSeconds(5)));
        Assert.True(t.Send(Msg()).Ok);
        Assert.True(s.Send(Msg()).Ok);
        var text = srv.Requests[0];
        Assert.StartsWith("text/plain", text.ContentType);
        Assert.Equal("XFS shut down\n", text.Body);
        Assert.Equal("[fshealer] critical: shutdown on /srv", text.Headers["Title"]);
        Assert.Equal("5", text.Headers["Priority"]);
        using var doc = JsonDocument.Parse(srv.Requests[1].Body);
        Assert.Equal("*[fshealer] critical: shutdown on /srv*\nXFS shut down\n", doc.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void Failures_are_reported_without_secrets()
    {
        using var srv = new RecordingServer { Status = 403 };
        var log = new List<string>();
        using var w = new WebhookDestination(new WebhookSettings(new Uri($"http://user:PASSWORD@127.0.0.1:{srv.Port}/x?key=QUERYSECRET"), WebhookFormat.Json,
            new Dictionary<string, string> { ["Authorization"] = "Bearer HEADERSECRET" }, TimeSpan.FromSeconds(5)));
        var r = w.Send(Msg());
        Assert.False(r.Ok);
        Assert.Contains("HTTP 403", r.Detail);
        // Connection refused: the exception text must not leak the URL's secrets either.
        int closed;
        { var p = new TcpListener(IPAddress.Loopback, 0); p.Start(); closed = ((IPEndPoint)p.LocalEndpoint).Port; p.Stop(); }
        using var w2 = new WebhookDestination(new WebhookSettings(new Uri($"http://user:PASSWORD@127.0.0.1:{closed}/x?key=QUERYSECRET"), WebhookFormat.Json,
            new Dictionary<string, string> { ["Authorization"] = "Bearer HEADERSECRET" }, TimeSpan.FromSeconds(5)));
        var r2 = w2.Send(Msg());
        Assert.False(r2.Ok);
        // Through the dispatcher's log as well.
        using var disp = new NotifyDispatcher(new NotificationPolicy(new NotifyPolicyOptions(), TimeProvider.System), [w, w2], TimeProvider.System, log.Add, TimeSpan.FromHours(1));
        disp.Publish(Msg().Event!);
        Assert.True(disp.Drain(TimeSpan.FromSeconds(20)));
        var all = string.Join("\n", log) + "\n" + r.Detail + "\n" + r2.Detail + "\n" + w.Name + w2.Name;
        TestContext.Current.TestOutputHelper?.WriteLine(all);
        Assert.Equal(2, log.Count);
        Assert.DoesNotContain("SECRET", all);
        Assert.DoesNotContain("PASSWORD", all);
        // A configured Authorization header wins over user info in the URL.
        Assert.Equal("Bearer HEADERSECRET", srv.Requests[0].Headers["Authorization"]);
    }
}
