namespace FsHealer.Interop;

/// <summary>
/// Descriptors 0, 1 and 2 at start. A program started with one of them closed (<c>fshealer status &gt;&amp;-</c>)
/// would hand that number to the next file it opens (the history database, the lock file), and its prints would
/// then land in that file. <see cref="FillClosed"/> puts /dev/null on every closed one first and says which were
/// closed. The .NET runtime itself may already have taken the number for a descriptor of its own before Main runs
/// (a pipe, opened close-on-exec); a standard stream inherited through exec is never close-on-exec, so such a
/// descriptor also counts as closed (and is left alone).
/// </summary>
public static class StdFds
{
    private const int F_GETFD = 1, FD_CLOEXEC = 1;

    /// <summary>Opens /dev/null onto every closed descriptor among 0–2; returns which were closed.</summary>
    public static bool[] FillClosed()
    {
        var closed = new bool[3];
        var missing = new bool[3];
        for (int fd = 0; fd < 3; fd++)
        {
            int flags = Libc.fcntl(fd, F_GETFD, 0);
            missing[fd] = flags < 0 && Libc.LastErrno == FsHealer.Text.Errno.EBADF;
            closed[fd] = missing[fd] || (flags >= 0 && (flags & FD_CLOEXEC) != 0);
        }
        for (int i = 0; i < 3; i++)
        {
            if (!missing[i]) continue;
            int fd = Libc.open("/dev/null", Libc.O_RDWR); // not O_CLOEXEC: it stands in for a standard stream
            if (fd < 0) break;
            if (fd > 2) { Libc.close(fd); break; }   // (cannot happen: the lowest free number is taken)
        }
        return closed;
    }

    /// <summary>Is descriptor <paramref name="fd"/> open?</summary>
    public static bool IsOpen(int fd) => Libc.fcntl(fd, F_GETFD, 0) >= 0;
}
