using System.Runtime.InteropServices;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// File descriptors: open(2)/openat(2), read(2)/write(2), close(2), lseek(2), pipe2(2), fcntl(2) and ioctl(2), the
/// calls every other kernel interface builds on. Descriptors are <see cref="SafeFd"/>s in every signature; paths are
/// marshalled byte-exactly (<see cref="PathMarshaller"/>). Errors come back as errno via <see cref="LastErrno"/>.
/// </summary>
public static unsafe partial class Libc
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000,
        O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_DIRECT = 0x4000, O_CREAT = 0x40, O_TRUNC = 0x200, O_EXCL = 0x80;
    public const int AT_FDCWD = -100;
    public const int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_SETPIPE_SZ = 1031, FD_CLOEXEC = 1;
    public const int SEEK_SET = 0, SEEK_END = 2;

    public static int LastErrno => Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    internal static partial int open(string path, int flags, int mode);

    /// <summary>open(2) returning the raw descriptor (the caller owns it: the xfs_healer engine's hot path, stdio).</summary>
    internal static int open(string path, int flags) => open(path, flags, 0);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int openat(SafeFd dirfd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int openat(int dirfd, string path, int flags, int mode);

    /// <summary>close(2) of a descriptor nothing owns (one the kernel handed us inside a record, e.g. a fanotify
    /// event's fd). Owned descriptors are <see cref="SafeFd"/>s and close themselves.</summary>
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint read(SafeFd fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write(SafeFd fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long lseek(SafeFd fd, long offset, int whence);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(SafeFd fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(SafeFd fd, nuint request, nint arg);

    /// <summary>ioctl(2) on a raw descriptor (the xfs_healer engine's allocation-free repair path).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(SafeFd fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    internal static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int isatty(int fd);

    /// <summary>The descriptor is a terminal.</summary>
    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int getpid();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    public const int SIGTERM = 15, SIGKILL = 9;

    /// <summary>kill(2). A negative <paramref name="pid"/> signals a whole process group. Returns 0 or errno.</summary>
    public static int Kill(int pid, int signal) => kill(pid, signal) == 0 ? 0 : LastErrno;

    [LibraryImport("libc", EntryPoint = "geteuid")]
    public static partial uint geteuid();

    public static bool IsRoot => geteuid() == 0;

    /// <summary>open(2) with O_CLOEXEC returning a SafeFd (invalid on failure, with errno).</summary>
    public static SafeFd Open(string path, int flags, out int errno) => Open(path, flags, 0, out errno);

    /// <summary>open(2) with O_CLOEXEC and a creation mode.</summary>
    public static SafeFd Open(string path, int flags, int mode, out int errno)
    {
        int fd = open(path, flags | O_CLOEXEC, mode);
        errno = fd < 0 ? LastErrno : 0;
        return FromRaw(fd);
    }

    /// <summary>An owned descriptor from a call that returns one (or -1). A P/Invoke cannot return SafeFd itself:
    /// SafeHandle marshalling reads a pointer-sized value, and these calls return a 32-bit int (-1 would become
    /// 0xFFFFFFFF, a "valid" handle).</summary>
    public static SafeFd FromRaw(int fd) => fd < 0 ? SafeFd.Invalid : new SafeFd(fd);

    /// <summary>read(2) retrying on EINTR. Returns bytes read, 0 at EOF, or -errno.</summary>
    public static int Read(SafeFd fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = read(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                int e = LastErrno;
                if (e != Errno.EINTR) return -e;
            }
        }
    }

    /// <summary>Read until <paramref name="buffer"/> is full or end of file (short reads and EINTR retried). Returns the
    /// bytes read, or -errno.</summary>
    public static int ReadFull(SafeFd fd, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = Read(fd, buffer[total..]);
            if (n < 0) return n;
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Read a whole file (a /proc or /sys file, whose size stat does not know) into memory. Null with
    /// errno on failure.</summary>
    public static byte[]? ReadAllBytes(string path, out int errno)
    {
        using var fd = Open(path, O_RDONLY, out errno);
        if (fd.IsInvalid) return null;
        return ReadToEnd(fd, out errno);
    }

    /// <summary>Read from the current position to end of file. Null with errno on failure.</summary>
    public static byte[]? ReadToEnd(SafeFd fd, out int errno)
    {
        var ms = new MemoryStream();
        var buf = new byte[65536];
        while (true)
        {
            int n = Read(fd, buf);
            if (n < 0) { errno = -n; return null; }
            if (n == 0) break;
            ms.Write(buf, 0, n);
        }
        errno = 0;
        return ms.ToArray();
    }

    /// <summary>Read a small file relative to an open directory into <paramref name="buffer"/>: openat, read until full
    /// or EOF, close. Returns the bytes read or -errno. No handle object: sysfs polls read a dozen attributes of every
    /// device every few seconds, most of them absent, and each SafeHandle is a finalizable allocation.</summary>
    public static int ReadFileAt(SafeFd dir, string relativePath, Span<byte> buffer) =>
        ReadSmall(openat(dir, relativePath, O_RDONLY | O_CLOEXEC, 0), buffer);

    /// <summary><see cref="ReadFileAt(SafeFd, string, Span{byte})"/> for a path (absolute, or relative to the working
    /// directory).</summary>
    public static int ReadFile(string path, Span<byte> buffer) => ReadSmall(openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0), buffer);

    private static int ReadSmall(int fd, Span<byte> buffer)
    {
        if (fd < 0) return -LastErrno;
        try
        {
            int total = 0;
            fixed (byte* p = buffer)
            {
                while (total < buffer.Length)
                {
                    nint n = read(fd, p + total, (nuint)(buffer.Length - total));
                    if (n < 0)
                    {
                        int e = LastErrno;
                        if (e == Errno.EINTR) continue;
                        return -e;
                    }
                    if (n == 0) break;
                    total += (int)n;
                }
            }
            return total;
        }
        finally { close(fd); }
    }

    /// <summary>Write all bytes, retrying on EINTR and short writes. Returns 0 or -errno.</summary>
    public static int WriteAll(SafeFd fd, ReadOnlySpan<byte> data) => WriteAll(fd.Fd, data);

    /// <summary><see cref="WriteAll(SafeFd, ReadOnlySpan{byte})"/> on a raw descriptor (stdout, stderr); a descriptor
    /// in non-blocking mode is waited on with poll when it is full (EAGAIN).</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = write(fd, p + off, (nuint)(data.Length - off));
                if (n < 0)
                {
                    int e = LastErrno;
                    if (e == Errno.EINTR) continue;
                    if (e == Errno.EAGAIN && Poll.WaitWritable(fd) >= 0) continue;
                    return -e;
                }
                off += (int)n;
            }
            return 0;
        }
    }

    /// <summary>lseek(2). Returns the new offset or -errno.</summary>
    public static long Seek(SafeFd fd, long offset, int whence)
    {
        long r = lseek(fd, offset, whence);
        return r < 0 ? -LastErrno : r;
    }

    /// <summary>A pipe (O_CLOEXEC): (read end, write end).</summary>
    public static (SafeFd Read, SafeFd Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw new IOException($"pipe2: {Errno.Message(LastErrno)}");
        return (new SafeFd(fds[0]), new SafeFd(fds[1]));
    }

    /// <summary>Resize a pipe's buffer (rounded up to a page by the kernel). Returns 0 or errno.</summary>
    public static int SetPipeSize(SafeFd fd, int size) => fcntl(fd, F_SETPIPE_SZ, size) < 0 ? LastErrno : 0;

    /// <summary>Set or clear FD_CLOEXEC on a descriptor. Returns 0 or errno.</summary>
    public static int SetCloseOnExec(SafeFd fd, bool on)
    {
        int flags = fcntl(fd, F_GETFD, 0);
        if (flags < 0) return LastErrno;
        int want = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
        return want == flags || fcntl(fd, F_SETFD, want) >= 0 ? 0 : LastErrno;
    }

    /// <summary>Mark a descriptor number this code does not own (listed in /proc/self/fd) FD_CLOEXEC, so that a
    /// child process does not inherit it. Returns 0 or errno (EBADF: it was closed meanwhile).</summary>
    public static int MarkCloseOnExec(int fd)
    {
        int flags = fcntl(fd, F_GETFD, 0);
        if (flags < 0) return LastErrno;
        return (flags & FD_CLOEXEC) != 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) >= 0 ? 0 : LastErrno;
    }
}
