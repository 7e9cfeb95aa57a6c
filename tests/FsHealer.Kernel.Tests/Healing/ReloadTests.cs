using FsHealer.Interop;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>SIGHUP reloads everything, atomically: the policies of filesystems already attached (said per filesystem,
/// their watchers restarted), the notification destinations; a broken file — or a broken notification section in an
/// otherwise good file — changes nothing.</summary>
[Collection("ext4-kernel")]
public class ReloadTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string Hook(string dir, string log)
    {
        Directory.CreateDirectory(dir);
        string p = Path.Combine(dir, "all-log");
        File.WriteAllText(p, $"#!/bin/sh\necho \"$FSHEALER_CLASS $FSHEALER_MOUNT\" >> {log}\n");
        File.SetUnixFileMode(p, (UnixFileMode)0b111_101_101);
        return dir;
    }

    [Fact]
    public void Sighup_reloads_policies_of_attached_filesystems_and_notification_destinations_atomically()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        string state = Path.Combine(fs.Dir, "state"), cfg = Path.Combine(fs.Dir, "fshealer.json");
        string logA = Path.Combine(fs.Dir, "a.log"), logB = Path.Combine(fs.Dir, "b.log");
        string hooksA = Hook(Path.Combine(fs.Dir, "hooks-a"), logA), hooksB = Hook(Path.Combine(fs.Dir, "hooks-b"), logB);
        string Config(string policy, string hooks) => $$"""
            { "rules": [ { "name": "mine", "match": { "mount_point": "{{fs.Mnt}}" }, "ext4": { "policy": "{{policy}}" } } ],
              "notify": { "min_severity": "error", "hooks": { "dir": "{{hooks}}" } } }
            """;
        File.WriteAllText(cfg, Config("report", hooksA));
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached") && l.Contains("policy report")), "the attach", 30);

        // a broken file: nothing changes
        File.WriteAllText(cfg, "{ \"rules\": [ }");
        Assert.Equal(0, Libc.Kill(d.Pid, 1 /* SIGHUP */));
        d.WaitFor(() => d.HasLine(l => l.Contains("configuration reload failed, keeping the old one")), "the refused reload", 15);
        // a good file with a broken notification section: nothing changes either (not even the policy)
        File.WriteAllText(cfg, Config("schedule", hooksB).Replace("\"min_severity\": \"error\"", "\"min_severity\": \"loud\""));
        Assert.Equal(0, Libc.Kill(d.Pid, 1));
        d.WaitFor(() => d.Lines.Count(l => l.Contains("configuration reload failed, keeping the old one")) >= 2, "the second refused reload", 15);
        Assert.DoesNotContain(d.Lines, l => l.Contains("policy changed on reload"));

        // a good file: the attached filesystem's policy and the notification destination change
        File.WriteAllText(cfg, Config("schedule", hooksB));
        Assert.Equal(0, Libc.Kill(d.Pid, 1));
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: policy changed on reload: ext4: report errors only") && l.Contains("-> ext4: schedule e2fsck at next boot")), "the policy change", 15);
        d.WaitFor(() => d.HasLine(l => l.Contains("configuration reloaded from") && l.Contains("1 filesystem(s) changed policy")), "the reload summary", 15);
        fs.TriggerFsError("after the reload");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: heal Schedule:")), "the heal under the new policy", 30);
        d.WaitFor(() => File.Exists(logB), "the notification to the new destination", 15);
        Out(d.Output);
        Assert.False(File.Exists(logA), "the old destination got nothing after the reload");
        var status = Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", fs.Mnt);
        Out(status.Out);
        Assert.Contains("schedule", status.Out);   // status shows the policy the daemon applies now
    }
}
