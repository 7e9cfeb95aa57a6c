using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>statvfs(3) and access(2): is there room, and may we write, where the state is kept.</summary>
public static unsafe partial class Statvfs
{
    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int statvfs(string path, byte* buf);

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int access(string path, int mode);

    public const ulong ST_RDONLY = 1;
    private const int W_OK = 2;

    public readonly record struct Result(ulong BlockSize, ulong AvailableBlocks, ulong Flags)
    {
        public bool ReadOnly => (Flags & ST_RDONLY) != 0;
    }

    /// <summary>x86_64 struct statvfs: f_bsize @0, f_bavail @32, f_flag @72. Returns 0 or errno.</summary>
    public static int Get(string path, out Result result)
    {
        byte* buf = stackalloc byte[128];
        if (statvfs(path, buf) != 0) { result = default; return Libc.LastErrno; }
        result = new Result(*(ulong*)buf, *(ulong*)(buf + 32), *(ulong*)(buf + 72));
        return 0;
    }

    /// <summary>access(path, W_OK): may this process write there (permissions, read-only mounts).</summary>
    public static bool Writable(string path) => access(path, W_OK) == 0;
}
