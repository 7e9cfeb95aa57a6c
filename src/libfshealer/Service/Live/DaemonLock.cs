using System.Globalization;
using System.Text;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Service.Live;

/// <summary>What <see cref="DaemonLock.TryAcquire"/> found.</summary>
public enum LockState
{
    Acquired, HeldByAnother, Unavailable,
    /// <summary>The state directory (or the lock file) is a symbolic link, owned by another user, or writable by
    /// others: refused (the message says why); the daemon must not use it.</summary>
    Unsafe,
}

/// <summary>
/// One daemon per state directory: <c>fshealer run</c> holds an open-file-description write lock on
/// <c>&lt;state-dir&gt;/fshealer.lock</c> (which names its pid) for its whole life. A second daemon on the same state
/// directory would heal the same filesystems twice (two offline repairs of one device), so it refuses to start. The
/// kernel drops the lock when the process dies, kill -9 included; the descriptor is close-on-exec, so a repair
/// child (e2fsck, xfs_repair) never inherits it. <see cref="Probe"/> (for <c>fshealer status</c>) tests the lock
/// without taking it.
/// </summary>
public sealed class DaemonLock : IDisposable
{
    public const string FileName = "fshealer.lock";
    private readonly SafeFd _fd;

    public string Path { get; }

    private DaemonLock(SafeFd fd, string path) { _fd = fd; Path = path; }

    /// <summary>Take the lock and write our pid into it. <see cref="LockState.HeldByAnother"/>: another daemon runs here
    /// (the message names its pid) — refuse to start. <see cref="LockState.Unavailable"/>: the state directory cannot
    /// hold a lock (read-only after filesystem errors, not a directory, no permission; the message names the path,
    /// syscall and errno) — a health daemon must still run then, without the guarantee. An acquired lock whose pid
    /// could not be written (a full disk) still excludes other daemons; the message says so.</summary>
    public static DaemonLock? TryAcquire(string stateDir, out LockState state, out string? message)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        state = LockState.Unavailable;
        if (PrivateState.Unsafe(stateDir) is { } unsafeDir) { state = LockState.Unsafe; message = unsafeDir; return null; }
        // (an existing directory that cannot be tightened to 0700, e.g. read-only, may still hold a lock: try it)
        if (PrivateState.EnsureDirectory(stateDir) is { } dirError)
        {
            if (PrivateState.Unsafe(stateDir) is { } raced) { state = LockState.Unsafe; message = raced; return null; }
            if (!Directory.Exists(stateDir)) { message = dirError; return null; }
        }
        if (PrivateState.UnsafeFile(path) is { } unsafeLock) { state = LockState.Unsafe; message = unsafeLock; return null; }
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_NOFOLLOW, 0x180 /* 0600 */, out int openErr);
        if (fd.IsInvalid)
        {
            if (openErr == Errno.ELOOP) { state = LockState.Unsafe; message = $"refusing {path}: it is a symbolic link (a state file must be a regular file)"; return null; }
            // read-only now, but a daemon may hold the lock it took when it was writable
            if (Probe(stateDir, out int? holder, out _) == true)
            {
                state = LockState.HeldByAnother;
                message = HeldMessage(stateDir, path, holder);
            }
            else message = $"{path}: open: {Errno.Name(openErr)} ({Errno.Message(openErr)})";
            return null;
        }
        int err = FileLocks.TryLockExclusive(fd);
        if (err != 0)
        {
            fd.Dispose();
            if (err is Errno.EAGAIN or Errno.EACCES)
            {
                state = LockState.HeldByAnother;
                message = HeldMessage(stateDir, path, ReadPid(path));
            }
            else message = $"{path}: fcntl(F_OFD_SETLK): {Errno.Name(err)} ({Errno.Message(err)})";
            return null;
        }
        state = LockState.Acquired;
        err = FileLocks.Rewrite(fd, Encoding.ASCII.GetBytes(Libc.getpid().ToString(CultureInfo.InvariantCulture) + "\n"));
        message = err == 0 ? null : $"{path}: locked, but writing the pid failed: {Errno.Name(err)} ({Errno.Message(err)})";
        return new DaemonLock(fd, path);
    }

    private static string HeldMessage(string stateDir, string path, int? pid) =>
        $"another fshealer daemon{(pid is { } p ? $" (pid {p})" : "")} is running with state directory {stateDir} (it holds {path}); stop it first";

    /// <summary>Is a daemon running on this state directory? <c>true</c> with its pid (when readable), <c>false</c>,
    /// or null when it cannot be told (and why). Takes no lock.</summary>
    public static bool? Probe(string stateDir, out int? pid, out string? error)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        pid = null;
        error = null;
        using var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_NOFOLLOW, out int errno);
        if (fd.IsInvalid)
        {
            if (errno == Errno.ENOENT) return false;   // no daemon has ever run here
            error = $"{path}: open: {Errno.Message(errno)}";
            return null;
        }
        int err = FileLocks.IsLocked(fd, out bool locked);
        if (err != 0) { error = $"{path}: fcntl(F_OFD_GETLK): {Errno.Name(err)} ({Errno.Message(err)})"; return null; }
        if (locked) pid = ReadPid(path);
        return locked;
    }

    private static int? ReadPid(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0 ? p : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public void Dispose() => _fd.Dispose();
}
