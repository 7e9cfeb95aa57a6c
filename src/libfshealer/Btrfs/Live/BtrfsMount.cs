using System.Globalization;
using FsHealer.Btrfs;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Btrfs.Live;

/// <summary>A device of a mounted btrfs with its counters (or why they could not be read).</summary>
public sealed record BtrfsDeviceStatus(BtrfsDevInfo Info, DevStatCounters? Counters, string? CountersError);

/// <summary>
/// An open mounted btrfs: the mountpoint fd, FS_INFO, device enumeration, counters (ioctl, sysfs fallback),
/// the sysfs scrub bandwidth knob, and inode lookups for damage reports.
/// </summary>
public sealed class BtrfsMount : IDisposable, IBtrfsInodeLookup
{
    public string MountPoint { get; }
    public SafeFd Fd { get; }
    public BtrfsFsInfo FsInfo { get; }
    public ulong FdRootId { get; }
    public string SysfsRoot { get; init; } = "/sys/fs/btrfs";

    private BtrfsMount(string mountPoint, SafeFd fd, BtrfsFsInfo info, ulong rootId)
    {
        MountPoint = mountPoint; Fd = fd; FsInfo = info; FdRootId = rootId;
    }

    /// <summary>Open a btrfs mountpoint. Null with a diagnostic naming the mount, syscall and errno on failure.</summary>
    public static BtrfsMount? Open(string mountPoint, out string? error)
    {
        var fd = Libc.Open(mountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int errno);
        if (fd.IsInvalid) { error = $"{mountPoint}: open: {Errno.Name(errno)}: {Errno.Message(errno)}"; return null; }
        int e = BtrfsIoctl.FsInfo(fd, out var info);
        if (e != 0 || info is null)
        {
            fd.Dispose();
            error = e == Errno.ENOTTY
                ? $"{mountPoint}: not a btrfs filesystem, or no longer mounted (BTRFS_IOC_FS_INFO: ENOTTY)"
                : $"{mountPoint}: BTRFS_IOC_FS_INFO: {Errno.Name(e)}: {Errno.Message(e)}";
            return null;
        }
        if (BtrfsIoctl.FdRootId(fd, out ulong root) != 0) root = BtrfsAbi.FsTreeObjectId;
        error = null;
        return new BtrfsMount(mountPoint, fd, info, root);
    }

    public string Fsid => FsInfo.FsidText;

    /// <summary>All present devices (devid 1..max_id, ENODEV gaps skipped).</summary>
    public List<BtrfsDevInfo> Devices(out string? error)
    {
        error = null;
        var list = new List<BtrfsDevInfo>();
        for (ulong id = 1; id <= FsInfo.MaxId && id < 65536; id++)
        {
            int e = BtrfsIoctl.DevInfo(Fd, id, out var info);
            if (e == Errno.ENODEV) continue;
            if (e != 0 || info is null)
            {
                error = $"{MountPoint}: BTRFS_IOC_DEV_INFO devid {id}: {Errno.Name(e)}: {Errno.Message(e)}";
                continue;
            }
            list.Add(info);
        }
        return list;
    }

    public string DevinfoDir(ulong devid) => Path.Combine(SysfsRoot, Fsid, "devinfo", devid.ToString(CultureInfo.InvariantCulture));

    /// <summary>Counters via GET_DEV_STATS; if the ioctl fails, sysfs devinfo/&lt;id&gt;/error_stats.</summary>
    public DevStatCounters? ReadCounters(ulong devid, out string? error)
    {
        int e = BtrfsIoctl.GetDevStats(Fd, devid, out var c);
        if (e == 0) { error = null; return c; }
        string ioctlErr = $"BTRFS_IOC_GET_DEV_STATS devid {devid}: {Errno.Name(e)}: {Errno.Message(e)}";
        string path = Path.Combine(DevinfoDir(devid), "error_stats");
        try
        {
            if (File.Exists(path) && BtrfsDecode.TryParseErrorStats(File.ReadAllText(path), out var sc, out var perr)) { error = null; return sc; }
            error = $"{MountPoint}: {ioctlErr}; {path} not usable";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = $"{MountPoint}: {ioctlErr}; {path}: {ex.Message}";
        }
        return null;
    }

    public List<BtrfsDeviceStatus> Status(out string? error)
    {
        var devs = Devices(out error);
        return devs.Select(d => new BtrfsDeviceStatus(d, ReadCounters(d.Devid, out var ce), ce)).ToList();
    }

    /// <summary>Samples for the monitor; devices whose counters cannot be read are left out (with the error appended).</summary>
    public List<DeviceSample> Sample(List<string> errors)
    {
        var devs = Devices(out var e);
        if (e is not null) errors.Add(e);
        var samples = new List<DeviceSample>();
        foreach (var d in devs)
        {
            var c = ReadCounters(d.Devid, out var ce);
            if (c is { } cc) samples.Add(new DeviceSample(d.Devid, d.Uuid, d.Path, cc));
            else if (ce is not null) errors.Add(ce);
        }
        return samples;
    }

    /// <summary>Current scrub_speed_max (bytes/s, 0 = unlimited), or null when the knob is absent.</summary>
    public ulong? GetScrubSpeedMax(ulong devid)
    {
        string p = Path.Combine(DevinfoDir(devid), "scrub_speed_max");
        try
        {
            return File.Exists(p) && ulong.TryParse(File.ReadAllText(p).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Set scrub_speed_max. Returns null on success, else a note (absent knob, permission).</summary>
    public string? SetScrubSpeedMax(ulong devid, ulong bytesPerSecond)
    {
        string p = Path.Combine(DevinfoDir(devid), "scrub_speed_max");
        if (!File.Exists(p)) return $"{p} is absent (kernel before 5.14?); bandwidth limit not applied";
        try { File.WriteAllText(p, bytesPerSecond.ToString(CultureInfo.InvariantCulture)); return null; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return $"{p}: {ex.Message}; bandwidth limit not applied"; }
    }

    public int LogicalToInodes(ulong logical, out LogicalInoResult? result) => BtrfsIoctl.LogicalIno(Fd, logical, out result);
    public int InodePaths(ulong inode, out InoPathsResult? result) => BtrfsIoctl.InoPaths(Fd, inode, out result);

    public void Dispose() => Fd.Dispose();
}
