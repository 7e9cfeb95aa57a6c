using FsHealer.Devices;
using FsHealer.Interop;
using System.Buffers;
using FsHealer.Text;

namespace FsHealer.Devices.Live;

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
        _rootFd = Libc.Open(_root, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, out _);
    }

    private string Full(string rel) => _root + "/" + rel.TrimStart('/');

    /// <summary>The root, held open: reads are openat(root, relative path), with no path string built per read.</summary>
    private readonly SafeFd _rootFd;

    /// <summary>A file's text, or null when absent/unreadable. Decoded byte-exactly (<see cref="PathBytes.Decode"/>):
    /// some attributes are paths, e.g. a loop device's backing_file. No exception and no allocation beyond the string on the
    /// common path: the daemon samples a dozen attributes of every device each poll interval, and most of them do
    /// not exist on a given device (a loop device has no SCSI counters).</summary>
    public string? Read(string path)
    {
        Span<byte> page = stackalloc byte[4096];   // a sysfs attribute is at most one page
        if (!_rootFd.IsInvalid)
        {
            int n = Libc.ReadFileAt(_rootFd, path.Length > 0 && path[0] == '/' ? path.TrimStart('/') : path, page);
            if (n < 0) return null;
            if (n < page.Length) return PathBytes.Decode(page[..n]);
        }
        using var fd = Libc.Open(Full(path), Libc.O_RDONLY, out _);
        if (fd.IsInvalid) return null;
        int total = Libc.ReadFull(fd, page);
        if (total < 0) return null;
        if (total < page.Length) return PathBytes.Decode(page[..total]);
        // larger than a page (not a sysfs attribute): read on, up to the cap
        var buf = ArrayPool<byte>.Shared.Rent(MaxRead);
        try
        {
            page.CopyTo(buf);
            int more = Libc.ReadFull(fd, buf.AsSpan(total, MaxRead - total));
            return more < 0 ? null : PathBytes.Decode(buf.AsSpan(0, total + more));
        }
        finally { ArrayPool<byte>.Shared.Return(buf); }
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
