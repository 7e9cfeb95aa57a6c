using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Crash;

/// <summary>
/// kill -9 of the real daemon in the middle of an offline repair (e2fsck replaced by a fake that blocks): the
/// filesystem is left unmounted; the next start reports the interrupted action loudly, says the filesystem is not
/// mounted, and records it in the history (intact, integrity-checked).
/// </summary>
public class DaemonCrashTests
{
    [Fact]
    public void KillDuringOfflineRepair_NextStartReportsInterruptedAction()
    {
        using var fs = ScratchFs.Create("ext4", sizeMiB: 32, tag: "crash");
        var dir = fs.Dir;
        var state = Path.Combine(dir, "state");
        var fake = Path.Combine(dir, "fakebin");
        Directory.CreateDirectory(fake);
        var marker = Path.Combine(dir, "e2fsck-running");
        File.WriteAllText(Path.Combine(fake, "e2fsck"), $"#!/bin/sh\necho $$ > {marker}\nexec sleep 60\n");
        File.SetUnixFileMode(Path.Combine(fake, "e2fsck"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var env = new Dictionary<string, string> { ["PATH"] = fake + ":" + Environment.GetEnvironmentVariable("PATH") };
        DaemonProcess Start(params string[] extra) => new(["run", "--offline-repair", "--poll-interval", "1", "--state-dir", state, .. extra], env);

        using (var daemon = Start())
        {
            try
            {
                daemon.WaitFor(() => daemon.HasLine(l => l.Contains($"{fs.Mnt}: ext4 filesystem attached")), "attach", 30);
                File.WriteAllText($"/sys/fs/ext4/{Path.GetFileName(fs.Loop!)}/trigger_fs_error", "1");
                daemon.WaitFor(() => File.Exists(marker), "the (fake) e2fsck to start — i.e. the daemon to unmount and begin repairing", 30);
                daemon.Kill(); // SIGKILL
            }
            finally
            {
                daemon.Kill();
                // the fake e2fsck's pid (its sleep exec'd in place): never a kill by name, other sessions run `sleep 60` too
                if (File.Exists(marker) && int.TryParse(File.ReadAllText(marker).Trim(), out int fsck)) Sh.Run("kill", fsck.ToString());
            }
        }
        Assert.False(Sh.Run("mountpoint", "-q", fs.Mnt).Code == 0, "the interrupted repair should have left the filesystem unmounted");

        // restart: the interrupted action is reported once, with the mount state, and recorded
        using var again = Start("--duration", "2");
        Assert.True(again.WaitForExit(30));
        var se = again.Err;
        TestContext.Current.TestOutputHelper?.WriteLine(again.Output);
        Assert.Contains($"{fs.Mnt}: INTERRUPTED:", se);
        Assert.Contains("NOT MOUNTED", se);
        Assert.Contains(fs.Loop!, se);

        var hist = Sh.Fshealer("history", "--state-dir", state, "--class", "ActionInterrupted", "--json");
        Assert.Equal(0, hist.Code);
        Assert.Contains("\"class\": \"action_interrupted\"", hist.Out);
        // reported once: a third start does not report it again
        using var third = Start("--duration", "1");
        Assert.True(third.WaitForExit(30));
        Assert.DoesNotContain("INTERRUPTED", third.Output);
        // the history database is intact after the kill
        using var store = FsHealer.Service.History.Live.HistoryStore.Open(state, out var err, readOnly: true);
        Assert.NotNull(store);
        Assert.Equal("ok", store!.IntegrityCheck());
    }
}
