using System.Runtime.InteropServices;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>Path resolution: realpath(3) (every symlink, "." and ".." resolved; sysfs device links are relative
/// symlinks) and readlink(2) (what a symlink, or a /proc/self/fd entry, points to). Both results are decoded
/// byte-exactly (<see cref="PathBytes.Decode"/>).</summary>
public static unsafe partial class Realpath
{
    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial byte* realpath(string path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free(byte* p);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial nint readlink(string path, byte* buf, nuint size);

    /// <summary>The canonical path, or null (errno in <paramref name="errno"/>) when a component is missing.</summary>
    public static string? Resolve(string path, out int errno)
    {
        errno = 0;
        if (path.Contains('\0')) { errno = Errno.EINVAL; return null; }
        byte* r = realpath(path, null);
        if (r == null) { errno = Libc.LastErrno; return null; }
        try { return PathMarshaller.FromCString(r); }
        finally { free(r); }
    }

    /// <summary>The target of the symlink <paramref name="path"/>, or null with errno (EINVAL: not a symlink).</summary>
    public static string? ReadLink(string path, out int errno)
    {
        errno = 0;
        if (path.Contains('\0')) { errno = Errno.EINVAL; return null; }
        for (int size = 4096; size <= 1 << 20; size *= 4)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* p = buf) n = readlink(path, p, (nuint)size);
            if (n < 0) { errno = Libc.LastErrno; return null; }
            if (n < size) return PathBytes.Decode(buf.AsSpan(0, (int)n));
        }
        errno = Errno.ENAMETOOLONG;
        return null;
    }

    /// <summary>The path an open descriptor refers to (readlink of /proc/self/fd/N), or null with errno.</summary>
    public static string? OfFd(SafeFd fd, out int errno)
    {
        bool added = false;
        try
        {
            fd.DangerousAddRef(ref added);
            return ReadLink($"/proc/self/fd/{fd.DangerousGetHandle()}", out errno);
        }
        finally { if (added) fd.DangerousRelease(); }
    }
}
