using System.Diagnostics;
using FsHealer.Service.Live;

namespace FsHealer.Scenario.Tests.Reliability;

/// <summary>The state directory's daemon lock (open file description lock): exclusive, testable without being
/// taken, released with the holder, never inherited by a child process.</summary>
public sealed class DaemonLockTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-lock-").FullName;
    private string State => Path.Combine(_dir, "state");

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    // After the holder closes its descriptor the lock is gone — unless another thread of this test process has just
    // forked and not yet exec'd (the child briefly shares the descriptor until close-on-exec drops it): allow 2 s.
    private static bool ReleasedSoon(string state)
    {
        var sw = Stopwatch.StartNew();
        while (DaemonLock.Probe(state, out _, out _) != false)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(2)) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [Fact]
    public void Exclusive_names_the_holder_and_is_released_on_dispose()
    {
        Assert.False(DaemonLock.Probe(State, out var pid, out var err));   // never ran here: no lock file
        Assert.Null(pid);
        Assert.Null(err);

        using (var held = DaemonLock.TryAcquire(State, out var st, out err))
        {
            Assert.NotNull(held);
            Assert.Equal(LockState.Acquired, st);
            Assert.Null(err);
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(held.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(held.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(State));

            // a second holder (even in the same process: the lock belongs to the open file description) is refused
            Assert.Null(DaemonLock.TryAcquire(State, out st, out err));
            Assert.Equal(LockState.HeldByAnother, st);
            Assert.Equal($"another fshealer daemon (pid {Environment.ProcessId}) is running with state directory {State} " +
                         $"(it holds {Path.Combine(State, DaemonLock.FileName)}); stop it first", err);
            // the refused attempt did not clobber the holder's pid
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(held.Path));

            Assert.True(DaemonLock.Probe(State, out pid, out err));
            Assert.Equal(Environment.ProcessId, pid);
            // probing takes no lock: the holder is still the only one, and probing twice changes nothing
            Assert.True(DaemonLock.Probe(State, out _, out _));
        }
        Assert.True(ReleasedSoon(State));
        Assert.False(DaemonLock.Probe(State, out pid, out err));
        Assert.Null(pid);
        using var again = DaemonLock.TryAcquire(State, out _, out err);
        Assert.NotNull(again);
    }

    [Fact]
    public void A_child_process_does_not_inherit_the_lock()
    {
        var held = DaemonLock.TryAcquire(State, out _, out var err);
        Assert.NotNull(held);
        using var child = Process.Start(new ProcessStartInfo("sleep", "30"))!;   // like e2fsck run by the daemon
        try
        {
            held.Dispose();   // the daemon is gone; its long-running child is not
            Assert.True(ReleasedSoon(State), "the child kept the daemon lock (descriptor not close-on-exec)");
            using var next = DaemonLock.TryAcquire(State, out _, out err);
            Assert.NotNull(next);
        }
        finally { child.Kill(); child.WaitForExit(); }
    }

    [Fact]
    public void Unusable_state_directory_is_a_clear_error()
    {
        var file = Path.Combine(_dir, "not-a-dir");
        File.WriteAllText(file, "x");
        Assert.Null(DaemonLock.TryAcquire(file, out var st, out var err));
        Assert.Equal(LockState.Unavailable, st);   // the daemon runs on without the lock (and says why)
        Assert.Contains(file, err);
    }
}
