using FsHealer.Core.Ext4;

namespace FsHealer.Linux.Ext4;

/// <summary>Reads /sys/fs/ext4/&lt;dev&gt;/ error attributes and /proc/self/mountinfo for ext4 mounts.</summary>
public static class Ext4SysfsReader
{
    public const string SysfsRoot = "/sys/fs/ext4";

    /// <summary>Read the error attributes of block device <paramref name="device"/> (e.g. "loop3"). Never throws.</summary>
    public static Ext4SysfsState Read(string device, string root = SysfsRoot)
    {
        var attrs = new Dictionary<string, string>();
        var diags = new List<string>();
        if (device.Length == 0 || device.Contains('/') || device is "." or "..")
            return new Ext4SysfsState { Device = device, Diagnostics = [$"invalid ext4 sysfs device name \"{device}\""] };
        foreach (var name in Ext4SysfsState.AttributeNames)
        {
            string p = Path.Combine(root, device, name);
            try { attrs[name] = File.ReadAllText(p); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { diags.Add($"{p}: {e.Message}"); }
        }
        var st = Ext4SysfsState.Parse(device, attrs);
        return diags.Count == 0 ? st : st with { Diagnostics = [.. diags, .. st.Diagnostics] };
    }

    /// <summary>The mountinfo entry of the top-most mount at <paramref name="mountPoint"/>, or null.</summary>
    public static MountInfoEntry? FindMount(string mountPoint)
    {
        string text;
        try { text = File.ReadAllText("/proc/self/mountinfo"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        string want = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint));
        if (want.Length == 0) want = "/";
        MountInfoEntry? found = null;
        foreach (var e in MountInfoEntry.ParseAll(text, out _))
            if (e.MountPoint == want) found = e;
        return found;
    }

    /// <summary>The kernel block device name (sysfs dir name, e.g. "loop3") of a mount, from its major:minor.</summary>
    public static string? DeviceName(MountInfoEntry m)
    {
        try
        {
            var link = new FileInfo($"/sys/dev/block/{m.Major}:{m.Minor}").LinkTarget;
            if (link is not null) return Path.GetFileName(Path.TrimEndingDirectorySeparator(link));
        }
        catch (IOException) { }
        return m.Source.StartsWith("/dev/", StringComparison.Ordinal) ? Path.GetFileName(m.Source) : null;
    }
}
