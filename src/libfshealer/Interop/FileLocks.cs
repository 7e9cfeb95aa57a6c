using System.Runtime.InteropServices;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// Open file description locks (fcntl F_OFD_*, Linux 3.15+). Unlike classic POSIX record locks they belong to the
/// open file description, not the process: closing some other descriptor of the same file does not drop them, two
/// opens in one process conflict, and F_OFD_GETLK tests for a lock without taking one (so a probe can never make a
/// starting daemon fail). Independent of flock(2) locks.
/// </summary>
public static unsafe partial class FileLocks
{
    public const int F_OFD_GETLK = 36, F_OFD_SETLK = 37;
    public const short F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
    public const short SEEK_SET = 0;

    /// <summary>struct flock (x86-64/arm64 LP64): l_type, l_whence, l_start, l_len, l_pid; 32 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Len;
        public int Pid;
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(SafeFd fd, int cmd, Flock* lk);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int ftruncate(SafeFd fd, long length);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint pwrite(SafeFd fd, void* buf, nuint count, long offset);

    /// <summary>Try to take a whole-file write lock without waiting. 0, or the errno (EAGAIN/EACCES = held elsewhere).</summary>
    public static int TryLockExclusive(SafeFd fd)
    {
        var lk = new Flock { Type = F_WRLCK, Whence = SEEK_SET };
        return fcntl(fd, F_OFD_SETLK, &lk) == 0 ? 0 : Libc.LastErrno;
    }

    /// <summary>Is a whole-file write lock held by another open file description? (errno on failure)</summary>
    public static int IsLocked(SafeFd fd, out bool locked)
    {
        var lk = new Flock { Type = F_WRLCK, Whence = SEEK_SET };
        locked = false;
        if (fcntl(fd, F_OFD_GETLK, &lk) != 0) return Libc.LastErrno;
        locked = lk.Type != F_UNLCK;
        return 0;
    }

    /// <summary>Replace the file's content (ftruncate + pwrite at 0). 0, or the errno.</summary>
    public static int Rewrite(SafeFd fd, ReadOnlySpan<byte> data)
    {
        if (ftruncate(fd, 0) != 0) return Libc.LastErrno;
        fixed (byte* p = data)
        {
            nint n = pwrite(fd, p, (nuint)data.Length, 0);
            if (n < 0) return Libc.LastErrno;
            if (n != data.Length) return Errno.EIO; // a short write of a few bytes to a local file
        }
        return 0;
    }
}
