using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>umount2(2). fshealer never passes MNT_DETACH (lazy): a lazy unmount hides users instead of failing with EBUSY.</summary>
public static partial class Umount
{
    public const int MNT_FORCE = 1, MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int umount2(string target, int flags);

    /// <summary>Unmount <paramref name="target"/> (not lazily). Returns 0 or errno (EBUSY when in use).</summary>
    public static int Unmount(string target)
    {
        int r = umount2(target, UMOUNT_NOFOLLOW);
        return r == 0 ? 0 : Libc.LastErrno;
    }
}
