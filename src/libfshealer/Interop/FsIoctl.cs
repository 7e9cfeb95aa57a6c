using System.Runtime.InteropServices;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>Generic VFS file ioctls (include/uapi/linux/fs.h) and stat(2) of a path: the identity facts of a
/// filesystem and of a device node.</summary>
public static unsafe partial class FsIoctl
{
    /// <summary>_IOR(0x15, 0, struct fsuuid2 { __u8 len; __u8 uuid[16]; }) — Linux 6.5+, filesystems that set s_uuid
    /// (ext4, XFS; not btrfs on 6.18, whose fsid comes from BTRFS_IOC_FS_INFO).</summary>
    public const uint FS_IOC_GETFSUUID = 0x80111500;

    /// <summary>The filesystem's UUID as the kernel holds it (RFC 4122 byte order, as blkid prints it), or null with errno.</summary>
    public static Guid? GetFsUuid(SafeFd fd, out int errno)
    {
        byte* buf = stackalloc byte[17];
        new Span<byte>(buf, 17).Clear();
        if (Libc.ioctl(fd, FS_IOC_GETFSUUID, buf) != 0) { errno = Libc.LastErrno; return null; }
        errno = 0;
        int len = buf[0];
        if (len != 16) { errno = Errno.EINVAL; return null; }
        return new Guid(new ReadOnlySpan<byte>(buf + 1, 16), bigEndian: true);
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int stat(string path, byte* statbuf);

    public const uint S_IFMT = 0xF000, S_IFBLK = 0x6000, S_IFDIR = 0x4000;

    /// <summary>stat(2) a path: (st_dev, st_rdev, st_mode) as (major:minor keys, mode). Returns 0 or errno.
    /// x86_64 struct stat: st_dev @0, st_mode @24 (u32), st_rdev @40.</summary>
    public static int Stat(string path, out ulong devKey, out ulong rdevKey, out uint mode)
    {
        byte* buf = stackalloc byte[256];
        if (stat(path, buf) != 0) { devKey = rdevKey = 0; mode = 0; return Libc.LastErrno; }
        devKey = DevKey(*(ulong*)buf);
        rdevKey = DevKey(*(ulong*)(buf + 40));
        mode = *(uint*)(buf + 24);
        return 0;
    }

    /// <summary>glibc's dev_t encoding → (major &lt;&lt; 32 | minor), the key the mount layer uses.</summary>
    public static ulong DevKey(ulong dev)
    {
        ulong major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL);
        ulong minor = (dev & 0xff) | ((dev >> 12) & ~0xffUL);
        return (major << 32) | (uint)minor;
    }
}
