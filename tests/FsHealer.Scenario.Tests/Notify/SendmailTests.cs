using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Notify.Live;

namespace FsHealer.Scenario.Tests.Notify;

public class SendmailTests
{
    [Fact]
    public void Message_goes_to_sendmail_dash_t_on_stdin()
    {
        using var d = new TempDir();
        var bin = Directory.CreateDirectory(d.File("bin")).FullName;
        var rec = d.File("mail.txt");
        var fake = Path.Combine(bin, "sendmail");
        File.WriteAllText(fake, $"#!/bin/sh\necho \"ARGS: $*\" > '{rec}'\ncat >> '{rec}'\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0b111_101_101);
        var dest = new SendmailDestination(new EmailSettings(["root", "ops@example.com"], "fshealer@h", "sendmail"), searchPath: bin);
        Assert.Equal(fake, dest.Resolve());
        var m = new NotifyMessage(NotifyKind.Event, Severity.Error, "[fshealer] error: ioerror on /srv", "line 1\n.\nline 3\n", DateTimeOffset.UnixEpoch);
        var r = dest.Send(m);
        Assert.True(r.Ok, r.Detail);
        var text = File.ReadAllText(rec);
        Assert.StartsWith("ARGS: -t -oi\n", text);
        Assert.Contains("To: root, ops@example.com\n", text);
        Assert.Contains("From: fshealer@h\n", text);
        Assert.Contains("Subject: [fshealer] error: ioerror on /srv\n", text);
        Assert.Contains("Auto-Submitted: auto-generated\n", text);
        Assert.Contains("\n\nline 1\n..\nline 3\n", text);   // a lone "." would end the message for some MTAs
    }

    [Fact]
    public void Missing_or_failing_sendmail_is_reported()
    {
        using var d = new TempDir();
        var m = new NotifyMessage(NotifyKind.Test, Severity.Notice, "s", "b", DateTimeOffset.UnixEpoch);
        var r = new SendmailDestination(new EmailSettings(["root"], "f", "no-such-sendmail"), searchPath: d.Path).Send(m);
        Assert.False(r.Ok);
        Assert.Contains("\"no-such-sendmail\" not found", r.Detail);
        var bad = d.Script("badmail", "cat >/dev/null; echo 'queue full' >&2; exit 75");
        var r2 = new SendmailDestination(new EmailSettings(["root"], "f", bad)).Send(m);
        Assert.False(r2.Ok);
        Assert.Contains("exited 75: queue full", r2.Detail);
    }

    [Fact]
    public void Subject_cannot_inject_headers()
    {
        var text = SendmailDestination.Compose(new EmailSettings(["root"], "f", "sendmail"),
            new NotifyMessage(NotifyKind.Event, Severity.Error, "evil\nBcc: victim@example.com", "b", DateTimeOffset.UnixEpoch));
        Assert.DoesNotContain("\nBcc:", text);
    }
}
