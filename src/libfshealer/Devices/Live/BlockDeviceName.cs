using FsHealer.Interop;

namespace FsHealer.Devices.Live;

public static class BlockDeviceName
{
    /// <summary>Kernel block device name ("loop3", the sysfs directory name) of "MAJ:MIN", via the /sys/dev/block
    /// link; null when there is none (e.g. btrfs's anonymous 0:NN) or it cannot be read. Never throws.</summary>
    public static string? Of(string majMin)
    {
        var link = Realpath.ReadLink($"/sys/dev/block/{majMin}", out _);
        return link is null ? null : Path.GetFileName(Path.TrimEndingDirectorySeparator(link));
    }
}
