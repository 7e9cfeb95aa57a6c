using System.Text.Json;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>
/// One daemon per state directory, end to end with real processes: a second <c>fshealer run</c> on the same state
/// directory refuses (naming the running one's pid), <c>status</c> reports whether a daemon runs, and kill -9 frees
/// the state directory for the next start.
/// </summary>
public class SingleInstanceTests
{
    [Fact]
    public void A_second_daemon_on_the_same_state_directory_refuses_and_status_sees_the_first()
    {
        Sh.RequireRoot();
        var dir = Directory.CreateTempSubdirectory("fshealer-single-").FullName;
        var state = Path.Combine(dir, "state");
        using var first = DaemonProcess.Run("--poll-interval", "60", "--state-dir", state);
        try
        {
            first.WaitFor(() => first.HasLine(l => l.Contains("watching")), "the first daemon to start", 30);

            var second = Sh.Fshealer("run", "--poll-interval", "60", "--state-dir", state, "--duration", "5");
            TestContext.Current.TestOutputHelper?.WriteLine($"second: exit {second.Code}\n{second.Err}{second.Out}");
            Assert.Equal(1, second.Code);
            Assert.Contains($"another fshealer daemon (pid {first.Pid}) is running with state directory {state}", second.Err);
            Assert.DoesNotContain("watching", second.Out + second.Err);

            var (running, pid) = Probe(state);
            Assert.True(running);
            Assert.Equal(first.Pid, pid);
            Assert.Contains($"daemon: running (pid {first.Pid})", Sh.Fshealer("status", "--state-dir", state).Out);

            first.Kill();   // SIGKILL: no cleanup runs, the kernel drops the lock with the process
            Assert.True(first.Process.HasExited);
            (running, pid) = Probe(state);
            Assert.False(running);
            Assert.Null(pid);

            var third = Sh.Fshealer("run", "--poll-interval", "60", "--state-dir", state, "--duration", "1");
            TestContext.Current.TestOutputHelper?.WriteLine($"third: exit {third.Code}\n{third.Err}{third.Out}");
            Assert.Equal(0, third.Code);
            Assert.Contains("watching", third.Out + third.Err);
        }
        finally
        {
            first.Kill();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>The root filesystem remounted read-only after errors is exactly when the daemon must keep working: a
    /// state directory that cannot hold the lock is a warning, not a reason to refuse.</summary>
    [Fact]
    public void A_read_only_state_directory_does_not_stop_the_daemon()
    {
        Sh.RequireRoot();
        var dir = Directory.CreateTempSubdirectory("fshealer-rostate-").FullName;
        try
        {
            Sh.Check("mount", "-t", "tmpfs", "-o", "size=1m", "fshealer-rostate", dir);
            Directory.CreateDirectory(Path.Combine(dir, "state"));
            Sh.Check("mount", "-o", "remount,ro", dir);
            var r = Sh.Fshealer("run", "--poll-interval", "60", "--state-dir", Path.Combine(dir, "state"), "--duration", "1");
            TestContext.Current.TestOutputHelper?.WriteLine($"exit {r.Code}\n{r.Err}{r.Out}");
            Assert.Equal(0, r.Code);
            Assert.Contains("watching", r.Out + r.Err);
            Assert.Contains($"{Path.Combine(dir, "state", FsHealer.Service.Live.DaemonLock.FileName)}: open: EROFS (Read-only file system); " +
                            "running without the single-instance lock", r.Err);
        }
        finally
        {
            Sh.Run("umount", dir);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static (bool Running, int? Pid) Probe(string state)
    {
        var r = Sh.Fshealer("status", "--state-dir", state, "--json");
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        return (root.GetProperty("daemon_running").GetBoolean(),
                root.GetProperty("daemon_pid").ValueKind == JsonValueKind.Number ? root.GetProperty("daemon_pid").GetInt32() : null);
    }
}
