using FsHealer.Core.Devices;
using FsHealer.Linux.Interop;

namespace FsHealer.Linux.Devices;

/// <summary>
/// <see cref="ISysfsView"/> over a directory: the real /sys, or a fake tree (a temp dir with the same layout and
/// relative symlinks) in tests. Reads are capped at 64 KiB; anything absent, unreadable or outside the root is
/// null/empty. <see cref="DeviceOfFile"/> stats the host file (st_dev) unless a replacement is given.
/// </summary>
public sealed class SysfsDirectory : ISysfsView
{
    private const int MaxRead = 64 * 1024;
    private readonly string _root;
    private readonly Func<string, string?> _devOfFile;

    public string Root => _root;

    public SysfsDirectory(string root = "/sys", Func<string, string?>? deviceOfFile = null)
    {
        _root = (Realpath.Resolve(root, out _) ?? root).TrimEnd('/');
        _devOfFile = deviceOfFile ?? StatDevice;
    }

    private string Full(string rel) => _root + "/" + rel.TrimStart('/');

    public string? Read(string path)
    {
        try
        {
            using var f = new FileStream(Full(path), FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            var buf = new byte[MaxRead];
            int total = 0, n;
            while (total < buf.Length && (n = f.Read(buf, total, buf.Length - total)) > 0) total += n;
            return System.Text.Encoding.UTF8.GetString(buf, 0, total);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return null;
        }
    }

    public IReadOnlyList<string> List(string path)
    {
        try { return Directory.GetFileSystemEntries(Full(path)).Select(Path.GetFileName).OfType<string>().ToList(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return [];
        }
    }

    public string? Canonical(string path)
    {
        var r = Realpath.Resolve(Full(path), out _);
        if (r is null || !r.StartsWith(_root + "/", StringComparison.Ordinal)) return null;
        return r[(_root.Length + 1)..];
    }

    public string? DeviceOfFile(string hostPath) => _devOfFile(hostPath);

    private static string? StatDevice(string path) => Statx.Get(path, out var r) == 0 ? r.Dev : null;
}
