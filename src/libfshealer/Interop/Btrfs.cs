using System.Runtime.InteropServices;
using FsHealer.Btrfs;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// btrfs ioctls on an fd of a mounted btrfs (normally the mountpoint). Each call fills a buffer, runs the ioctl and
/// hands the buffer to the pure decoders in <see cref="BtrfsDecode"/>. Returns 0 or an errno (EPROTO when the kernel
/// answered but the buffer did not decode); never throws.
/// </summary>
public static unsafe partial class BtrfsIoctl
{
    public static int FsInfo(SafeFd fd, out BtrfsFsInfo? info)
    {
        info = null;
        var buf = new byte[BtrfsAbi.FsInfoArgsSize];
        BtrfsDecode.EncodeFsInfoRequest(buf);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, BtrfsAbi.IocFsInfo, p) != 0) return Libc.LastErrno;
        return BtrfsDecode.TryDecodeFsInfo(buf, out info, out _) ? 0 : Errno.EPROTO;
    }

    /// <summary>DEV_INFO by devid (uuid zeroed). ENODEV for a gap left by a removed device.</summary>
    public static int DevInfo(SafeFd fd, ulong devid, out BtrfsDevInfo? info)
    {
        info = null;
        var buf = new byte[BtrfsAbi.DevInfoArgsSize];
        BtrfsDecode.EncodeDevInfoRequest(buf, devid);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, BtrfsAbi.IocDevInfo, p) != 0) return Libc.LastErrno;
        return BtrfsDecode.TryDecodeDevInfo(buf, out info, out _) ? 0 : Errno.EPROTO;
    }

    public static int GetDevStats(SafeFd fd, ulong devid, out DevStatCounters counters, bool reset = false)
    {
        counters = default;
        var buf = new byte[BtrfsAbi.GetDevStatsSize];
        BtrfsDecode.EncodeDevStatsRequest(buf, devid, reset);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, BtrfsAbi.IocGetDevStats, p) != 0) return Libc.LastErrno;
        return BtrfsDecode.TryDecodeDevStats(buf, out _, out counters, out _) ? 0 : Errno.EPROTO;
    }

    /// <summary>BTRFS_IOC_SCRUB: blocks until the device is scrubbed or cancelled. Progress is decoded also on ECANCELED.</summary>
    public static int Scrub(SafeFd fd, ulong devid, bool readOnly, out ScrubProgress? progress, ulong start = 0)
    {
        progress = null;
        var buf = new byte[BtrfsAbi.ScrubArgsSize];
        BtrfsDecode.EncodeScrubArgs(buf, devid, start, ulong.MaxValue, readOnly);
        int rc;
        fixed (byte* p = buf)
            rc = Libc.ioctl(fd, BtrfsAbi.IocScrub, p) != 0 ? Libc.LastErrno : 0;
        if (rc is 0 or Errno.ECANCELED) BtrfsDecode.TryDecodeScrubArgs(buf, out _, out progress, out _);
        return rc;
    }

    /// <summary>BTRFS_IOC_SCRUB_PROGRESS for a device; ENOTCONN when no scrub runs on it.</summary>
    public static int ScrubProgress(SafeFd fd, ulong devid, out ScrubProgress? progress)
    {
        progress = null;
        var buf = new byte[BtrfsAbi.ScrubArgsSize];
        BtrfsDecode.EncodeScrubArgs(buf, devid);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, BtrfsAbi.IocScrubProgress, p) != 0) return Libc.LastErrno;
        return BtrfsDecode.TryDecodeScrubArgs(buf, out _, out progress, out _) ? 0 : Errno.EPROTO;
    }

    /// <summary>BTRFS_IOC_SCRUB_CANCEL: cancels every scrub on the filesystem; ENOTCONN when none runs.</summary>
    public static int ScrubCancel(SafeFd fd) => Libc.ioctl(fd, BtrfsAbi.IocScrubCancel, 0) != 0 ? Libc.LastErrno : 0;

    /// <summary>INO_LOOKUP of the first inode with treeid 0: the subvolume id of the fd.</summary>
    public static int FdRootId(SafeFd fd, out ulong rootId)
    {
        rootId = 0;
        var buf = new byte[BtrfsAbi.InoLookupArgsSize];
        BtrfsDecode.EncodeInoLookupRequest(buf, 0, BtrfsAbi.FirstFreeObjectId);
        fixed (byte* p = buf)
            if (Libc.ioctl(fd, BtrfsAbi.IocInoLookup, p) != 0) return Libc.LastErrno;
        return BtrfsDecode.TryDecodeInoLookupTreeId(buf, out rootId, out _) ? 0 : Errno.EPROTO;
    }

    /// <summary>LOGICAL_INO_V2 (flags 0), falling back to LOGICAL_INO on kernels without V2.</summary>
    public static int LogicalIno(SafeFd fd, ulong logical, out LogicalInoResult? result, int containerSize = BtrfsAbi.LogicalInoV1MaxSize)
    {
        result = null;
        var container = new byte[containerSize];
        var args = new byte[BtrfsAbi.LogicalInoArgsSize];
        fixed (byte* c = container)
        fixed (byte* a = args)
        {
            BtrfsDecode.EncodeLogicalInoArgs(args, logical, (ulong)containerSize, (ulong)(nint)c, 0);
            int rc = Libc.ioctl(fd, BtrfsAbi.IocLogicalInoV2, a) != 0 ? Libc.LastErrno : 0;
            if (rc is Errno.ENOTTY or Errno.EOPNOTSUPP)
            {
                int size = Math.Min(containerSize, BtrfsAbi.LogicalInoV1MaxSize);
                BtrfsDecode.EncodeLogicalInoArgs(args, logical, (ulong)size, (ulong)(nint)c, 0);
                rc = Libc.ioctl(fd, BtrfsAbi.IocLogicalIno, a) != 0 ? Libc.LastErrno : 0;
            }
            if (rc != 0) return rc;
        }
        return BtrfsDecode.TryDecodeLogicalIno(container, out result, out _) ? 0 : Errno.EPROTO;
    }

    /// <summary>INO_PATHS: paths of an inode relative to the fd's subvolume.</summary>
    public static int InoPaths(SafeFd fd, ulong inode, out InoPathsResult? result, int containerSize = 65536)
    {
        result = null;
        var container = new byte[containerSize];
        var args = new byte[BtrfsAbi.InoPathArgsSize];
        fixed (byte* c = container)
        fixed (byte* a = args)
        {
            BtrfsDecode.EncodeInoPathArgs(args, inode, (ulong)containerSize, (ulong)(nint)c);
            if (Libc.ioctl(fd, BtrfsAbi.IocInoPaths, a) != 0) return Libc.LastErrno;
        }
        return BtrfsDecode.TryDecodeInoPaths(container, out result, out _) ? 0 : Errno.EPROTO;
    }
}
