using FsHealer.Cli.Commands;
using FsHealer.Mounts.Live;

namespace FsHealer.Scenario.Tests.Notify;

public class NotifyCommandTests
{
    [Fact]
    public void Test_sends_to_every_destination_and_reports_each()
    {
        using var d = new TempDir();
        using var srv = new RecordingServer();
        var hooks = Directory.CreateDirectory(d.File("hooks.d")).FullName;
        File.SetUnixFileMode(hooks, (UnixFileMode)0b111_101_101);
        var marker = d.File("hook-ran");
        var hook = Path.Combine(hooks, "test-touch.sh");
        File.WriteAllText(hook, $"#!/bin/sh\necho \"$FSHEALER_CLASS\" > '{marker}'\n");
        File.SetUnixFileMode(hook, (UnixFileMode)0b111_101_101);
        var mail = d.File("mail");
        var sendmail = d.Script("sendmail", $"cat > '{mail}'");
        var cfg = d.File("fshealer.json");
        File.WriteAllText(cfg, $$"""
            {
              // other sections belong to other parts of fshealer
              "notify": {
                "hooks": { "dir": "{{hooks}}" },
                "email": { "to": ["root"], "sendmail": "{{sendmail}}" },
                "webhooks": [ { "url": "http://127.0.0.1:{{srv.Port}}/t?token=S3CRET" },
                              { "url": "http://127.0.0.1:1/unreachable" } ]
              }
            }
            """);
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = NotifyCommand.Test(cfg, o, e);
        var text = o.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(text + e);
        // Running as root the hook is accepted; unprivileged the ownership check refuses it (and says so).
        bool root = FsHealer.Interop.Libc.IsRoot;
        Assert.Equal(1, rc);   // the unreachable webhook fails
        Assert.Contains($"{(root ? "ok    " : "FAILED")} hooks {hooks}", text);
        Assert.Contains("ok     email to root", text);
        Assert.Contains($"ok     webhook http://127.0.0.1:{srv.Port}/t (credentials redacted) (json): HTTP 200", text);
        Assert.Contains("FAILED webhook http://127.0.0.1:1/unreachable (json)", text);
        Assert.DoesNotContain("S3CRET", text + e);
        Assert.Contains("Subject: [fshealer] ", File.ReadAllText(mail));
        Assert.Single(srv.Requests);
        if (root) Assert.Equal("test", File.ReadAllText(marker).Trim());
    }

    [Fact]
    public void Bad_config_exits_78_with_line_and_column()
    {
        using var d = new TempDir();
        var cfg = d.File("bad.json");
        File.WriteAllText(cfg, "{\n  \"notify\": { \"min_severity\": }\n}");
        var e = new StringWriter();
        Assert.Equal(78, NotifyCommand.Test(cfg, new StringWriter(), e));
        Assert.Contains("bad.json:2:", e.ToString());
        File.WriteAllText(cfg, """{ "notify": { "min_severity": "loud" } }""");
        e = new StringWriter();
        Assert.Equal(78, NotifyCommand.Test(cfg, new StringWriter(), e));
        Assert.Contains("$.notify.min_severity: unknown severity \"loud\"", e.ToString());
    }
}
