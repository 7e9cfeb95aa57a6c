using System.Runtime.InteropServices;
using FsHealer.Core.Engine;
using FsHealer.Linux.Interop;

namespace FsHealer.Linux.Output;

/// <summary>
/// An <see cref="IByteSink"/> on a file descriptor (stdout, stderr): write(2) until every byte is out — short writes
/// continued, EINTR retried, EAGAIN (a non-blocking descriptor) waited out with poll. Any other error (a closed
/// pipe, a full disk) drops the rest of that write: like xfs_healer, which ignores printf's result, the healer keeps
/// healing without its log.
/// </summary>
public sealed unsafe partial class FdByteSink(int fd) : IByteSink
{
    private const short POLLOUT = 0x4;

    public int Fd { get; } = fd;
    /// <summary>errno of the first failed write, 0 if none.</summary>
    public int FirstError { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int off = 0;
            while (off < data.Length)
            {
                nint n = Libc.write(Fd, p + off, (nuint)(data.Length - off));
                if (n >= 0) { off += (int)n; continue; }
                int e = Libc.LastErrno;
                if (e == 4) continue;                       // EINTR
                if (e == 11)                                // EAGAIN: wait until writable
                {
                    var pfd = new Poll.PollFd { Fd = Fd, Events = POLLOUT };
                    poll(&pfd, 1, -1);
                    continue;
                }
                if (FirstError == 0) FirstError = e;
                return;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll(Poll.PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "isatty")]
    private static partial int isatty(int fd);

    /// <summary>The descriptor is a terminal (then a console writes every line at once).</summary>
    public static bool IsTerminal(int fd) => isatty(fd) == 1;
}

/// <summary>The console of the xfs_healer drop-in: stdout (fd 1) buffered unless it is a terminal, stderr (fd 2)
/// written line by line, both through <see cref="BufferedHealerConsole"/>; what is buffered is written out at
/// process exit too.</summary>
public static class FdConsole
{
    public static BufferedHealerConsole Create()
    {
        var console = new BufferedHealerConsole(new FdByteSink(1), new FdByteSink(2), lineBuffered: FdByteSink.IsTerminal(1));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => console.Flush();
        return console;
    }
}
