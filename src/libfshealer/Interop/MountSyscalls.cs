using System.Runtime.InteropServices;
using FsHealer.Mounts;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// statmount(2) / listmount(2) (Linux 6.8) with struct mnt_id_req VER1 (32 bytes). glibc 2.36 (Debian 12) has no
/// wrappers for them, so these two — and only these — go through syscall(2) with their numbers, which are the same on
/// every architecture (include/uapi/asm-generic/unistd.h: 457 / 458).
/// </summary>
public static unsafe partial class MountSyscalls
{
    public const int SYS_statmount = 457, SYS_listmount = 458;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint syscall(nint number, nint a1, nint a2, nint a3, nint a4);
    /// <summary>First statmount buffer: fixed part + PATH_MAX, like xfsprogs.</summary>
    public const int InitialBufferSize = StatmountAbi.FixedSize + 4096;
    public const int MaxBufferSize = 1 << 20;

    [StructLayout(LayoutKind.Sequential)]
    private struct MntIdReq
    {
        public uint Size;
        public uint MntNsFd;
        public ulong MntId;
        public ulong Param;
        public ulong MntNsId;
    }

    /// <summary>
    /// statmount(mntId, mask). Grows the buffer on EOVERFLOW. Returns 0 with the raw buffer (length = bytes valid), or
    /// an errno (ENOENT = the mount is gone, which callers treat as "vanished", not as an error).
    /// </summary>
    public static int Statmount(ulong mntId, ulong mask, SafeFd? ns, out byte[] buffer) =>
        Statmount(mntId, mask, ns, InitialBufferSize, out buffer, out _);

    /// <summary>statmount with an explicit first buffer size; <paramref name="growths"/> counts EOVERFLOW retries.</summary>
    public static int Statmount(ulong mntId, ulong mask, SafeFd? ns, int initialSize, out byte[] buffer, out int growths)
    {
        using var nsRef = new FdRef(ns);
        int size = Math.Max(initialSize, StatmountAbi.FixedSize);
        growths = 0;
        while (true)
        {
            var buf = new byte[size];
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = nsRef.Fd, MntId = mntId, Param = mask };
            nint r;
            fixed (byte* p = buf) r = syscall(SYS_statmount, (nint)(&req), (nint)p, (nint)size, 0);
            if (r >= 0)
            {
                uint used = BitConverter.ToUInt32(buf, 0);
                buffer = used >= StatmountAbi.FixedSize && used <= (uint)size ? buf.AsSpan(0, (int)used).ToArray() : buf;
                return 0;
            }
            int e = Libc.LastErrno;
            if (e == Errno.EINTR) continue;
            if (e == Errno.EOVERFLOW && size < MaxBufferSize) { size *= 2; growths++; continue; }
            buffer = [];
            return e;
        }
    }

    /// <summary>Linux 7.0 STATMOUNT_BY_FD: statmount of the mount an open fd lives on (mnt_fd in place of the
    /// namespace fd). 6.18 returns EINVAL. Returns 0 with the raw buffer, or an errno.</summary>
    public static int StatmountByFd(SafeFd fd, ulong mask, out byte[] buffer)
    {
        using var fdRef = new FdRef(fd);
        const uint STATMOUNT_BY_FD = 1;
        int size = InitialBufferSize;
        while (true)
        {
            var buf = new byte[size];
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = fdRef.Fd, MntId = 0, Param = mask };
            nint r;
            fixed (byte* p = buf) r = syscall(SYS_statmount, (nint)(&req), (nint)p, (nint)size, (nint)STATMOUNT_BY_FD);
            if (r >= 0) { buffer = buf; return 0; }
            int e = Libc.LastErrno;
            if (e == Errno.EINTR) continue;
            if (e == Errno.EOVERFLOW && size < MaxBufferSize) { size *= 2; continue; }
            buffer = [];
            return e;
        }
    }

    /// <summary>statmount + decode. Returns 0 and the entry, ENOENT for a vanished mount, or another errno.</summary>
    public static int StatmountEntry(ulong mntId, SafeFd? ns, List<string> diagnostics, out MountEntry? entry, ulong mask = StatmountAbi.AllKnown)
    {
        entry = null;
        int e = Statmount(mntId, mask, ns, out var buf);
        if (e != 0) return e;
        var info = StatmountDecoder.Decode(buf, diagnostics);
        if (info is null) return Errno.EINVAL;
        entry = info.ToMountEntry(mntId);
        return 0;
    }

    /// <summary>
    /// listmount over the whole namespace (or the children of <paramref name="parent"/>), paginating with the last id
    /// as cursor, <paramref name="batch"/> ids per call. Returns 0 or an errno (ENOSYS: no listmount).
    /// </summary>
    public static int ListAll(out List<ulong> ids, SafeFd? ns = null, ulong parent = StatmountAbi.LSMT_ROOT, int batch = 256)
    {
        using var nsRef = new FdRef(ns);
        ids = [];
        var chunk = new ulong[batch];
        ulong cursor = 0;
        while (true)
        {
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = nsRef.Fd, MntId = parent, Param = cursor };
            nint r;
            fixed (ulong* p = chunk) r = syscall(SYS_listmount, (nint)(&req), (nint)p, batch, 0);
            if (r < 0)
            {
                int e = Libc.LastErrno;
                if (e == Errno.EINTR) continue;
                return e;
            }
            if (r == 0) return 0;
            for (int i = 0; i < (int)r; i++) ids.Add(chunk[i]);
            cursor = chunk[(int)r - 1];
            if ((int)r < batch) return 0;
        }
    }

    /// <summary>The number of a descriptor that goes inside a request structure (mnt_id_req.mnt_ns_fd), held open
    /// for the call; 0 (the caller's own namespace) for none.</summary>
    private readonly ref struct FdRef
    {
        private readonly SafeFd? _fd;
        private readonly bool _added;
        public uint Fd { get; }

        public FdRef(SafeFd? fd)
        {
            _fd = fd;
            if (fd is null) return;
            bool added = false;
            fd.DangerousAddRef(ref added);
            _added = added;
            Fd = (uint)(int)fd.DangerousGetHandle();
        }

        public void Dispose() { if (_added) _fd!.DangerousRelease(); }
    }
}
