using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Text;
using System.Text;

namespace FsHealer.Cli.Commands;

/// <summary>
/// <c>fshealer mounts [--json] [--all]</c>: the mount table as the mount tracker sees it (like xfs_io listmount).
/// By default only mounts of supported filesystem types (xfs, ext4, btrfs) and mounts of block devices are listed;
/// <c>--all</c> lists every mount (proc, sysfs, tmpfs, ...). Names are bytes: the table shows them with
/// <see cref="PathBytes.Show"/> (no control characters, <c>x\xff</c> distinct from <c>x\uFFFD</c>), the JSON keeps
/// them exact (<see cref="ExactStringJsonConverter"/>).
/// </summary>
public static class MountsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table" };
        var all = new Option<bool>("--all") { Description = "List every mount, including pseudo filesystems" };
        var cmd = new Command("mounts", "List mounts and which ones fshealer would monitor");
        cmd.Options.Add(json);
        cmd.Options.Add(all);
        cmd.SetAction(pr => Run(pr.GetValue(json), pr.GetValue(all), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(bool json, bool all, TextWriter stdout, TextWriter stderr)
    {
        var diags = new List<string>();
        var entries = MountTable.ReadAll(diags, out string method);
        foreach (var d in diags) stderr.WriteLine(PathBytes.Show($"fshealer: {d}"));
        var report = MountsReport.Build(entries, method, all);
        if (json) stdout.WriteLine(JsonSerializer.Serialize(report, MountsJsonContext.Default.MountsReportDto));
        else stdout.Write(MountsReport.FormatTable(report));
        return 0;
    }
}

public sealed class MountRowDto
{
    public ulong MntId { get; set; }
    public ulong ParentId { get; set; }
    public uint LegacyId { get; set; }
    public string Dev { get; set; } = "";
    public string FsType { get; set; } = "";
    public string Source { get; set; } = "";
    public string MountPoint { get; set; } = "";
    public string Root { get; set; } = "";
    public string Options { get; set; } = "";
    public bool ReadOnly { get; set; }
    /// <summary>"target" (monitored), "bind" (subtree of a supported fs, ignored), "unsupported".</summary>
    public string Role { get; set; } = "";
}

public sealed class MountTargetDto
{
    public string Dev { get; set; } = "";
    public string FsType { get; set; } = "";
    public string Source { get; set; } = "";
    public string Path { get; set; } = "";
    public List<string> MountPoints { get; set; } = [];
}

public sealed class MountsReportDto
{
    public string Method { get; set; } = "";
    public List<MountRowDto> Mounts { get; set; } = [];
    public List<MountTargetDto> Targets { get; set; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(ExactStringJsonConverter)])]
[JsonSerializable(typeof(MountsReportDto))]
public partial class MountsJsonContext : JsonSerializerContext;

public static class MountsReport
{
    public static MountsReportDto Build(IReadOnlyList<MountEntry> entries, string method, bool all)
    {
        var tracker = new MountTracker();
        tracker.Reconcile(entries);
        var r = new MountsReportDto { Method = method };
        foreach (var e in entries.OrderBy(e => e.Key))
        {
            var role = tracker.Classify(e);
            if (!all && role == MountRole.Unsupported && !e.Source.StartsWith("/dev/", StringComparison.Ordinal)) continue;
            r.Mounts.Add(new MountRowDto
            {
                MntId = e.Key, ParentId = e.ParentUniqueId != 0 ? e.ParentUniqueId : e.ParentLegacyId, LegacyId = e.LegacyId,
                Dev = e.Dev, FsType = e.FullFsType, Source = e.Source,
                MountPoint = e.MountPoint, Root = e.MntRoot, Options = e.MountOptions, ReadOnly = e.ReadOnly,
                Role = role switch { MountRole.Target => "target", MountRole.BindOfSubtree => "bind", _ => "unsupported" },
            });
        }
        foreach (var t in tracker.Targets.OrderBy(t => t.PreferredMountId))
            r.Targets.Add(new MountTargetDto
            {
                Dev = t.Dev, FsType = t.FsType, Source = t.Source, Path = t.PreferredPath,
                MountPoints = t.Mounts.Select(m => m.MountPoint).ToList(),
            });
        return r;
    }

    /// <summary>The table; every name in it shown with <see cref="PathBytes.Show"/>.</summary>
    public static string FormatTable(MountsReportDto r)
    {
        string[] head = ["MNT_ID", "PARENT", "DEV", "TYPE", "SOURCE", "MOUNTPOINT", "ROOT", "MONITOR"];
        static string S(string s) => PathBytes.Show(s);
        var rows = r.Mounts.Select(m => new[]
        {
            m.MntId.ToString(), m.ParentId.ToString(), m.Dev, S(m.FsType), S(m.Source), S(m.MountPoint), S(m.Root),
            m.Role switch { "target" => "yes", "bind" => "no (subtree)", _ => "unsupported" },
        }).ToList();
        var w = new int[head.Length];
        for (int i = 0; i < head.Length; i++)
            w[i] = Math.Max(head[i].Length, rows.Count == 0 ? 0 : rows.Max(x => x[i].Length));
        var sb = new StringBuilder();
        void Line(string[] cells)
        {
            for (int i = 0; i < cells.Length; i++)
                sb.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(w[i] + 2));
            sb.Append('\n');
        }
        Line(head);
        foreach (var row in rows) Line(row);
        sb.Append($"{r.Targets.Count} filesystem(s) to monitor (mount table from {r.Method})\n");
        foreach (var t in r.Targets)
            sb.Append($"  {S(t.FsType)} {t.Dev} {S(t.Source)} at {S(t.Path)}{(t.MountPoints.Count > 1 ? $" (also {string.Join(", ", t.MountPoints.Where(p => p != t.Path).Select(S))})" : "")}\n");
        return sb.ToString();
    }
}
