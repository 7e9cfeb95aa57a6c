using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>umount2(2) and mount(2). fshealer never passes MNT_DETACH (lazy): a lazy unmount hides users instead of
/// failing with EBUSY.</summary>
public static partial class Umount
{
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int mount(string source, string target, string fstype, nuint flags, string? data);

    /// <summary>mount(2) a block device. Returns 0 or errno.</summary>
    public static int Mount(string source, string target, string fsType, ulong flags, string data)
    {
        int r = mount(source, target, fsType, (nuint)flags, data.Length == 0 ? null : data);
        return r == 0 ? 0 : Libc.LastErrno;
    }

    public const int MNT_FORCE = 1, MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int umount2(string target, int flags);

    /// <summary>Unmount <paramref name="target"/> (not lazily). Returns 0 or errno (EBUSY when in use).</summary>
    public static int Unmount(string target)
    {
        int r = umount2(target, UMOUNT_NOFOLLOW);
        return r == 0 ? 0 : Libc.LastErrno;
    }
}
