using System.Diagnostics;
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
        var dll = typeof(FsHealer.Cli.Program).Assembly.Location;

        Process Start(string? duration)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { dll, "run", "--offline-repair", "--poll-interval", "1", "--state-dir", state }) psi.ArgumentList.Add(a);
            if (duration is not null) { psi.ArgumentList.Add("--duration"); psi.ArgumentList.Add(duration); }
            psi.Environment["PATH"] = fake + ":" + Environment.GetEnvironmentVariable("PATH");
            return Process.Start(psi)!;
        }

        var daemon = Start(null);
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        try
        {
            Wait(() => output.Any(l => l.Contains($"{fs.Mnt}: ext4 filesystem attached")), "attach");
            File.WriteAllText($"/sys/fs/ext4/{Path.GetFileName(fs.Loop!)}/trigger_fs_error", "1");
            Wait(() => File.Exists(marker), "the (fake) e2fsck to start — i.e. the daemon to unmount and begin repairing");
            daemon.Kill(); // SIGKILL
            daemon.WaitForExit(10_000);
        }
        finally
        {
            if (!daemon.HasExited) daemon.Kill();
            // the fake e2fsck's pid (its sleep exec'd in place): never a kill by name, other sessions run `sleep 60` too
            if (File.Exists(marker) && int.TryParse(File.ReadAllText(marker).Trim(), out int fsck)) Sh.Run("kill", fsck.ToString());
        }
        Assert.False(Sh.Run("mountpoint", "-q", fs.Mnt).Code == 0, "the interrupted repair should have left the filesystem unmounted");

        // restart: the interrupted action is reported once, with the mount state, and recorded
        var again = Start("2");
        var so = again.StandardOutput.ReadToEndAsync();
        var se = again.StandardError.ReadToEnd();
        again.WaitForExit(30_000);
        TestContext.Current.TestOutputHelper?.WriteLine(se + so.Result);
        Assert.Contains($"{fs.Mnt}: INTERRUPTED:", se);
        Assert.Contains("NOT MOUNTED", se);
        Assert.Contains(fs.Loop!, se);

        var hist = Sh.Fshealer("history", "--state-dir", state, "--class", "ActionInterrupted", "--json");
        Assert.Equal(0, hist.Code);
        Assert.Contains("ActionInterrupted", hist.Out);
        // reported once: a third start does not report it again
        var third = Start("1");
        var se3 = third.StandardError.ReadToEnd();
        third.WaitForExit(30_000);
        Assert.DoesNotContain("INTERRUPTED", se3);
        // the history database is intact after the kill
        using var store = FsHealer.State.HistoryStore.Open(state, out var err, readOnly: true);
        Assert.NotNull(store);
        Assert.Equal("ok", store!.IntegrityCheck());
    }

    private static void Wait(Func<bool> cond, string what, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }
}
