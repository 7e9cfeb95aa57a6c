using FsHealer.Model;
using FsHealer.Xfs;
using System.Globalization;

namespace FsHealer.Media;

/// <summary>One extent of a file (FIEMAP) or one GETFSMAP record: device bytes [Physical, Physical+Length).</summary>
public readonly record struct FileExtent(ulong Inode, string? Path, long Logical, long Physical, long Length);

/// <summary>A GETFSMAP record (struct fsmap, 64 bytes): physical/length in bytes, owner inode or special owner.</summary>
public readonly record struct FsmapRecord(uint Device, uint Flags, long Physical, ulong Owner, long Offset, long Length)
{
    public const uint OfPrealloc = 0x1, OfAttrFork = 0x2, OfExtentMap = 0x4, OfShared = 0x8, OfSpecialOwner = 0x10, OfLast = 0x20;
    public bool IsSpecial => (Flags & OfSpecialOwner) != 0;
    public bool IsFree => IsSpecial && Owner == FsmapOwners.Free;
    public long End => Physical + Length;
}

/// <summary>GETFSMAP special owners (FMR_OWNER(type, code) = type &lt;&lt; 32 | code): a data table.</summary>
public static class FsmapOwners
{
    public const ulong Free = 1, Unknown = 2;
    private static ulong Owner(uint type, uint code) => ((ulong)type << 32) | code;

    public static readonly IReadOnlyDictionary<ulong, string> Names = new Dictionary<ulong, string>
    {
        [Owner(0, 1)] = "free space", [Owner(0, 2)] = "unknown",
        // XFS_FMR_OWN_* and EXT4_FMR_OWN_* ('X' codes are shared; ext4 adds 'f' codes)
        [Owner('X', 1)] = "static fs metadata", [Owner('X', 2)] = "journalling log", [Owner('X', 3)] = "per-AG metadata",
        [Owner('X', 4)] = "inode btree", [Owner('X', 5)] = "inodes", [Owner('X', 6)] = "refcount btree",
        [Owner('X', 7)] = "cow reservation", [Owner('X', 8)] = "bad blocks",
        [Owner('f', 1)] = "group descriptors", [Owner('f', 2)] = "reserved gdt blocks",
        [Owner('f', 3)] = "block bitmap", [Owner('f', 4)] = "inode bitmap",
    };

    public static string Name(ulong owner) => Names.TryGetValue(owner, out var n) ? n : $"special owner 0x{owner:x}";
}

/// <summary>Who owns part of a bad range: a file range, or metadata.</summary>
public sealed record BadRangeOwner(BadRange Range, ulong Inode, string? Path, long FileOffset, long Length, string? Metadata)
{
    public bool IsFile => Metadata is null;
    public override string ToString() => IsFile ? $"{Path ?? $"ino {Inode}"} pos {FileOffset} len {Length}" : $"{Metadata} at {Range.Offset}";
}

/// <summary>Pure mapping of bad device ranges to file ranges and metadata, and to the 7.0 monitor's events.</summary>
public static class MediaMapping
{
    /// <summary>The device minus the space GETFSMAP reports as free.</summary>
    public static List<ByteRange> InUse(IEnumerable<FsmapRecord> fsmap, long deviceSize)
    {
        var result = new List<ByteRange>();
        long pos = 0;
        foreach (var f in fsmap.Where(r => r.IsFree && r.Length > 0).OrderBy(r => r.Physical))
        {
            long s = Math.Clamp(f.Physical, 0, deviceSize), e = Math.Clamp(f.End, 0, deviceSize);
            if (s > pos) result.Add(new ByteRange(pos, s - pos));
            pos = Math.Max(pos, e);
        }
        if (pos < deviceSize) result.Add(new ByteRange(pos, deviceSize - pos));
        return result;
    }

    /// <summary>Intersect bad ranges with file extents (FIEMAP) and fsmap metadata records.</summary>
    public static List<BadRangeOwner> Owners(IEnumerable<BadRange> bad, IReadOnlyList<FileExtent> files, IReadOnlyList<FsmapRecord> fsmap)
    {
        var result = new List<BadRangeOwner>();
        foreach (var b in bad)
        {
            foreach (var f in files)
            {
                long s = Math.Max(b.Offset, f.Physical), e = Math.Min(b.End, f.Physical + f.Length);
                if (e <= s) continue;
                result.Add(new BadRangeOwner(b, f.Inode, f.Path, f.Logical + (s - f.Physical), e - s, null));
            }
            bool fileHit = result.Any(o => o.Range == b && o.IsFile);
            foreach (var m in fsmap)
            {
                // "unknown owner" is XFS-without-rmapbt's name for in-use space; it only matters when no file claims it
                if (!m.IsSpecial || m.IsFree || (m.Owner == FsmapOwners.Unknown && fileHit)) continue;
                if (Math.Max(b.Offset, m.Physical) >= Math.Min(b.End, m.End)) continue;
                result.Add(new BadRangeOwner(b, 0, null, 0, 0, FsmapOwners.Name(m.Owner)));
            }
        }
        return result;
    }

    /// <summary>The events the 7.0 monitor would queue: one MEDIA_ERROR per bad range and DATALOST per file range.</summary>
    public static List<(HealthMonitorEvent Event, string? Path)> Events(HealthDomain device, IEnumerable<BadRange> bad, IEnumerable<BadRangeOwner> owners)
    {
        var list = new List<(HealthMonitorEvent, string?)>();
        foreach (var b in bad)
            list.Add((HealthMonitorEvent.Media(device, (ulong)b.Offset / 512, ((ulong)b.Length + 511) / 512), null));
        foreach (var o in owners.Where(o => o.IsFile))
            list.Add((HealthMonitorEvent.FileRange(HealthEventType.DataLost, o.Inode, 0, (ulong)o.FileOffset, (ulong)o.Length, (uint)o.Range.Errno), o.Path));
        return list;
    }

    /// <summary>The same events in the common model (media error: Error; data lost: Critical), lines from <see cref="XfsEventFormatter"/>.</summary>
    public static List<FsEvent> FsEvents(string mount, string fsType, string? device, HealthDomain domain, IReadOnlyList<BadRange> bad, IReadOnlyList<BadRangeOwner> owners)
    {
        var list = new List<FsEvent>();
        foreach (var (e, path) in Events(domain, bad, owners))
        {
            string line = XfsEventFormatter.FormatEvent(e, mount, path) ?? XfsEventFormatter.Describe(e);
            bool media = e.Type == HealthEventType.MediaError;
            var range = media ? bad.FirstOrDefault(b => (ulong)b.Offset / 512 == e.MediaDaddr) : default;
            list.Add(new FsEvent
            {
                Class = media ? EventClass.MediaError : EventClass.DataLost,
                Severity = media ? Severity.Error : Severity.Critical,
                Mount = mount, FsType = fsType, Device = device, Message = line,
                Inode = media ? null : e.FileIno, Path = path,
                Errno = media ? (range.Errno == 0 ? null : range.Errno) : (int)e.FileError,
                Structure = media ? $"daddr 0x{e.MediaDaddr:x} bbcount 0x{e.MediaBbCount:x}" : null,
                Count = media ? (long)e.MediaBbCount * 512 : (long)e.FileLen,
            });
        }
        foreach (var o in owners.Where(o => !o.IsFile).DistinctBy(o => (o.Range, o.Metadata)))
            list.Add(new FsEvent
            {
                Class = EventClass.MediaError, Severity = Severity.Critical, Mount = mount, FsType = fsType, Device = device,
                Message = $"{mount} media error in {o.Metadata} at byte {o.Range.Offset} length {o.Range.Length}",
                Errno = o.Range.Errno, Structure = o.Metadata,
            });
        return list;
    }
}

/// <summary>Scheduled media scans: an interval per filesystem (default off). Pure.</summary>
public sealed class MediaScanSchedule
{
    private readonly Dictionary<string, TimeSpan> _intervals = new(StringComparer.Ordinal);

    public TimeSpan? Default { get; init; }

    public void Set(string mount, TimeSpan? interval)
    {
        if (interval is { } i && i > TimeSpan.Zero) _intervals[mount] = i;
        else _intervals.Remove(mount);
    }

    public TimeSpan? IntervalFor(string mount) => _intervals.TryGetValue(mount, out var i) ? i : Default is { } d && d > TimeSpan.Zero ? d : null;

    /// <summary>Due when an interval is set and there was no run yet, or the last run is at least one interval ago.
    /// A last run in the future (clock went back) counts as due only after an interval from now.</summary>
    public bool IsDue(string mount, DateTimeOffset? lastRun, DateTimeOffset now) => NextRun(mount, lastRun, now) is { } n && n <= now;

    public DateTimeOffset? NextRun(string mount, DateTimeOffset? lastRun, DateTimeOffset now)
    {
        if (IntervalFor(mount) is not { } i) return null;
        if (lastRun is not { } l) return now;
        if (l > now) return now + i;
        return l + i;
    }

    /// <summary>Parses "off", "30d", "12h", "90m", "1w" (an interval); null and an error for anything else.</summary>
    public static bool TryParseInterval(string s, out TimeSpan? interval, out string? error)
    {
        interval = null; error = null;
        var t = s.Trim().ToLowerInvariant();
        if (t is "off" or "0" or "") return true;
        // a bare number is days (the unit scans are scheduled in)
        if (FsHealer.Text.Units.TryParseDuration(t, out var d, out var err, TimeSpan.FromDays(1)) && d >= TimeSpan.FromMinutes(1))
        {
            interval = d;
            return true;
        }
        error = $"invalid media scan interval \"{s}\" (use off or a duration of a minute or more: 12h, 30d, 2w){(err is null ? "" : $": {err}")}";
        return false;
    }
}
