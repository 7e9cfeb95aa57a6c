using System.Runtime.InteropServices;

namespace FsHealer.Interop;

/// <summary>name_to_handle_at(2) / open_by_handle_at(2) through glibc's wrappers.</summary>
public static unsafe partial class FileHandles
{
    public const int MAX_HANDLE_SZ = 128;
    public const int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_FOLLOW = 0x400, AT_HANDLE_FID = 0x200, AT_HANDLE_MNT_ID_UNIQUE = 0x001;

    /// <summary>A decoded struct file_handle: type and opaque bytes.</summary>
    public readonly record struct FileHandle(int Type, byte[] Bytes)
    {
        public bool SameAs(FileHandle o) => Type == o.Type && Bytes.AsSpan().SequenceEqual(o.Bytes);
        public override string ToString() => $"type {Type} {Convert.ToHexString(Bytes).ToLowerInvariant()}";
    }

    // int name_to_handle_at(int dirfd, const char *pathname, struct file_handle *handle, int *mount_id, int flags);
    // With AT_HANDLE_MNT_ID_UNIQUE (6.12) the kernel writes a u64 through mount_id, so it always gets 8 bytes.
    [LibraryImport("libc", EntryPoint = "name_to_handle_at", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int name_to_handle_at(SafeFd dirfd, string path, byte* handle, ulong* mountId, int flags);

    [LibraryImport("libc", EntryPoint = "name_to_handle_at", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(PathMarshaller))]
    private static partial int name_to_handle_at(int dirfd, string path, byte* handle, ulong* mountId, int flags);

    [LibraryImport("libc", EntryPoint = "open_by_handle_at", SetLastError = true)]
    private static partial int open_by_handle_at(SafeFd mountFd, byte* handle, int flags);

    /// <summary>Handle of the open file <paramref name="fd"/> itself (AT_EMPTY_PATH). With AT_HANDLE_MNT_ID_UNIQUE in
    /// <paramref name="flags"/>, <paramref name="mountId"/> is the 64-bit unique id. Returns 0 or errno.</summary>
    public static int NameToHandle(SafeFd fd, int flags, out FileHandle handle, out ulong mountId)
    {
        byte* buf = stackalloc byte[8 + MAX_HANDLE_SZ];
        ulong mnt = 0;
        *(uint*)buf = MAX_HANDLE_SZ;
        int r = name_to_handle_at(fd, "", buf, &mnt, flags | AT_EMPTY_PATH);
        return Decode(r, buf, mnt, flags, out handle, out mountId);
    }

    /// <summary>Handle of <paramref name="path"/> (relative to the working directory). Returns 0 or errno.</summary>
    public static int NameToHandle(string path, int flags, out FileHandle handle, out ulong mountId)
    {
        byte* buf = stackalloc byte[8 + MAX_HANDLE_SZ];
        ulong mnt = 0;
        *(uint*)buf = MAX_HANDLE_SZ;
        int r = name_to_handle_at(Libc.AT_FDCWD, path, buf, &mnt, flags);
        return Decode(r, buf, mnt, flags, out handle, out mountId);
    }

    private static int Decode(int r, byte* buf, ulong mnt, int flags, out FileHandle handle, out ulong mountId)
    {
        if (r < 0) { handle = default; mountId = 0; return Libc.LastErrno; }
        uint n = *(uint*)buf;
        int type = *(int*)(buf + 4);
        handle = new FileHandle(type, new ReadOnlySpan<byte>(buf + 8, (int)Math.Min(n, MAX_HANDLE_SZ)).ToArray());
        mountId = (flags & AT_HANDLE_MNT_ID_UNIQUE) != 0 ? mnt : (uint)mnt;
        return 0;
    }

    /// <summary>open_by_handle_at(mountFd, handle, flags | O_CLOEXEC). Needs CAP_DAC_READ_SEARCH.</summary>
    public static SafeFd OpenByHandle(SafeFd mountFd, FileHandle h, int flags, out int errno)
    {
        byte* buf = stackalloc byte[8 + MAX_HANDLE_SZ];
        *(uint*)buf = (uint)Math.Min(h.Bytes.Length, MAX_HANDLE_SZ);
        *(int*)(buf + 4) = h.Type;
        h.Bytes.AsSpan(0, Math.Min(h.Bytes.Length, MAX_HANDLE_SZ)).CopyTo(new Span<byte>(buf + 8, MAX_HANDLE_SZ));
        int fd = open_by_handle_at(mountFd, buf, flags | Libc.O_CLOEXEC);
        errno = fd < 0 ? Libc.LastErrno : 0;
        return Libc.FromRaw(fd);
    }
}
