using FsHealer.Media;
using FsHealer.Model;
using FsHealer.Text;
using FsHealer.Xfs;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;
using FsHealer.Interop;
using System.Diagnostics;

namespace FsHealer.Media.Live;

public sealed record MediaScanRequest
{
    public required string Mount { get; init; }
    public MediaScanOptions Options { get; init; } = new();
    /// <summary>Directory for the checkpoint file; null = not resumable.</summary>
    public string? StateDir { get; init; }
    /// <summary>Scan the whole device even where the filesystem can say what is free.</summary>
    public bool WholeDevice { get; init; }
    public IEventSink? Events { get; init; }
}

public sealed record MediaScanReport(MediaScanResult Result, string Mount, string FsType, string Device, bool AllocatedOnly,
    IReadOnlyList<BadRangeOwner> Owners, IReadOnlyList<FsEvent> Events, long ResumedFrom);

/// <summary>
/// The fallback media scan for any filesystem: find the block device of the mount, ask GETFSMAP which space is in
/// use (else scan everything), read it O_DIRECT with a bandwidth limit, narrow failures to the sector, then map bad
/// ranges to files (FIEMAP of every file on the filesystem) and metadata (GETFSMAP special owners), and publish
/// media-error / data-lost events. Stops when the filesystem is unmounted; resumable from a checkpoint file.
/// </summary>
public static class MediaScan
{
    public static MediaScanReport? Run(MediaScanRequest req, Action<MediaScanProgress>? progress, out string? error, CancellationToken ct = default)
    {
        error = null;
        string mount = Path.TrimEndingDirectorySeparator(Path.GetFullPath(req.Mount));
        if (mount.Length == 0) mount = "/";
        var m = Ext4SysfsReader.FindMount(mount);
        if (m is null) { error = $"{mount}: not a mount point"; return null; }
        string? devName = Ext4SysfsReader.DeviceName(m);
        string device = devName is null ? m.Source : "/dev/" + devName;
        using var dev = BlockDevice.Open(device, out error);
        if (dev is null) { error = $"{mount}: {error}"; return null; }
        var fsmap = new List<FsmapRecord>();
        int ferr;
        // the directory fd is closed again before the scan so that the scan never keeps the filesystem busy
        using (var dirFd = Libc.Open(mount, Libc.O_RDONLY | Libc.O_DIRECTORY, out int derr))
        {
            if (dirFd.IsInvalid) { error = $"open({mount}): {Errno.Name(derr)}: {Errno.Message(derr)}"; return null; }
            ferr = Fsmap.GetAll(dirFd, fsmap);
        }
        bool allocatedOnly = ferr == 0 && fsmap.Count > 0 && !req.WholeDevice;
        uint devKey = DevT(m.DevMajor, m.DevMinor);
        // everything that GETFSMAP does not call free is scanned: ext4 leaves file data out of its map (gaps), XFS
        // without rmapbt reports it as "unknown owner"
        var ranges = allocatedOnly
            ? MediaMapping.InUse(fsmap.Where(r => r.Device == devKey || fsmap.All(x => x.Device == fsmap[0].Device)), dev.Size)
            : [new ByteRange(0, dev.Size)];

        string? cpPath = req.StateDir is null ? null : Path.Combine(req.StateDir, "media-" + Sanitize(mount) + ".json");
        var options = req.Options;
        long resumed = 0;
        if (cpPath is not null && File.Exists(cpPath))
        {
            string text = "";
            try { text = File.ReadAllText(cpPath); } catch (IOException) { }
            if (MediaScanCheckpoint.FromJson(text, out _) is { } cp && cp.Matches(mount, device, dev.Size))
            {
                resumed = cp.NextOffset;
                options = options with { ResumeFrom = cp.NextOffset, KnownBad = cp.Bad.ConvertAll(b => b.ToRange()) };
            }
        }
        var userStop = options.StopReason;
        var userCheckpoint = options.Checkpoint;
        var stopClock = Stopwatch.StartNew();
        options = options with
        {
            StopReason = () =>
            {
                if (userStop?.Invoke() is { } r) return r;
                if (stopClock.ElapsedMilliseconds < 500) return null;
                stopClock.Restart();
                var now = Ext4SysfsReader.FindMount(mount);
                return now is null || now.DevKey != m.DevKey ? $"{mount} was unmounted" : null;
            },
            Checkpoint = cpPath is null ? userCheckpoint : (next, bad, done) =>
            {
                userCheckpoint?.Invoke(next, bad, done);
                SaveCheckpoint(cpPath, new MediaScanCheckpoint
                {
                    Mount = mount, Device = device, DeviceSize = dev.Size, NextOffset = next, DoneBytes = done,
                    Bad = bad.Select(BadRangeDto.From).ToList(), Updated = DateTimeOffset.UtcNow,
                });
            },
        };

        var result = new MediaScanner(dev).Run(ranges, options, progress, ct);
        if (cpPath is not null && result.Outcome == MediaScanOutcome.Completed)
            SaveCheckpoint(cpPath, new MediaScanCheckpoint
            {
                Mount = mount, Device = device, DeviceSize = dev.Size, NextOffset = result.NextOffset, DoneBytes = result.TotalBytes,
                Bad = result.Bad.Select(BadRangeDto.From).ToList(), Updated = DateTimeOffset.UtcNow, Complete = true,
            });

        IReadOnlyList<BadRangeOwner> owners = [];
        List<FsEvent> events = [];
        if (result.Bad.Count > 0 && result.Outcome != MediaScanOutcome.Stopped)
        {
            // FIEMAP gives device offsets only where the filesystem maps files straight onto one device (XFS data
            // device, ext2/3/4); on btrfs it gives btrfs logical addresses, which would name the wrong files
            var extents = MapsFilesToDevice(m.FsType) ? FileExtents(mount, devKey, ct) : [];
            owners = MediaMapping.Owners(result.Bad, extents, fsmap);
            events = MediaMapping.FsEvents(mount, m.FsType, device, HealthDomain.DataDev, result.Bad, owners);
            foreach (var e in events) req.Events?.Publish(e);
        }
        return new MediaScanReport(result, mount, m.FsType, device, allocatedOnly, owners, events, resumed);
    }

    public static bool MapsFilesToDevice(string fsType) => fsType is "xfs" or "ext4" or "ext3" or "ext2";

    private static uint DevT(uint major, uint minor) => (major << 8) | (minor & 0xff) | ((minor & ~0xffu) << 12); // new_encode_dev

    /// <summary>FIEMAP of every regular file on this filesystem (not crossing into other mounts).</summary>
    public static List<FileExtent> FileExtents(string mount, uint devKey, CancellationToken ct = default)
    {
        var list = new List<FileExtent>();
        if (Statx.Get(mount, out var root) != 0) return list;
        var opts = new EnumerationOptions { RecurseSubdirectories = false, IgnoreInaccessible = true, AttributesToSkip = 0 };
        var stack = new Stack<string>();
        stack.Push(mount);
        while (stack.Count > 0 && !ct.IsCancellationRequested)
        {
            string dir = stack.Pop();
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir, "*", opts).ToList(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            foreach (var p in entries)
            {
                if (Statx.Get(p, out var st, noFollow: true) != 0 || st.DevKey != root.DevKey) continue;
                if (st.FileType == Statx.S_IFDIR) { stack.Push(p); continue; }
                if (st.FileType != Statx.S_IFREG) continue; // symlinks, devices, fifos, sockets: no extents of their own
                using var fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_NONBLOCK, out _);
                if (fd.IsInvalid) continue;
                Fiemap.Extents(fd, st.Ino, p, list);
            }
        }
        return list;
    }

    /// <summary>The checkpoint file name part of a mount point: systemd's path escaping (ASCII, one name per mount point;
    /// <c>x\xff</c> and its U+FFFD twin get different files), "root" for /.</summary>
    private static string Sanitize(string mount) => mount == "/" ? "root" : SystemdEscape.EscapePath(mount);

    private static void SaveCheckpoint(string path, MediaScanCheckpoint cp)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string tmp = path + ".tmp";
            File.WriteAllText(tmp, cp.ToJson());
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    public static string CheckpointPath(string stateDir, string mount) => Path.Combine(stateDir, "media-" + Sanitize(Path.TrimEndingDirectorySeparator(Path.GetFullPath(mount))) + ".json");
}
