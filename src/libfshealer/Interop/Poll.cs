using System.Runtime.InteropServices;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>poll(2) on one or two descriptors. EINTR is retried (with the full timeout again).</summary>
public static unsafe partial class Poll
{
    public const short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd { public int Fd; public short Events; public short Revents; }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint nfds, int timeoutMs);

    /// <summary>Wait for <paramref name="events"/> on one fd. Returns revents (0 on timeout) or -errno.</summary>
    public static int Wait(SafeFd fd, short events, int timeoutMs)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            var p = new PollFd { Fd = (int)fd.DangerousGetHandle(), Events = events };
            int r = Call(&p, 1, timeoutMs);
            return r <= 0 ? r : p.Revents;
        }
        finally { if (added) fd.DangerousRelease(); }
    }

    /// <summary>Wait until <paramref name="a"/> or <paramref name="b"/> is readable. Returns the count of ready fds,
    /// 0 on timeout, -errno on error.</summary>
    public static int WaitReadable(SafeFd a, SafeFd b, int timeoutMs)
    {
        bool addedA = false, addedB = false;
        try
        {
            a.DangerousAddRef(ref addedA);
            b.DangerousAddRef(ref addedB);
            PollFd* p = stackalloc PollFd[2];
            p[0] = new PollFd { Fd = (int)a.DangerousGetHandle(), Events = POLLIN };
            p[1] = new PollFd { Fd = (int)b.DangerousGetHandle(), Events = POLLIN };
            return Call(p, 2, timeoutMs);
        }
        finally
        {
            if (addedB) b.DangerousRelease();
            if (addedA) a.DangerousRelease();
        }
    }

    private static int Call(PollFd* p, int n, int timeoutMs)
    {
        while (true)
        {
            int r = poll(p, (nuint)n, timeoutMs);
            if (r >= 0) return r;
            int e = Libc.LastErrno;
            if (e != Errno.EINTR) return -e;
        }
    }

    /// <summary>Wait until <paramref name="fd"/> can be written (or has an error). Returns the poll result or -errno
    /// (EINTR retried).</summary>
    public static int WaitWritable(int fd)
    {
        var pfd = new PollFd { Fd = fd, Events = POLLOUT };
        while (true)
        {
            int r = poll(&pfd, 1, -1);
            if (r >= 0) return r;
            int e = Libc.LastErrno;
            if (e != 4) return -e;
        }
    }
}
