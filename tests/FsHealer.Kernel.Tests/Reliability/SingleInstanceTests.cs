using System.Diagnostics;
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
        var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "run", "--poll-interval", "60", "--state-dir", state }) psi.ArgumentList.Add(a);
        var first = Process.Start(psi)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        first.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        first.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        first.BeginOutputReadLine();
        first.BeginErrorReadLine();
        try
        {
            var sw = Stopwatch.StartNew();
            while (!output.Any(l => l.Contains("watching")) && sw.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(50);
            Assert.True(output.Any(l => l.Contains("watching")), "the first daemon did not start:\n" + string.Join('\n', output));

            var second = Sh.Fshealer("run", "--poll-interval", "60", "--state-dir", state, "--duration", "5");
            TestContext.Current.TestOutputHelper?.WriteLine($"second: exit {second.Code}\n{second.Err}{second.Out}");
            Assert.Equal(1, second.Code);
            Assert.Contains($"another fshealer daemon (pid {first.Id}) is running with state directory {state}", second.Err);
            Assert.DoesNotContain("watching", second.Out + second.Err);

            var (running, pid) = Probe(state);
            Assert.True(running);
            Assert.Equal(first.Id, pid);
            Assert.Contains($"daemon: running (pid {first.Id})", Sh.Fshealer("status", "--state-dir", state).Out);

            first.Kill();   // SIGKILL: no cleanup runs, the kernel drops the lock with the process
            Assert.True(first.WaitForExit(10_000));
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
            if (!first.HasExited) { first.Kill(); first.WaitForExit(10_000); }
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
