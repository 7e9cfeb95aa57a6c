using System.Buffers.Binary;

namespace FsHealer.Interop;

/// <summary>statx(2) (x86_64 syscall 332), only the fields the mount layer needs.</summary>
public static unsafe class Statx
{
    public const int SYS_statx = 332;
    public const uint STATX_INO = 0x100, STATX_MNT_ID = 0x1000, STATX_MNT_ID_UNIQUE = 0x4000;
    public const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;

    public readonly record struct Result(uint Mask, ulong Ino, uint DevMajor, uint DevMinor, ulong MountId, bool MountIdUnique)
    {
        public ulong DevKey => ((ulong)DevMajor << 32) | DevMinor;
        public string Dev => $"{DevMajor}:{DevMinor}";
    }

    /// <summary>statx(dirfd, path, flags, STATX_INO | STATX_MNT_ID_UNIQUE). Returns 0 or errno.</summary>
    public static int Get(int dirfd, string path, int flags, out Result result)
    {
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        var p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        nint r;
        fixed (byte* pp = p) r = Libc.syscall(SYS_statx, dirfd, (nint)pp, flags, (nint)(STATX_INO | STATX_MNT_ID_UNIQUE), (nint)buf);
        if (r < 0) { result = default; return Libc.LastErrno; }
        var s = new ReadOnlySpan<byte>(buf, 256);
        uint mask = BinaryPrimitives.ReadUInt32LittleEndian(s);
        result = new Result(mask,
            BinaryPrimitives.ReadUInt64LittleEndian(s[0x20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[0x88..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[0x8c..]),
            BinaryPrimitives.ReadUInt64LittleEndian(s[0x90..]),
            (mask & STATX_MNT_ID_UNIQUE) != 0);
        return 0;
    }

    public static int Get(SafeFd fd, out Result result) => Get(fd.Fd, "", AT_EMPTY_PATH, out result);
    public static int Get(string path, out Result result) => Get(Libc.AT_FDCWD, path, 0, out result);
}
