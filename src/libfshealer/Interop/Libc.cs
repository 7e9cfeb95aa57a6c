using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>Basic libc calls used by every kernel interface. Errors come back as errno via <see cref="LastErrno"/>.</summary>
public static unsafe partial class Libc
{
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000,
        O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000, O_DIRECT = 0x4000, O_CREAT = 0x40, O_TRUNC = 0x200, O_EXCL = 0x80;
    public const int AT_FDCWD = -100;
    public const int F_GETFL = 3, F_SETFL = 4;

    public static int LastErrno => Marshal.GetLastPInvokeError();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode = 0);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, int mode = 0);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, nint arg);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint fgetxattr(int fd, string name, void* value, nuint size);

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, void* value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial nint syscall(nint number, nint a1, nint a2, nint a3, nint a4, nint a5);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int fstat(int fd, byte* statbuf);

    /// <summary>st_dev of an open file (x86_64 struct stat: u64 st_dev at offset 0). Returns 0 or errno.</summary>
    public static int DeviceOf(SafeFd fd, out ulong dev)
    {
        byte* buf = stackalloc byte[256];
        if (fstat(fd.Fd, buf) != 0) { dev = 0; return LastErrno; }
        dev = *(ulong*)buf;
        return 0;
    }

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

    /// <summary>open(2) returning a SafeFd; errno on failure.</summary>
    public static SafeFd Open(string path, int flags, out int errno)
    {
        int fd = open(path, flags | O_CLOEXEC);
        errno = fd < 0 ? LastErrno : 0;
        return fd < 0 ? SafeFd.Invalid : new SafeFd(fd);
    }

    /// <summary>read(2) retrying on EINTR. Returns bytes read, 0 at EOF, or -errno.</summary>
    public static int Read(SafeFd fd, Span<byte> buffer) => Read(fd.Fd, buffer);

    private static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                nint n = read(fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                int e = LastErrno;
                if (e != 4 /* EINTR */) return -e;
            }
        }
    }

    /// <summary>Read until <paramref name="buffer"/> is full or end of file (short reads and EINTR retried). Returns the
    /// bytes read, or -errno.</summary>
    public static int ReadFull(SafeFd fd, Span<byte> buffer) => ReadFull(fd.Fd, buffer);

    private static int ReadFull(int fd, Span<byte> buffer)
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

    /// <summary>Read a small file relative to an open directory into <paramref name="buffer"/>: openat, read until full
    /// or EOF, close. Returns the bytes read or -errno. No handle object: sysfs polls read a dozen attributes of every
    /// device every few seconds, most of them absent, and each SafeHandle is a finalizable allocation.</summary>
    public static int ReadFileAt(SafeFd dir, string relativePath, Span<byte> buffer) => ReadFileAt(dir.Fd, relativePath, buffer);

    /// <summary><see cref="ReadFileAt(SafeFd, string, Span{byte})"/> for a path (absolute, or relative to the working
    /// directory).</summary>
    public static int ReadFile(string path, Span<byte> buffer) => ReadFileAt(AT_FDCWD, path, buffer);

    private static int ReadFileAt(int dirFd, string path, Span<byte> buffer)
    {
        int fd = openat(dirFd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -LastErrno;
        try { return ReadFull(fd, buffer); }
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
                    if (e == 4) continue;
                    if (e == 11 && Poll.WaitWritable(fd) >= 0) continue;   // EAGAIN
                    return -e;
                }
                off += (int)n;
            }
            return 0;
        }
    }

    /// <summary>A pipe (O_CLOEXEC): (read end, write end).</summary>
    public static (SafeFd Read, SafeFd Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw new IOException($"pipe2: {FsHealer.Text.Errno.Message(LastErrno)}");
        return (new SafeFd(fds[0]), new SafeFd(fds[1]));
    }

    /// <summary>Read an xattr value (up to maxSize). Returns the bytes or null with errno.</summary>
    public static byte[]? GetXattr(SafeFd fd, string name, int maxSize, out int errno)
    {
        var buf = new byte[maxSize];
        fixed (byte* p = buf)
        {
            nint n = fgetxattr(fd.Fd, name, p, (nuint)maxSize);
            if (n < 0) { errno = LastErrno; return null; }
            errno = 0;
            return buf.AsSpan(0, (int)n).ToArray();
        }
    }

    public static bool IsRoot => geteuid() == 0;

    public const int F_SETPIPE_SZ = 1031;

    /// <summary>Resize a pipe's buffer (rounded up to a page by the kernel). Returns 0 or errno.</summary>
    public static int SetPipeSize(SafeFd fd, int size) => fcntl(fd.Fd, F_SETPIPE_SZ, size) < 0 ? LastErrno : 0;
}

public static unsafe partial class LibcPaths
{
    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, byte* resolved);

    /// <summary>realpath(3): canonical absolute path with symlinks resolved, or null with errno.</summary>
    public static string? RealPath(string path, out int errno)
    {
        byte* buf = stackalloc byte[4097];
        if (realpath(path, buf) == 0) { errno = Libc.LastErrno; return null; }
        errno = 0;
        return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)buf);
    }
}
