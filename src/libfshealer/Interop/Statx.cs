using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>statx(2) through glibc's wrapper: the fields fshealer uses (type and mode, owner, inode, device, mount id).</summary>
public static unsafe partial class Statx
{
    public const uint STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_UID = 0x8, STATX_INO = 0x100, STATX_MNT_ID = 0x1000, STATX_MNT_ID_UNIQUE = 0x4000;
    public const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFREG = 0x8000, S_IFDIR = 0x4000;
    private const uint Wanted = STATX_TYPE | STATX_MODE | STATX_UID | STATX_INO | STATX_MNT_ID_UNIQUE;
    private const int BufferSize = 256; // struct statx is 256 bytes

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int statx(int dirfd, string path, int flags, uint mask, byte* buf);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int statx(SafeFd dirfd, string path, int flags, uint mask, byte* buf);

    /// <summary>The decoded struct statx. <see cref="Mode"/> holds the file type and permission bits.</summary>
    public readonly record struct Result(uint Mask, uint Uid, uint Mode, ulong Ino, uint DevMajor, uint DevMinor, ulong MountId, bool MountIdUnique)
    {
        public ulong DevKey => ((ulong)DevMajor << 32) | DevMinor;
        public string Dev => $"{DevMajor}:{DevMinor}";
        public uint FileType => Mode & S_IFMT;
    }

    /// <summary>statx of an open file (AT_EMPTY_PATH). Returns 0 or errno.</summary>
    public static int Get(SafeFd fd, out Result result)
    {
        byte* buf = stackalloc byte[BufferSize];
        new Span<byte>(buf, BufferSize).Clear();
        if (statx(fd, "", AT_EMPTY_PATH, Wanted, buf) != 0) { result = default; return Libc.LastErrno; }
        result = Decode(new ReadOnlySpan<byte>(buf, BufferSize));
        return 0;
    }

    /// <summary>statx(<paramref name="dirfd"/>, path, flags) where <paramref name="dirfd"/> is AT_FDCWD (Libc.AT_FDCWD):
    /// the path form with explicit flags (Statx.AT_SYMLINK_NOFOLLOW). Prefer <see cref="Get(string, out Result, bool)"/>.</summary>
    public static int Get(int dirfd, string path, int flags, out Result result)
    {
        byte* buf = stackalloc byte[BufferSize];
        new Span<byte>(buf, BufferSize).Clear();
        if (statx(dirfd, path, flags, Wanted, buf) != 0) { result = default; return Libc.LastErrno; }
        result = Decode(new ReadOnlySpan<byte>(buf, BufferSize));
        return 0;
    }

    /// <summary>statx of a path (absolute or relative to the working directory), following a final symlink unless
    /// <paramref name="noFollow"/>. Returns 0 or errno.</summary>
    public static int Get(string path, out Result result, bool noFollow = false)
    {
        byte* buf = stackalloc byte[BufferSize];
        new Span<byte>(buf, BufferSize).Clear();
        if (statx(Libc.AT_FDCWD, path, noFollow ? AT_SYMLINK_NOFOLLOW : 0, Wanted, buf) != 0) { result = default; return Libc.LastErrno; }
        result = Decode(new ReadOnlySpan<byte>(buf, BufferSize));
        return 0;
    }

    // struct statx: stx_mask u32 @0, stx_uid u32 @0x14, stx_mode u16 @0x1c, stx_ino u64 @0x20,
    // stx_dev_major u32 @0x88, stx_dev_minor u32 @0x8c, stx_mnt_id u64 @0x90 (include/uapi/linux/stat.h)
    private static Result Decode(ReadOnlySpan<byte> s)
    {
        uint mask = BinaryPrimitives.ReadUInt32LittleEndian(s);
        return new Result(mask,
            BinaryPrimitives.ReadUInt32LittleEndian(s[0x14..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[0x1c..]),
            BinaryPrimitives.ReadUInt64LittleEndian(s[0x20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[0x88..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[0x8c..]),
            BinaryPrimitives.ReadUInt64LittleEndian(s[0x90..]),
            (mask & STATX_MNT_ID_UNIQUE) != 0);
    }

    public const uint S_IFLNK = 0xA000;

    /// <summary>Owner, group and mode (type bits included) of <paramref name="path"/>; of a symbolic link itself
    /// unless <paramref name="follow"/>. Returns 0 or errno.</summary>
    public static int Owner(string path, bool follow, out uint uid, out uint gid, out uint mode)
    {
        const uint STATX_GID = 0x10;
        byte* buf = stackalloc byte[BufferSize];
        new Span<byte>(buf, BufferSize).Clear();
        if (statx(Libc.AT_FDCWD, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID, buf) != 0)
        { uid = gid = mode = 0; return Libc.LastErrno; }
        var s = new ReadOnlySpan<byte>(buf, BufferSize);
        uid = BinaryPrimitives.ReadUInt32LittleEndian(s[0x14..]);
        gid = BinaryPrimitives.ReadUInt32LittleEndian(s[0x18..]);
        mode = BinaryPrimitives.ReadUInt16LittleEndian(s[0x1c..]);
        return 0;
    }
}
