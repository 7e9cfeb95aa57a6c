using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>poll(2) on up to a few descriptors.</summary>
public static unsafe partial class Poll
{
    public const short POLLIN = 0x1, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint nfds, int timeoutMs);

    /// <summary>Wait until one of <paramref name="fds"/> is readable. Returns the count of ready fds, 0 on timeout, -errno on error (EINTR retried).</summary>
    public static int WaitReadable(Span<PollFd> fds, int timeoutMs)
    {
        for (int i = 0; i < fds.Length; i++) { fds[i].Events = POLLIN; fds[i].Revents = 0; }
        fixed (PollFd* p = fds)
        {
            while (true)
            {
                int r = poll(p, (nuint)fds.Length, timeoutMs);
                if (r >= 0) return r;
                int e = Libc.LastErrno;
                if (e != 4) return -e;
            }
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
