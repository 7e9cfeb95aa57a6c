using FsHealer.Interop;

namespace FsHealer.Service.Live;

/// <summary>
/// An <see cref="IByteSink"/> on a file descriptor (stdout, stderr): every byte written (short writes continued, EINTR
/// retried, a full non-blocking descriptor waited on). Any other error — a closed pipe, a full disk — drops the rest
/// of that write: like xfs_healer, which ignores printf's result, the healer keeps healing without its log.
/// </summary>
public sealed class FdByteSink(int fd) : IByteSink
{
    public int Fd { get; } = fd;
    /// <summary>errno of the first failed write, 0 if none.</summary>
    public int FirstError { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        int r = Libc.WriteAll(Fd, data);
        if (r < 0 && FirstError == 0) FirstError = -r;
    }
}

/// <summary>The console of the xfs_healer drop-in: stdout (fd 1) buffered unless it is a terminal, stderr (fd 2)
/// written line by line, both through <see cref="BufferedHealerConsole"/>; what is still buffered is written at
/// process exit.</summary>
public static class FdConsole
{
    public static BufferedHealerConsole Create()
    {
        var console = new BufferedHealerConsole(new FdByteSink(1), new FdByteSink(2), lineBuffered: Libc.IsTerminal(1));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => console.Flush();
        return console;
    }
}
