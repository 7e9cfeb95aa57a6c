using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FsHealer.Interop;
using FsHealer.Model;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Scenario.Tests.Notify;

/// <summary>A tiny HTTP proxy on 127.0.0.1: records the request line of every request (absolute-form for http,
/// CONNECT for https) and answers 200 to plain requests, 403 to CONNECT.</summary>
internal sealed class RecordingProxy : IDisposable
{
    private readonly TcpListener _l = new(IPAddress.Loopback, 0);
    private readonly Thread _t;
    public List<string> RequestLines { get; } = [];
    public List<string> Bodies { get; } = [];
    public int Port { get; }

    public RecordingProxy()
    {
        _l.Start();
        Port = ((IPEndPoint)_l.LocalEndpoint).Port;
        _t = new Thread(() =>
        {
            while (true)
            {
                TcpClient c;
                try { c = _l.AcceptTcpClient(); } catch (Exception) { return; }
                using (c)
                {
                    try
                    {
                        var s = c.GetStream();
                        s.ReadTimeout = 5000;
                        var head = new StringBuilder();
                        int b;
                        while ((b = s.ReadByte()) >= 0)
                        {
                            head.Append((char)b);
                            if (head.Length >= 4 && head.ToString(head.Length - 4, 4) == "\r\n\r\n") break;
                        }
                        var lines = head.ToString().Split("\r\n");
                        int len = lines.Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)).Select(l => int.Parse(l[15..].Trim())).FirstOrDefault();
                        var body = new byte[len];
                        int got = 0;
                        while (got < len && (b = s.Read(body, got, len - got)) > 0) got += b;
                        lock (RequestLines) { RequestLines.Add(lines[0]); Bodies.Add(Encoding.UTF8.GetString(body, 0, got)); }
                        var resp = lines[0].StartsWith("CONNECT", StringComparison.Ordinal)
                            ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        s.Write(Encoding.ASCII.GetBytes(resp));
                    }
                    catch (IOException) { }
                }
            }
        }) { IsBackground = true };
        _t.Start();
    }

    public void Dispose() => _l.Stop();
}

/// <summary>Issue 16, notifications: ntfy's JSON publish, the proxy from the environment, the hook environment
/// (host, version, filesystem UUID), the example hooks.</summary>
public class NotifyAdminTests
{
    private static readonly uint Me = Libc.geteuid();

    private static NotifyMessage Msg(string host = "db7")
    {
        var e = new FsEvent
        {
            Class = EventClass.IoError, Severity = Severity.Critical, Mount = "/srv", FsType = "ext4", Device = "/dev/loop3",
            Message = "/srv: EIO on inode 12", Time = new DateTimeOffset(2026, 11, 21, 12, 0, 0, 250, TimeSpan.Zero), Inode = 12,
        };
        return new NotifyMessage(NotifyKind.Event, e.Severity, NotificationPolicy.Subject(e, host), NotificationPolicy.Body(e, host), e.Time) { Event = e, Mount = e.Mount };
    }

    [Fact]
    public void Ntfy_json_publish_posts_topic_title_priority_tags_and_the_token()
    {
        using var srv = new RecordingServer();
        var settings = FsHealer.Config.ConfigLoader.Parse("{\"notify\": {\"webhooks\": [{\"url\": \"http://127.0.0.1:" + srv.Port + "/sub/alerts\", \"format\": \"ntfy\", \"token\": \"tk_SECRET\"}]}}").Config!.Notify.Webhooks[0];
        using var w = new WebhookDestination(settings, "db7");
        var r = w.Send(Msg());
        Assert.True(r.Ok, r.Detail);
        var req = Assert.Single(srv.Requests);
        Assert.Equal("/sub/", req.Url);                       // ntfy's JSON goes to the root; the topic is in the body
        Assert.Equal("Bearer tk_SECRET", req.Headers["Authorization"]);
        Assert.StartsWith("application/json", req.ContentType);
        using var doc = JsonDocument.Parse(req.Body);
        var root = doc.RootElement;
        Assert.Equal("alerts", root.GetProperty("topic").GetString());
        Assert.Equal("[fshealer] db7: critical: io_error on /srv", root.GetProperty("title").GetString());
        Assert.Equal(5, root.GetProperty("priority").GetInt32());
        Assert.Equal(["rotating_light", "fshealer", "io_error"], root.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Contains("host:     db7", root.GetProperty("message").GetString());
        Assert.DoesNotContain("SECRET", w.Name);
    }

    [Fact]
    public void Webhooks_go_through_the_proxy_the_environment_names_and_no_proxy_bypasses_it()
    {
        using var proxy = new RecordingProxy();
        var env = new Dictionary<string, string>
        {
            ["http_proxy"] = $"http://127.0.0.1:{proxy.Port}", ["https_proxy"] = $"127.0.0.1:{proxy.Port}",
        };
        var json = new WebhookSettings(new Uri("http://hooks.fshealer-test.invalid:8080/hook?x=1"), WebhookFormat.Json, new Dictionary<string, string>(), TimeSpan.FromSeconds(5));
        using (var w = new WebhookDestination(json, "db7", k => env.GetValueOrDefault(k)))
        {
            Assert.Equal($"http://127.0.0.1:{proxy.Port}/", w.Proxy?.AbsoluteUri);
            var r = w.Send(Msg());
            Assert.True(r.Ok, r.Detail);
        }
        Assert.Equal("POST http://hooks.fshealer-test.invalid:8080/hook?x=1 HTTP/1.1", Assert.Single(proxy.RequestLines));
        Assert.Contains("\"host\":\"db7\"", proxy.Bodies[0]);

        // https: a CONNECT tunnel through the proxy (this one refuses it: the send fails, but it went there)
        var https = json with { Url = new Uri("https://hooks.fshealer-test.invalid/hook") };
        using (var w = new WebhookDestination(https, "db7", k => env.GetValueOrDefault(k)))
            Assert.False(w.Send(Msg()).Ok);
        Assert.Equal("CONNECT hooks.fshealer-test.invalid:443 HTTP/1.1", proxy.RequestLines[1]);

        // no_proxy: straight to the host (which does not exist), the proxy sees nothing more
        env["no_proxy"] = "localhost,.fshealer-test.invalid";
        using (var w = new WebhookDestination(json, "db7", k => env.GetValueOrDefault(k)))
        {
            Assert.Null(w.Proxy);
            Assert.False(w.Send(Msg()).Ok);
        }
        Assert.Equal(2, proxy.RequestLines.Count);
    }

    [Fact]
    public void Hooks_get_the_host_the_version_and_the_filesystem_uuid()
    {
        using var d = new TempDir();
        var outFile = d.File("env.out");
        d.Script("io_error-env.sh", $"env | sort > '{outFile}'");
        var hooks = new HookDestination(new HookSettings(d.Path, TimeSpan.FromSeconds(10)))
        {
            RequiredOwner = Me, Host = "db7", Version = "0.1.0",
            FsUuid = (mount, dev) => mount == "/srv" && dev == "/dev/loop3" ? "0a1b2c3d-0000-4000-8000-000000000001" : null,
        };
        var runs = hooks.Run(Msg());
        Assert.Equal("io_error-env.sh", Path.GetFileName(Assert.Single(runs).Hook));
        var env = File.ReadAllLines(outFile).Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("db7", env["FSHEALER_HOST"]);
        Assert.Equal("0.1.0", env["FSHEALER_VERSION"]);
        Assert.Equal("0a1b2c3d-0000-4000-8000-000000000001", env["FSHEALER_FS_UUID"]);
        Assert.Equal("io_error", env["FSHEALER_CLASS"]);
        Assert.Equal("critical", env["FSHEALER_SEVERITY"]);
        Assert.Equal("2026-11-21T12:00:00.250Z", env["FSHEALER_TIME"]);
        Assert.Equal("[fshealer] db7: critical: io_error on /srv", env["FSHEALER_SUBJECT"]);
    }

    [Fact]
    public void Both_spellings_of_a_class_select_hooks()
    {
        using var d = new TempDir();
        d.Script("io_error-a.sh", "true");
        d.Script("ioerror-b.sh", "true");
        d.Script("media_error-c.sh", "true");
        var hooks = new HookDestination(new HookSettings(d.Path, TimeSpan.FromSeconds(10))) { RequiredOwner = Me };
        Assert.Equal(["io_error-a.sh", "ioerror-b.sh"], hooks.Select(Msg(), out _).Select(Path.GetFileName));
    }

    private static string Repo()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "fshealer.slnx"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>The shipped example hooks: executable, not group/world writable, shellcheck-clean (when shellcheck is
    /// installed), and they do what they say with the environment fshealer gives them (with logger and sendmail
    /// replaced by recorders on PATH).</summary>
    [Fact]
    public void Example_hooks_run_with_the_hook_environment()
    {
        var hooksDir = Path.Combine(Repo(), "packaging", "hooks.d");
        var scripts = Directory.GetFiles(hooksDir).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["all-mail-critical.sh", "all-syslog.sh"], scripts.Select(Path.GetFileName));
        foreach (var s in scripts)
        {
            var mode = File.GetUnixFileMode(s);
            Assert.True(mode.HasFlag(UnixFileMode.UserExecute), $"{s} is not executable");
            Assert.False(mode.HasFlag(UnixFileMode.GroupWrite) || mode.HasFlag(UnixFileMode.OtherWrite), $"{s} is writable by others");
        }
        if (Run("sh", ["-c", "command -v shellcheck"], null).Code == 0)
        {
            var sc = Run("shellcheck", scripts, null);
            Assert.True(sc.Code == 0, sc.Out + sc.Err);
        }
        else TestContext.Current.TestOutputHelper?.WriteLine("shellcheck is not installed: lint skipped");

        using var d = new TempDir();
        var bin = Directory.CreateDirectory(d.File("bin")).FullName;
        var log = d.File("calls");
        foreach (var tool in new[] { "logger", "sendmail" })
        {
            File.WriteAllText(Path.Combine(bin, tool), $"#!/bin/sh\necho \"{tool} $*\" >> '{log}'\ncat >> '{log}' 2>/dev/null || true\n");
            File.SetUnixFileMode(Path.Combine(bin, tool), (UnixFileMode)0b111_101_101);
        }
        var env = HookDestination.Environment(Msg(), 1, "db7", "0.1.0", "0a1b2c3d-0000-4000-8000-000000000001");
        env["PATH"] = bin + ":" + env["PATH"];
        // the mail hook looks for sendmail by absolute path: point it at the recorder for the test
        var mailHook = d.File("all-mail-critical.sh");
        File.WriteAllText(mailHook, File.ReadAllText(scripts[0]).Replace("for s in /usr/sbin/sendmail /usr/lib/sendmail; do", $"for s in {bin}/sendmail; do"));
        var r1 = Run("sh", [scripts[1]], env);
        Assert.True(r1.Code == 0, r1.Err);
        var r2 = Run("sh", [mailHook], env);
        Assert.True(r2.Code == 0, r2.Err);
        var calls = File.ReadAllText(log);
        Assert.Contains("logger -t fshealer-hook -p daemon.crit -- io_error: [fshealer] db7: critical: io_error on /srv (device /dev/loop3) (uuid 0a1b2c3d-0000-4000-8000-000000000001)", calls);
        Assert.Contains("sendmail -t -oi", calls);
        Assert.Contains("Subject: [fshealer] db7: critical: io_error on /srv", calls);
        Assert.Contains("uuid:    0a1b2c3d-0000-4000-8000-000000000001", calls);
        // not critical: the mail hook stays quiet
        File.Delete(log);
        env["FSHEALER_SEVERITY"] = "warning";
        Assert.Equal(0, Run("sh", [mailHook], env).Code);
        Assert.False(File.Exists(log) && File.ReadAllText(log).Contains("sendmail"));
    }

    private static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, Dictionary<string, string>? env)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) { psi.Environment.Clear(); foreach (var (k, v) in env) psi.Environment[k] = v; }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit(30_000);
        return (p.ExitCode, o.Result, e.Result);
    }
}
