using System.Runtime.InteropServices;
using FsHealer.Fanotify;

namespace FsHealer.Interop;

/// <summary>statfs(2): filesystem type magic and f_fsid (which equals the fanotify FID fsid).</summary>
public static unsafe partial class Statfs
{
    public const long EXT4_SUPER_MAGIC = 0xEF53, XFS_SUPER_MAGIC = 0x58465342, BTRFS_SUPER_MAGIC = 0x9123683E;

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int statfs(string path, byte* buf);

    /// <summary>struct statfs on x86_64 is 120 bytes: f_type at 0, f_fsid (2 x s32) at 56.</summary>
    public static int Get(string path, out long fsType, out FsId fsid)
    {
        byte* buf = stackalloc byte[128];
        new Span<byte>(buf, 128).Clear();
        if (statfs(path, buf) != 0) { fsType = 0; fsid = default; return Libc.LastErrno; }
        fsType = *(long*)buf;
        fsid = new FsId(*(int*)(buf + 56), *(int*)(buf + 60));
        return 0;
    }
}
