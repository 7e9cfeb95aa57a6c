using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>Extended attributes: fgetxattr(2) on an open file (XFS keeps its autofsck property in
/// trusted.xfs:autofsck on the root directory).</summary>
public static unsafe partial class Xattr
{
    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial nint fgetxattr(SafeFd fd, string name, void* value, nuint size);

    /// <summary>Read an xattr value (up to <paramref name="maxSize"/> bytes). The bytes, or null with errno
    /// (ENODATA: not set).</summary>
    public static byte[]? Get(SafeFd fd, string name, int maxSize, out int errno)
    {
        var buf = new byte[maxSize];
        fixed (byte* p = buf)
        {
            nint n = fgetxattr(fd, name, p, (nuint)maxSize);
            if (n < 0) { errno = Libc.LastErrno; return null; }
            errno = 0;
            return buf.AsSpan(0, (int)n).ToArray();
        }
    }
}
