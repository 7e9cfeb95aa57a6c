using FsHealer.Devices;
using FsHealer.Btrfs.Live;
using FsHealer.Interop;

namespace FsHealer.Devices.Live;

/// <summary>Where a mounted filesystem's block devices are: the mount's device number, and for btrfs (whose st_dev
/// is an anonymous 0:NN) its fsid and member device names (BTRFS_IOC_FS_INFO / DEV_INFO on a briefly opened fd).</summary>
public static class FsDeviceSpecs
{
    public static FsDeviceSpec For(string mountPoint, string fsType, string dev, List<string> notes)
    {
        if (fsType != "btrfs") return new FsDeviceSpec([dev]);
        using var m = BtrfsMount.Open(mountPoint, out var err);
        if (m is null)
        {
            if (err is not null) notes.Add(err);
            return new FsDeviceSpec([dev]);
        }
        var names = new List<string>();
        var devs = m.Devices(out var derr);
        foreach (var d in devs)
            if (d.Path.Length > 0 && Realpath.Resolve(d.Path, out _) is { } real && real.StartsWith("/dev/", StringComparison.Ordinal))
                names.Add(Path.GetFileName(real));
        if (derr is not null) notes.Add(derr);
        return new FsDeviceSpec([], m.Fsid, names);
    }
}
