using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;
using FsHealer.Ext4;
using FsHealer.Mounts;
using FsHealer.Interop;
using FsHealer.Mounts.Live;
using System.Buffers.Text;
using FsHealer.Devices.Live;

namespace FsHealer.Ext4.Live;

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

    /// <summary>errors_count alone, without allocating (the idle reconciliation reads it for every ext4 filesystem each
    /// poll interval; the other attributes only matter when it moved). Null when unreadable — call <see cref="Read"/>
    /// for the diagnostic.</summary>
    public static ulong? ReadErrorsCount(string errorsCountPath)
    {
        Span<byte> buf = stackalloc byte[32];
        int n = Libc.ReadFile(errorsCountPath, buf);
        if (n <= 0) return null;
        var text = buf[..n].TrimEnd((byte)'\n');
        return Utf8Parser.TryParse(text, out ulong v, out int used) && used == text.Length ? v : null;
    }

    /// <summary>The sysfs path of a device's errors_count.</summary>
    public static string ErrorsCountPath(string device, string root = SysfsRoot) => Path.Combine(root, device, "errors_count");

    /// <summary>The mountinfo entry of the top-most mount at <paramref name="mountPoint"/> (made absolute first), or null
    /// (also when /proc/self/mountinfo cannot be read).</summary>
    public static MountEntry? FindMount(string mountPoint) => MountTable.FindTopmost(Path.GetFullPath(mountPoint), out _);

    /// <summary>The kernel block device name (sysfs dir name, e.g. "loop3") of a mount, from its major:minor.</summary>
    public static string? DeviceName(MountEntry m) =>
        BlockDeviceName.Of(m.Dev)
        ?? (m.Source.StartsWith("/dev/", StringComparison.Ordinal) ? Path.GetFileName(m.Source) : null);
}
