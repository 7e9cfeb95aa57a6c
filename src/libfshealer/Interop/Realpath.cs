using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>realpath(3): a path with every symlink, "." and ".." resolved (sysfs device links are relative symlinks).</summary>
public static unsafe partial class Realpath
{
    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* realpath(string path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free(byte* p);

    /// <summary>The canonical path, or null (errno in <paramref name="errno"/>) when a component is missing.</summary>
    public static string? Resolve(string path, out int errno)
    {
        errno = 0;
        if (path.Contains('\0')) { errno = FsHealer.Text.Errno.EINVAL; return null; }
        byte* r = realpath(path, null);
        if (r == null) { errno = Libc.LastErrno; return null; }
        try { return Marshal.PtrToStringUTF8((nint)r); }
        finally { free(r); }
    }
}
