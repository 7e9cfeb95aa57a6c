namespace FsHealer.Devices.Live;

public static class BlockDeviceName
{
    /// <summary>Kernel block device name ("loop3", the sysfs directory name) of "MAJ:MIN", via the /sys/dev/block
    /// link; null when there is none (e.g. btrfs's anonymous 0:NN) or it cannot be read. Never throws.</summary>
    public static string? Of(string majMin)
    {
        try
        {
            var link = new FileInfo($"/sys/dev/block/{majMin}").LinkTarget;
            return link is null ? null : Path.GetFileName(Path.TrimEndingDirectorySeparator(link));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
