using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>name_to_handle_at(2) / open_by_handle_at(2) (x86_64 syscalls 303 / 304).</summary>
public static unsafe class FileHandles
{
    public const int SYS_name_to_handle_at = 303, SYS_open_by_handle_at = 304;
    public const int MAX_HANDLE_SZ = 128;
    public const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_FOLLOW = 0x400, AT_HANDLE_FID = 0x200, AT_HANDLE_MNT_ID_UNIQUE = 0x001;

    /// <summary>A decoded struct file_handle: type and opaque bytes.</summary>
    public readonly record struct FileHandle(int Type, byte[] Bytes)
    {
        public bool SameAs(FileHandle o) => Type == o.Type && Bytes.AsSpan().SequenceEqual(o.Bytes);
        public override string ToString() => $"type {Type} {Convert.ToHexString(Bytes).ToLowerInvariant()}";
    }

    /// <summary>Handle of <paramref name="path"/> relative to dirfd (AT_EMPTY_PATH with path "" = dirfd itself).
    /// With AT_HANDLE_MNT_ID_UNIQUE in flags, <paramref name="mountId"/> is the 64-bit unique id.</summary>
    public static int NameToHandle(int dirfd, string path, int flags, out FileHandle handle, out ulong mountId)
    {
        byte* buf = stackalloc byte[8 + MAX_HANDLE_SZ];
        *(uint*)buf = MAX_HANDLE_SZ;
        ulong mnt = 0;
        var p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            nint r = Libc.syscall(SYS_name_to_handle_at, dirfd, (nint)pp, (nint)buf, (nint)(&mnt), flags);
            if (r < 0) { handle = default; mountId = 0; return Libc.LastErrno; }
        }
        uint n = *(uint*)buf;
        int type = *(int*)(buf + 4);
        handle = new FileHandle(type, new ReadOnlySpan<byte>(buf + 8, (int)Math.Min(n, MAX_HANDLE_SZ)).ToArray());
        mountId = (flags & AT_HANDLE_MNT_ID_UNIQUE) != 0 ? mnt : (uint)mnt;
        return 0;
    }

    /// <summary>open_by_handle_at(mountFd, handle, flags). Needs CAP_DAC_READ_SEARCH.</summary>
    public static SafeFd OpenByHandle(SafeFd mountFd, FileHandle h, int flags, out int errno)
    {
        byte* buf = stackalloc byte[8 + MAX_HANDLE_SZ];
        *(uint*)buf = (uint)h.Bytes.Length;
        *(int*)(buf + 4) = h.Type;
        h.Bytes.AsSpan(0, Math.Min(h.Bytes.Length, MAX_HANDLE_SZ)).CopyTo(new Span<byte>(buf + 8, MAX_HANDLE_SZ));
        nint fd = Libc.syscall(SYS_open_by_handle_at, mountFd.Fd, (nint)buf, flags | Libc.O_CLOEXEC, 0, 0);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return fd < 0 ? SafeFd.Invalid : new SafeFd((int)fd);
    }
}
