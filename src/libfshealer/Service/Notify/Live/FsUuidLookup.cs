using FsHealer.Interop;

namespace FsHealer.Service.Notify.Live;

/// <summary>
/// The UUID of the filesystem a notification is about (FSHEALER_FS_UUID for hooks). From the event's block device:
/// udev's /dev/disk/by-uuid link to it, else <c>blkid -p</c>; without a device (or none found), from the mounted
/// filesystem itself (FS_IOC_GETFSUUID on its root, opened for the ioctl only). Cached per (mount, device); the
/// cache is small and bounded. Never throws.
/// </summary>
public sealed class FsUuidLookup
{
    private readonly Dictionary<string, string?> _cache = new(StringComparer.Ordinal);
    private readonly object _lock = new();
    private readonly string _byUuidDir;

    public FsUuidLookup(string byUuidDir = "/dev/disk/by-uuid") => _byUuidDir = byUuidDir;

    public string? For(string mount, string? device)
    {
        string key = mount + "\0" + device;
        lock (_lock) if (_cache.TryGetValue(key, out var hit)) return hit;
        string? uuid = null;
        try
        {
            if (device is not null && device.StartsWith("/dev/", StringComparison.Ordinal))
                uuid = FromLinks(device) ?? FsHealer.Mounts.Live.SupportedFilesystems.Blkid(device).Uuid;
            uuid ??= FromMount(mount);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }
        lock (_lock)
        {
            if (_cache.Count >= 256) _cache.Clear();
            _cache[key] = uuid;
        }
        return uuid;
    }

    private string? FromLinks(string device)
    {
        var real = Realpath.Resolve(device, out _) ?? device;
        if (!Directory.Exists(_byUuidDir)) return null;
        foreach (var f in new DirectoryInfo(_byUuidDir).EnumerateFileSystemInfos())
        {
            if (f.LinkTarget is null) continue;
            var target = Realpath.Resolve(f.FullName, out _);
            if (target == real) return f.Name;
        }
        return null;
    }

    private static string? FromMount(string mount)
    {
        using var fd = Libc.Open(mount, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        if (fd.IsInvalid) return null;
        return FsIoctl.GetFsUuid(fd, out _) is { } uuid ? uuid.ToString("D") : null;
    }
}
