using System.Text;

namespace FsHealer.Devices;

/// <summary>
/// Read access to a sysfs tree (the real /sys, or a fake tree in tests). Paths are relative to the sysfs root and use
/// '/'. Every member returns null/empty for anything absent or unreadable; none throws.
/// </summary>
public interface ISysfsView
{
    /// <summary>The contents of a small file, or null.</summary>
    string? Read(string path);
    /// <summary>The names in a directory (empty when absent).</summary>
    IReadOnlyList<string> List(string path);
    /// <summary>The path with every symlink resolved, relative to the root; null when absent or outside the root.</summary>
    string? Canonical(string path);
    /// <summary>"MAJ:MIN" of the filesystem that holds a host file (stat st_dev), or null.</summary>
    string? DeviceOfFile(string hostPath);
}

/// <summary>How a node sits under the one above it.</summary>
public enum BlockRelation
{
    /// <summary>The device the filesystem is on.</summary>
    Top,
    /// <summary>The whole disk a partition belongs to.</summary>
    WholeDisk,
    /// <summary>A member of a dm/md stack (<c>slaves/</c>).</summary>
    Member,
    /// <summary>The device holding a loop device's backing file.</summary>
    BackingStore,
}

/// <summary>One block device in the stack under a filesystem.</summary>
public sealed class BlockNode
{
    public required string Name { get; init; }
    public required BlockKind Kind { get; init; }
    /// <summary>"MAJ:MIN".</summary>
    public required string Dev { get; init; }
    /// <summary>Canonical sysfs directory, relative to the sysfs root.</summary>
    public required string SysPath { get; init; }
    public BlockRelation Relation { get; init; }
    public List<BlockNode> Below { get; } = [];
    /// <summary>Loop devices: the backing file (and whether it was deleted).</summary>
    public string? BackingFile { get; init; }
    public bool BackingDeleted { get; init; }
    /// <summary>Why the walk stopped here, when it did not end naturally ("cycle", "depth limit", ...).</summary>
    public string? Note { get; set; }
    /// <summary>A second mention of a device already in the tree (a cycle, or shared by two upper devices): its
    /// members are under its first mention.</summary>
    public bool IsReference { get; set; }

    public string KindName => BlockFacts.KindName(Kind);

    private string[]? _healthPaths;
    /// <summary>The sysfs path of every <see cref="BlockFacts.Health"/> file of this device (same order), then its
    /// <c>stat</c>: built once per resolved node, not on every poll.</summary>
    public string[] HealthPaths
    {
        get
        {
            if (_healthPaths is { } p) return p;
            p = new string[BlockFacts.Health.Length + 1];
            for (int i = 0; i < BlockFacts.Health.Length; i++) p[i] = $"{SysPath}/{BlockFacts.Health[i].File}";
            p[^1] = SysPath + "/stat";
            return _healthPaths = p;
        }
    }

    /// <summary>This node and every node below it, depth first, each device once.</summary>
    public IEnumerable<BlockNode> All()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<BlockNode>();
        stack.Push(this);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.IsReference || !seen.Add(n.SysPath)) continue;
            yield return n;
            for (int i = n.Below.Count - 1; i >= 0; i--) stack.Push(n.Below[i]);
        }
    }

    /// <summary>Every device under <paramref name="roots"/> (each root's <see cref="All"/>, in order), each once even
    /// when two roots share one (a disk under two btrfs members).</summary>
    public static List<BlockNode> AllOf(IEnumerable<BlockNode> roots)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<BlockNode>();
        foreach (var r in roots)
            foreach (var n in r.All())
                if (seen.Add(n.SysPath)) list.Add(n);
        return list;
    }

    /// <summary>The physical end of the stack: nodes with nothing below them.</summary>
    public IEnumerable<BlockNode> Leaves() => All().Where(n => n.Below.Count == 0);

    /// <summary>"md0 (md) <- [sdb1 (partition) <- sdb (scsi), sdc1 (partition) <- sdc (scsi)]".</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        Describe(sb);
        return sb.ToString();
    }

    private void Describe(StringBuilder sb)
    {
        sb.Append(Name).Append(" (").Append(KindName);
        if (BackingFile is not null) sb.Append(", file ").Append(BackingFile).Append(BackingDeleted ? " (deleted)" : "");
        if (Note is not null) sb.Append(", ").Append(Note);
        sb.Append(')');
        if (Below.Count == 0) return;
        sb.Append(" <- ");
        if (Below.Count > 1) sb.Append('[');
        for (int i = 0; i < Below.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            Below[i].Describe(sb);
        }
        if (Below.Count > 1) sb.Append(']');
    }
}

/// <summary>
/// Resolves the block devices under a filesystem from sysfs: /sys/dev/block/MAJ:MIN → partition → its whole disk
/// (the parent directory), dm/md stacks through <c>slaves/</c> (recursively), loop devices → their backing file and,
/// one level only, the device of the filesystem holding that file. Cycles, dangling links, missing files and
/// garbage end a branch with a note; nothing throws.
/// </summary>
public static class TopologyResolver
{
    public const int MaxDepth = 16;
    public const int MaxMembers = 64;
    /// <summary>Nodes built per resolution at most: a diamond-shaped stack (many members sharing lower devices) must
    /// not grow exponentially.</summary>
    public const int MaxNodes = 512;

    private sealed class Budget
    {
        public int Left = MaxNodes;
        /// <summary>Devices already built in this resolution: a device reached again (two dm members on one disk,
        /// a diamond) is shown once and referenced after that.</summary>
        public readonly HashSet<string> Built = new(StringComparer.Ordinal);
    }

    /// <summary>The stack under device MAJ:MIN (a mount's st_dev). Null with a note when sysfs has no such device
    /// (e.g. btrfs's anonymous 0:NN).</summary>
    public static BlockNode? ResolveDev(ISysfsView v, string dev, List<string> notes)
    {
        if (!BlockDecode.TryParseDevNumber(dev, out uint ma, out uint mi)) { notes.Add($"'{dev}' is not a MAJ:MIN device number"); return null; }
        return ResolvePath(v, $"dev/block/{ma}:{mi}", $"device {ma}:{mi}", notes);
    }

    /// <summary>The stack under a device named like /sys/class/block/NAME ("sdb", "dm-0", "loop3").</summary>
    public static BlockNode? ResolveName(ISysfsView v, string name, List<string> notes)
    {
        if (name.Length == 0 || name.Contains('/') || name is "." or "..") { notes.Add($"'{name}' is not a block device name"); return null; }
        return ResolvePath(v, $"class/block/{name}", name, notes);
    }

    /// <summary>Every device of a mounted btrfs (/sys/fs/btrfs/FSID/devices/NAME links).</summary>
    public static List<BlockNode> ResolveBtrfs(ISysfsView v, string fsid, List<string> notes)
    {
        var list = new List<BlockNode>();
        if (fsid.Length == 0 || fsid.Contains('/') || fsid.Contains("..")) { notes.Add($"'{fsid}' is not a btrfs fsid"); return list; }
        string dir = $"fs/btrfs/{fsid}/devices";
        var names = v.List(dir);
        if (names.Count == 0) notes.Add($"btrfs {fsid}: no devices listed in {dir}");
        foreach (var n in names.OrderBy(x => x, StringComparer.Ordinal).Take(MaxMembers))
            if (ResolvePath(v, $"{dir}/{n}", $"btrfs device {n}", notes) is { } node) list.Add(node);
        return list;
    }

    private static BlockNode? ResolvePath(ISysfsView v, string link, string what, List<string> notes)
    {
        var canon = v.Canonical(link);
        if (canon is null) { notes.Add($"{what}: not found in sysfs ({link})"); return null; }
        var node = Build(v, canon, BlockRelation.Top, 0, new HashSet<string>(StringComparer.Ordinal), followLoop: true, notes, new Budget());
        if (node is null) notes.Add($"{what}: {canon} is not a block device (no usable dev file)");
        return node;
    }

    private static BlockNode? Build(ISysfsView v, string path, BlockRelation rel, int depth, HashSet<string> chain, bool followLoop, List<string> notes, Budget budget)
    {
        if (budget.Left-- <= 0)
        {
            if (budget.Left == -1) notes.Add($"more than {MaxNodes} devices in the stack; the rest is not shown");
            return null;
        }
        string name = LastComponent(path);
        if (!BlockDecode.TryParseDevNumber(v.Read($"{path}/dev"), out uint ma, out uint mi)) return null;
        var uevent = BlockDecode.ParseUevent(v.Read($"{path}/uevent"));
        var kind = KindOf(v, path, name, uevent);
        var backing = kind == BlockKind.Loop ? BlockDecode.ParseBackingFile(v.Read($"{path}/loop/backing_file")) : null;
        var node = new BlockNode
        {
            Name = name, Kind = kind, Dev = $"{ma}:{mi}", SysPath = path, Relation = rel,
            BackingFile = backing?.Path, BackingDeleted = backing?.Deleted ?? false,
        };
        if (chain.Contains(path)) { node.Note = "cycle"; node.IsReference = true; return node; }
        if (!budget.Built.Add(path)) { node.Note = "shown above"; node.IsReference = true; return node; }
        if (depth >= MaxDepth) { node.Note = "depth limit"; return node; }
        chain.Add(path);
        try
        {
            if (kind == BlockKind.Partition)
            {
                string parent = ParentOf(path);
                var disk = parent.Length == 0 ? null : Build(v, parent, BlockRelation.WholeDisk, depth + 1, chain, followLoop, notes, budget);
                if (disk is not null) node.Below.Add(disk);
                else node.Note = "whole disk not found";
                return node;
            }
            foreach (var s in v.List($"{path}/slaves").OrderBy(x => x, StringComparer.Ordinal).Take(MaxMembers))
            {
                var target = v.Canonical($"{path}/slaves/{s}");
                var member = target is null ? null : Build(v, target, BlockRelation.Member, depth + 1, chain, followLoop, notes, budget);
                if (member is not null) node.Below.Add(member);
                else if (budget.Left < 0) break;
                else notes.Add($"{name}: member '{s}' is not a block device");
            }
            if (kind == BlockKind.Loop && backing is { Deleted: false } b && followLoop)
            {
                var dev = v.DeviceOfFile(b.Path);
                var host = dev is null || !BlockDecode.TryParseDevNumber(dev, out uint hma, out uint hmi) ? null : v.Canonical($"dev/block/{hma}:{hmi}");
                var hostNode = host is null ? null : Build(v, host, BlockRelation.BackingStore, depth + 1, chain, followLoop: false, notes, budget);
                if (hostNode is not null) node.Below.Add(hostNode);
                else node.Note = dev is null ? "backing file not reachable" : $"backing file on {dev} (no block device)";
            }
            else if (kind == BlockKind.Loop && backing is null && v.Read($"{path}/loop/backing_file") is null && v.List($"{path}/loop").Count == 0)
                node.Note = "not bound";
            return node;
        }
        finally { chain.Remove(path); }
    }

    public static BlockKind KindOf(ISysfsView v, string path, string name, IReadOnlyDictionary<string, string> uevent)
    {
        if (uevent.TryGetValue("DEVTYPE", out var t) && t == "partition") return BlockKind.Partition;
        foreach (var (marker, kind) in BlockFacts.KindMarkers)
            if (v.Read($"{path}/{marker}") is not null) return kind;
        foreach (var (prefix, kind) in BlockFacts.KindPrefixes)
            if (name.StartsWith(prefix, StringComparison.Ordinal)) return kind;
        return BlockKind.Disk;
    }

    private static string LastComponent(string path)
    {
        int i = path.LastIndexOf('/');
        return i < 0 ? path : path[(i + 1)..];
    }

    private static string ParentOf(string path)
    {
        int i = path.LastIndexOf('/');
        return i <= 0 ? "" : path[..i];
    }
}
