using System.Globalization;
using FsHealer.Text;

namespace FsHealer.Btrfs;

/// <summary>The two ioctls the resolver needs (LOGICAL_INO(_V2) and INO_PATHS), implemented by the Linux layer or a fake.</summary>
public interface IBtrfsInodeLookup
{
    /// <summary>Subvolume id of the fd the lookups go through (INO_PATHS resolves only within it).</summary>
    ulong FdRootId { get; }
    /// <summary>Returns 0 or an errno.</summary>
    int LogicalToInodes(ulong logical, out LogicalInoResult? result);
    /// <summary>Returns 0 or an errno.</summary>
    int InodePaths(ulong inode, out InoPathsResult? result);
}

/// <summary>A file (or metadata) hurt by an uncorrectable error at a logical address.</summary>
public sealed record DamagedExtent(ulong Logical, ulong? Inode, ulong? Root, ulong? FileOffset, IReadOnlyList<string> Paths, string? Note)
{
    public string Describe()
    {
        if (Inode is null) return $"logical {Logical}: {Note}";
        string where = $"root {Root} inode {Inode} offset {FileOffset}";
        return Paths.Count > 0
            ? $"logical {Logical}: {string.Join(", ", Paths)} ({where})"
            : $"logical {Logical}: {where}{(Note is null ? "" : ": " + Note)}";
    }
}

/// <summary>A device error line from the kernel log: logical address and device path.</summary>
public readonly record struct KmsgScrubError(ulong Logical, string Device, bool Fixed);

/// <summary>
/// Maps bad logical addresses to files: LOGICAL_INO → (inode, offset, root) → INO_PATHS. The scrub ioctl returns
/// only counts, so the addresses come from the kernel's scrub log lines (<see cref="ParseKmsgLine"/>).
/// </summary>
public static class DamageResolver
{
    public static IReadOnlyList<DamagedExtent> Resolve(IBtrfsInodeLookup lookup, IEnumerable<ulong> logicals, string mountPoint)
    {
        var result = new List<DamagedExtent>();
        foreach (ulong logical in logicals.Distinct())
        {
            int e = lookup.LogicalToInodes(logical, out var refs);
            if (e != 0 || refs is null)
            {
                string why = e == Errno.ENOENT
                    ? "no file data here (metadata or freed space)"
                    : $"BTRFS_IOC_LOGICAL_INO on {mountPoint}: {Errno.Name(e)}: {Errno.Message(e)}";
                result.Add(new DamagedExtent(logical, null, null, null, [], why));
                continue;
            }
            if (refs.Refs.Count == 0)
            {
                result.Add(new DamagedExtent(logical, null, null, null, [], "no file references (metadata or freed space)"));
                continue;
            }
            foreach (var r in refs.Refs)
            {
                if (r.Root != lookup.FdRootId)
                {
                    result.Add(new DamagedExtent(logical, r.Inode, r.Root, r.Offset, [],
                        $"in subvolume {r.Root}, not the mounted subvolume {lookup.FdRootId}; paths not resolved"));
                    continue;
                }
                int pe = lookup.InodePaths(r.Inode, out var paths);
                if (pe != 0 || paths is null)
                    result.Add(new DamagedExtent(logical, r.Inode, r.Root, r.Offset, [],
                        $"BTRFS_IOC_INO_PATHS: {Errno.Name(pe)}: {Errno.Message(pe)}"));
                else
                    result.Add(new DamagedExtent(logical, r.Inode, r.Root, r.Offset,
                        paths.Paths.Select(p => JoinPath(mountPoint, p)).ToList(),
                        paths.ElemMissed > 0 ? $"{paths.ElemMissed} more paths not shown" : null));
            }
            if (refs.ElemMissed > 0)
                result.Add(new DamagedExtent(logical, null, null, null, [], $"{refs.ElemMissed / 3} more references not shown"));
        }
        return result;
    }

    private static string JoinPath(string mount, string rel) =>
        rel.StartsWith('/') ? rel : mount.TrimEnd('/') + "/" + rel;

    /// <summary>
    /// Parse one /dev/kmsg record ("6,123,456,-;BTRFS warning (device loop4): scrub: checksum error at logical N on dev /dev/loop4, physical ...")
    /// or a dmesg line. Returns false for lines that are not btrfs scrub/read error reports.
    /// </summary>
    public static bool ParseKmsgLine(string line, out KmsgScrubError error)
    {
        error = default;
        if (string.IsNullOrEmpty(line) || !line.Contains("BTRFS", StringComparison.Ordinal)) return false;
        int at = line.IndexOf(" at logical ", StringComparison.Ordinal);
        if (at < 0) return false;
        bool isError = line.Contains("error", StringComparison.Ordinal);
        if (!isError) return false;
        int p = at + " at logical ".Length;
        int q = p;
        while (q < line.Length && char.IsAsciiDigit(line[q])) q++;
        if (q == p || !ulong.TryParse(line.AsSpan(p, q - p), NumberStyles.None, CultureInfo.InvariantCulture, out ulong logical)) return false;
        string dev = "";
        int d = line.IndexOf(" on dev ", q, StringComparison.Ordinal);
        if (d >= 0)
        {
            int s = d + " on dev ".Length;
            int t = s;
            while (t < line.Length && line[t] != ' ' && line[t] != ',') t++;
            dev = line[s..t];
        }
        bool fixedUp = line.Contains("fixed up error", StringComparison.Ordinal) || line.Contains("error corrected", StringComparison.Ordinal);
        error = new KmsgScrubError(logical, dev, fixedUp);
        return true;
    }

    /// <summary>Logical addresses of unfixed errors on the given devices, from kernel log lines.</summary>
    public static IReadOnlyList<ulong> UncorrectedLogicals(IEnumerable<string> lines, IReadOnlyCollection<string> devicePaths)
    {
        var bad = new List<ulong>();
        var fixedSet = new HashSet<ulong>();
        foreach (var l in lines)
        {
            if (!ParseKmsgLine(l, out var e)) continue;
            if (e.Device.Length > 0 && devicePaths.Count > 0 && !devicePaths.Contains(e.Device)) continue;
            if (e.Fixed) fixedSet.Add(e.Logical); else bad.Add(e.Logical);
        }
        return bad.Where(x => !fixedSet.Contains(x)).Distinct().ToList();
    }
}
