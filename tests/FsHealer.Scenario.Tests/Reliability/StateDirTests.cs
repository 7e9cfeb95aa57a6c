using FsHealer.Interop;
using FsHealer.Service.History.Live;
using FsHealer.Service.Live;

namespace FsHealer.Scenario.Tests.Reliability;

/// <summary>Issue 16: a state directory someone else could control is refused, with the reason, like sshd's
/// StrictModes — a symbolic link (it used to be followed and its target chmod-ed to 0700), another owner, group or
/// world write permission — and so is a symbolic link as fshealer.lock or history.db. A private directory that is
/// merely too open for reading (0755) is still tightened to 0700.</summary>
public sealed class StateDirTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-statedir-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private string Sub(string name) => Path.Combine(_dir, name);

    [Fact]
    public void A_symlinked_state_directory_is_refused_and_its_target_left_alone()
    {
        var target = Directory.CreateDirectory(Sub("target")).FullName;
        File.SetUnixFileMode(target, (UnixFileMode)0b111_101_101);   // 0755
        var link = Sub("state");
        File.CreateSymbolicLink(link, target);

        using var held = DaemonLock.TryAcquire(link, out var st, out var why);
        Assert.Null(held);
        Assert.Equal(LockState.Unsafe, st);
        Assert.Equal($"refusing state directory {link}: it is a symbolic link (to {target}); use a real directory owned by " +
                     $"{(Libc.IsRoot ? "root" : $"uid {Libc.geteuid()}")} with mode 0700 (or set state_dir / --state-dir)", why);
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(target));   // not chmod-ed
        Assert.Empty(Directory.GetFileSystemEntries(target));                          // nothing created in it
        Assert.Null(HistoryStore.Open(link, out var herr));
        Assert.Contains("is a symbolic link", herr);
    }

    [Theory]
    [InlineData(0b111_111_000, "is group-writable (mode 770)")]
    [InlineData(0b111_101_111, "is world-writable (mode 757)")]
    [InlineData(0b111_111_111, "is group- and world-writable (mode 777)")]
    public void A_group_or_world_writable_state_directory_is_refused(int mode, string reason)
    {
        var state = Directory.CreateDirectory(Sub("state")).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)mode);
        Assert.Null(DaemonLock.TryAcquire(state, out var st, out var why));
        Assert.Equal(LockState.Unsafe, st);
        Assert.Contains(reason, why);
        Assert.Equal((UnixFileMode)mode, File.GetUnixFileMode(state));
        Assert.Null(HistoryStore.Open(state, out var herr));
        Assert.Contains(reason, herr);
    }

    [Fact]
    public void A_state_directory_owned_by_another_user_is_refused()
    {
        if (!Libc.IsRoot) Assert.Skip("needs root (chown to another user)");
        var state = Directory.CreateDirectory(Sub("state")).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_000_000);
        Assert.Equal(0, Chown(state, 65534, 65534));
        Assert.Null(DaemonLock.TryAcquire(state, out var st, out var why));
        Assert.Equal(LockState.Unsafe, st);
        Assert.Contains("is owned by uid 65534, not by root", why);
    }

    private static int Chown(string path, int uid, int gid)
    {
        var p = System.Diagnostics.Process.Start("chown", [$"{uid}:{gid}", path]);
        p.WaitForExit();
        return p.ExitCode;
    }

    [Fact]
    public void A_symlink_as_the_lock_file_or_the_history_is_refused()
    {
        var state = Directory.CreateDirectory(Sub("state")).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_000_000);
        var victim = Sub("victim");
        File.WriteAllText(victim, "keep me");
        File.CreateSymbolicLink(Path.Combine(state, DaemonLock.FileName), victim);
        File.CreateSymbolicLink(Path.Combine(state, HistoryStore.FileName), victim);

        Assert.Null(DaemonLock.TryAcquire(state, out var st, out var why));
        Assert.Equal(LockState.Unsafe, st);
        Assert.Equal($"refusing {Path.Combine(state, DaemonLock.FileName)}: it is a symbolic link (a state file must be a regular file)", why);
        Assert.Null(HistoryStore.Open(state, out var herr));
        Assert.Contains("is a symbolic link", herr);
        Assert.Equal("keep me", File.ReadAllText(victim));
    }

    [Fact]
    public void A_private_directory_that_is_only_too_readable_is_tightened_as_before()
    {
        var state = Directory.CreateDirectory(Sub("state")).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        using var held = DaemonLock.TryAcquire(state, out var st, out var why);
        Assert.NotNull(held);
        Assert.Equal(LockState.Acquired, st);
        Assert.Null(why);
        Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode(state));
    }

    /// <summary>The daemon refuses such a directory at start: exit 78 and the reason, nothing started.</summary>
    [Fact]
    public void Run_refuses_an_unsafe_state_directory_with_exit_78()
    {
        var target = Directory.CreateDirectory(Sub("target")).FullName;
        var link = Sub("state");
        File.CreateSymbolicLink(link, target);
        var cfg = Sub("fshealer.json");
        File.WriteAllText(cfg, "{}");
        var r = FsHealer.Scenario.Tests.Cli.CliConventionTests.Fshealer(["run", "--config", cfg, "--state-dir", link, "--duration", "5s"]);
        Assert.Equal(78, r.Code);
        Assert.Contains($"refusing state directory {link}: it is a symbolic link", r.Err);
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }
}
