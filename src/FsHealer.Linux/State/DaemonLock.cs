using System.Globalization;
using System.Text;
using FsHealer.Core.Text;
using FsHealer.Linux.Interop;

namespace FsHealer.Linux.State;

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

    /// <summary>Take the lock and write our pid into it; null and a message naming the holder (or the failing
    /// syscall and errno) when it cannot.</summary>
    public static DaemonLock? TryAcquire(string stateDir, out string? error)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        if (PrivateState.EnsureDirectory(stateDir) is { } dirError) { error = dirError; return null; }
        int raw = Libc.open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0x180 /* 0600 */);
        if (raw < 0) { error = $"{path}: open: {Errno.Message(Libc.LastErrno)}"; return null; }
        var fd = new SafeFd(raw);
        int err = FileLocks.TryLockExclusive(fd);
        if (err != 0)
        {
            fd.Dispose();
            error = err is Errno.EAGAIN or Errno.EACCES
                ? $"another fshealer daemon{HolderText(path)} is running with state directory {stateDir} (it holds {path}); stop it first"
                : $"{path}: fcntl(F_OFD_SETLK): {Errno.Name(err)} ({Errno.Message(err)})";
            return null;
        }
        err = FileLocks.Rewrite(fd, Encoding.ASCII.GetBytes(Libc.getpid().ToString(CultureInfo.InvariantCulture) + "\n"));
        if (err != 0)
        {
            fd.Dispose();
            error = $"{path}: writing the pid: {Errno.Name(err)} ({Errno.Message(err)})";
            return null;
        }
        error = null;
        return new DaemonLock(fd, path);
    }

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

    private static string HolderText(string path) => ReadPid(path) is { } p ? $" (pid {p})" : "";

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
