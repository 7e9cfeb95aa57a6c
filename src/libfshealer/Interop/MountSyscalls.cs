using System.Runtime.InteropServices;
using FsHealer.Mounts;

namespace FsHealer.Interop;

/// <summary>statmount(2) / listmount(2) (x86_64 syscalls 457 / 458) with struct mnt_id_req VER1 (32 bytes),
/// plus poll(2) and FS_IOC_GETFSUUID used by the mount layer.</summary>
public static unsafe partial class MountSyscalls
{
    public const int SYS_statmount = 457, SYS_listmount = 458;
    public const int ENOENT = 2, EINVAL = 22, ENOSYS = 38, EOVERFLOW = 75, ENOTTY = 25, EINTR = 4;
    public const uint FS_IOC_GETFSUUID = 0x80111500;
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
    public static int Statmount(ulong mntId, ulong mask, int nsFd, out byte[] buffer) =>
        Statmount(mntId, mask, nsFd, InitialBufferSize, out buffer, out _);

    /// <summary>statmount with an explicit first buffer size; <paramref name="growths"/> counts EOVERFLOW retries.</summary>
    public static int Statmount(ulong mntId, ulong mask, int nsFd, int initialSize, out byte[] buffer, out int growths)
    {
        int size = Math.Max(initialSize, StatmountAbi.FixedSize);
        growths = 0;
        while (true)
        {
            var buf = new byte[size];
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = (uint)Math.Max(nsFd, 0), MntId = mntId, Param = mask };
            nint r;
            fixed (byte* p = buf) r = Libc.syscall(SYS_statmount, (nint)(&req), (nint)p, (nint)size, 0, 0);
            if (r >= 0)
            {
                uint used = BitConverter.ToUInt32(buf, 0);
                buffer = used >= StatmountAbi.FixedSize && used <= (uint)size ? buf.AsSpan(0, (int)used).ToArray() : buf;
                return 0;
            }
            int e = Libc.LastErrno;
            if (e == EINTR) continue;
            if (e == EOVERFLOW && size < MaxBufferSize) { size *= 2; growths++; continue; }
            buffer = [];
            return e;
        }
    }

    /// <summary>Linux 7.0 STATMOUNT_BY_FD: statmount of the mount an open fd lives on (mnt_fd in place of the
    /// namespace fd). 6.18 returns EINVAL. Returns 0 with the raw buffer, or an errno.</summary>
    public static int StatmountByFd(SafeFd fd, ulong mask, out byte[] buffer)
    {
        const uint STATMOUNT_BY_FD = 1;
        int size = InitialBufferSize;
        while (true)
        {
            var buf = new byte[size];
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = (uint)fd.Fd, MntId = 0, Param = mask };
            nint r;
            fixed (byte* p = buf) r = Libc.syscall(SYS_statmount, (nint)(&req), (nint)p, (nint)size, (nint)STATMOUNT_BY_FD, 0);
            if (r >= 0) { buffer = buf; return 0; }
            int e = Libc.LastErrno;
            if (e == EINTR) continue;
            if (e == EOVERFLOW && size < MaxBufferSize) { size *= 2; continue; }
            buffer = [];
            return e;
        }
    }

    /// <summary>statmount + decode. Returns 0 and the entry, ENOENT for a vanished mount, or another errno.</summary>
    public static int StatmountEntry(ulong mntId, int nsFd, List<string> diagnostics, out MountEntry? entry, ulong mask = StatmountAbi.AllKnown)
    {
        entry = null;
        int e = Statmount(mntId, mask, nsFd, out var buf);
        if (e != 0) return e;
        var info = StatmountDecoder.Decode(buf, diagnostics);
        if (info is null) return EINVAL;
        entry = info.ToMountEntry(mntId);
        return 0;
    }

    /// <summary>
    /// listmount over the whole namespace (or the children of <paramref name="parent"/>), paginating with the last id
    /// as cursor, <paramref name="batch"/> ids per call. Returns 0 or an errno (ENOSYS: no listmount).
    /// </summary>
    public static int ListAll(out List<ulong> ids, int nsFd = 0, ulong parent = StatmountAbi.LSMT_ROOT, int batch = 256)
    {
        ids = [];
        var chunk = new ulong[batch];
        ulong cursor = 0;
        while (true)
        {
            var req = new MntIdReq { Size = StatmountAbi.MNT_ID_REQ_SIZE_VER1, MntNsFd = (uint)Math.Max(nsFd, 0), MntId = parent, Param = cursor };
            nint r;
            fixed (ulong* p = chunk) r = Libc.syscall(SYS_listmount, (nint)(&req), (nint)p, batch, 0, 0);
            if (r < 0)
            {
                int e = Libc.LastErrno;
                if (e == EINTR) continue;
                return e;
            }
            if (r == 0) return 0;
            for (int i = 0; i < (int)r; i++) ids.Add(chunk[i]);
            cursor = chunk[(int)r - 1];
            if ((int)r < batch) return 0;
        }
    }

    /// <summary>FS_IOC_GETFSUUID: the filesystem UUID (XFS, ext4; ENOTTY on btrfs). Returns 0 or errno.</summary>
    public static int GetFsUuid(SafeFd fd, out byte[] uuid)
    {
        byte* b = stackalloc byte[17];
        new Span<byte>(b, 17).Clear();
        if (Libc.ioctl(fd.Fd, FS_IOC_GETFSUUID, b) != 0) { uuid = []; return Libc.LastErrno; }
        int len = Math.Min((int)b[0], 16);
        uuid = new ReadOnlySpan<byte>(b + 1, len).ToArray();
        return 0;
    }

    public const short POLLIN = 0x1, POLLPRI = 0x2, POLLERR = 0x8;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint nfds, int timeout);

    /// <summary>poll(2) one fd. Returns revents (0 on timeout) or -errno.</summary>
    public static int Poll(SafeFd fd, short events, int timeoutMs)
    {
        var p = new PollFd { Fd = fd.Fd, Events = events };
        int r = poll(&p, 1, timeoutMs);
        if (r < 0) return -Libc.LastErrno;
        return r == 0 ? 0 : p.Revents;
    }

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    /// <summary>Rewind an fd (re-reading /proc/self/mountinfo from the same fd keeps POLLPRI semantics).</summary>
    public static int Rewind(SafeFd fd) => lseek(fd.Fd, 0, 0) < 0 ? Libc.LastErrno : 0;
}
