using FsHealer.Fanotify;

namespace FsHealer.Interop;

/// <summary>fanotify_init(2) / fanotify_mark(2) (x86_64 syscalls 300 / 301).</summary>
public static unsafe class FanotifySyscalls
{
    public const int SYS_fanotify_init = 300, SYS_fanotify_mark = 301;

    /// <summary>Create a fanotify group; returns the fd or an invalid SafeFd with errno.</summary>
    public static SafeFd Init(uint flags, int eventFFlags, out int errno)
    {
        nint fd = Libc.syscall(SYS_fanotify_init, (nint)(flags | FanotifyAbi.FAN_CLOEXEC), eventFFlags, 0, 0, 0);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd < 0 ? SafeFd.Invalid : new SafeFd((int)fd);
    }

    /// <summary>fanotify_mark with a path (or null with dirfd as the object). Returns 0 or errno.</summary>
    public static int Mark(SafeFd group, uint flags, ulong mask, int dirfd, string? path)
    {
        byte[]? p = path is null ? null : System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            nint r = Libc.syscall(SYS_fanotify_mark, group.Fd, (nint)flags, (nint)mask, dirfd, (nint)pp);
            return r < 0 ? Libc.LastErrno : 0;
        }
    }
}
