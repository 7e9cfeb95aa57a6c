namespace FsHealer.Interop;

/// <summary>FS_IOC_GETFSUUID (Linux 6.7, include/uapi/linux/fs.h): the filesystem UUID as the filesystem reports it
/// (XFS, ext4; ENOTTY on btrfs and older kernels).</summary>
public static unsafe class FsUuid
{
    public const uint FS_IOC_GETFSUUID = 0x80111500; // _IOR(0x15, 0, struct fsuuid2): u8 len + u8 uuid[16]

    /// <summary>The UUID bytes of the filesystem <paramref name="fd"/> is on. Returns 0 or errno.</summary>
    public static int Get(SafeFd fd, out byte[] uuid)
    {
        byte* b = stackalloc byte[17];
        new Span<byte>(b, 17).Clear();
        if (Libc.ioctl(fd, FS_IOC_GETFSUUID, b) != 0) { uuid = []; return Libc.LastErrno; }
        int len = Math.Min((int)b[0], 16);
        uuid = new ReadOnlySpan<byte>(b + 1, len).ToArray();
        return 0;
    }
}
