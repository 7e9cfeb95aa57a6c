using FsHealer.Config;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using System.Text;
using FsHealer.Devices.Live;
using FsHealer.Interop;

namespace FsHealer.Mounts.Live;

public sealed record SupportedFs(FsIdentity Identity, string Source, string Dev, bool ReadOnly);

/// <summary>Mounted filesystems fshealer monitors, with UUID and label from /dev/disk/by-uuid and by-label.</summary>
public static class SupportedFilesystems
{
    /// <summary>Identity of one monitoring target for rule matching (mount point, type, UUID and label).</summary>
    public static FsIdentity Identify(MountTarget t) => Identify(t, Links("/dev/disk/by-uuid"), Links("/dev/disk/by-label"));

    // udev's links when present (kept current by udev), else probe the device itself
    private static FsIdentity Identify(MountTarget t, Dictionary<string, string> byUuid, Dictionary<string, string> byLabel)
    {
        string? blk = BlockDeviceName.Of(t.Dev);
        string? uuid = blk is null ? null : byUuid.GetValueOrDefault(blk);
        string? label = blk is null ? null : byLabel.GetValueOrDefault(blk);
        if ((uuid is null || label is null) && t.Source.StartsWith("/dev/", StringComparison.Ordinal))
        {
            var (bu, bl) = Blkid(t.Source);
            uuid ??= bu;
            label ??= bl;
        }
        return new FsIdentity(t.PreferredPath, t.FsType, uuid, label);
    }

    public static List<SupportedFs> List(TextWriter stderr)
    {
        var diags = new List<string>();
        var entries = MountTable.ReadAll(diags, out _);
        foreach (var d in diags) stderr.WriteLine($"fshealer: {d}");
        var tracker = new MountTracker();
        tracker.Reconcile(entries);
        var byUuid = Links("/dev/disk/by-uuid");
        var byLabel = Links("/dev/disk/by-label");
        var list = new List<SupportedFs>();
        foreach (var t in tracker.Targets.OrderBy(t => t.PreferredPath, StringComparer.Ordinal))
        {
            var entry = entries.FirstOrDefault(e => e.MountPoint == t.PreferredPath && e.Dev == t.Dev);
            list.Add(new SupportedFs(Identify(t, byUuid, byLabel), t.Source, t.Dev, entry?.ReadOnly ?? false));
        }
        return list;
    }

    /// <summary>UUID and label from <c>blkid -p -o export</c> (no udev links, e.g. in containers). Low-level probe of the
    /// device itself: blkid's cache (/run/blkid/blkid.tab) trusts entries verified in the last seconds, so a loop or
    /// hot-swapped device that now holds another filesystem could be named by the old one's UUID/label — and a rule
    /// matched to the wrong filesystem. Never throws.</summary>
    public static (string? Uuid, string? Label) Blkid(string device)
    {
        // Spawn: the device path goes to blkid byte for byte
        var output = Spawn.Run("blkid", ["-p", "-o", "export", device], TimeSpan.FromSeconds(3), new Dictionary<string, string> { ["LC_ALL"] = "C" }).Output;
        string? uuid = null, label = null;
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("UUID=", StringComparison.Ordinal)) uuid = line[5..];
            else if (line.StartsWith("LABEL=", StringComparison.Ordinal)) label = line[6..];
        }
        return (uuid, label);
    }

    // device name → uuid/label (udev escapes like \x20 are decoded)
    private static Dictionary<string, string> Links(string dir)
    {
        var d = new Dictionary<string, string>();
        try
        {
            foreach (var f in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (f.LinkTarget is not { } target) continue;
                d.TryAdd(Path.GetFileName(target), UnescapeUdev(f.Name));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return d;
    }

    private static string UnescapeUdev(string s)
    {
        if (!s.Contains("\\x", StringComparison.Ordinal)) return s;
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[i + 1] == 'x' && Uri.IsHexDigit(s[i + 2]) && Uri.IsHexDigit(s[i + 3]))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 2, 2), 16));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }
}
