using System.Runtime.InteropServices;
using FsHealer.Fanotify;

namespace FsHealer.Interop;

/// <summary>fanotify_init(2) / fanotify_mark(2) through glibc's wrappers.</summary>
public static partial class FanotifySyscalls
{
    [LibraryImport("libc", EntryPoint = "fanotify_init", SetLastError = true)]
    private static partial int fanotify_init(uint flags, uint eventFFlags);

    // int fanotify_mark(int fanotify_fd, unsigned int flags, uint64_t mask, int dirfd, const char *pathname);
    [LibraryImport("libc", EntryPoint = "fanotify_mark", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int fanotify_mark(SafeFd group, uint flags, ulong mask, int dirfd, string? path);

    [LibraryImport("libc", EntryPoint = "fanotify_mark", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int fanotify_mark(SafeFd group, uint flags, ulong mask, SafeFd dirfd, string? path);

    /// <summary>Create a fanotify group (FAN_CLOEXEC added); returns the fd or an invalid SafeFd with errno.</summary>
    public static SafeFd Init(uint flags, int eventFFlags, out int errno)
    {
        int fd = fanotify_init(flags | FanotifyAbi.FAN_CLOEXEC, (uint)eventFFlags);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return Libc.FromRaw(fd);
    }

    /// <summary>fanotify_mark on the object at <paramref name="path"/>. Returns 0 or errno.</summary>
    public static int Mark(SafeFd group, uint flags, ulong mask, string path) =>
        fanotify_mark(group, flags, mask, Libc.AT_FDCWD, path) < 0 ? Libc.LastErrno : 0;

    /// <summary>fanotify_mark on the object an open fd refers to (a mount namespace file for FAN_MARK_MNTNS).
    /// Returns 0 or errno.</summary>
    public static int Mark(SafeFd group, uint flags, ulong mask, SafeFd target) =>
        fanotify_mark(group, flags, mask, target, null) < 0 ? Libc.LastErrno : 0;
}
