using System.Text.Json;
using System.Text.RegularExpressions;
using FsHealer.Service.Metrics;

namespace FsHealer.Core.Tests.Metrics;

/// <summary>The shipped alert rules and Grafana dashboard only use metrics (and labels) that fshealer exports.</summary>
public class PackagingTests
{
    private static string Root()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root (fshealer.slnx) not found");
    }

    private static readonly HashSet<string> Exported = ExportedNames();

    private static HashSet<string> ExportedNames()
    {
        var m = new MetricsSink();
        return m.Render().Split('\n').Where(l => l.StartsWith("# TYPE ")).Select(l => l.Split(' ')[2]).ToHashSet();
    }

    private static readonly Dictionary<string, string[]> Labels = new MetricsSink() is var s
        ? new[] { s.Events, s.Repairs, s.LostEvents, s.Scrubs, s.FullChecks, s.Healthy, s.SickStructures, s.Watched, s.LastScrub, s.LastEvent, s.Up, s.StartTime, s.LastGoodCheck, s.CheckOverdue }
            .ToDictionary(f => f.Name, f => f.LabelNames.ToArray())
        : [];

    private static void CheckExpr(string expr)
    {
        foreach (Match mm in Regex.Matches(expr, @"\b(fshealer_[a-z_]+)(\{([^}]*)\})?"))
        {
            var name = mm.Groups[1].Value;
            Assert.True(Exported.Contains(name), $"{name} in \"{expr}\" is not exported");
            foreach (Match lm in Regex.Matches(mm.Groups[3].Value, @"([a-z_]+)\s*(=~|!=|!~|=)"))
            {
                var label = lm.Groups[1].Value;
                Assert.True(label is "instance" or "job" || Labels[name].Contains(label), $"{name} has no label {label} (in \"{expr}\")");
            }
        }
    }

    [Fact]
    public void Alert_rules_use_exported_metrics()
    {
        var text = File.ReadAllText(Path.Combine(Root(), "packaging/prometheus/fshealer-alerts.yml"));
        var exprs = Regex.Matches(text, @"^\s+expr:\s*(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(exprs.Count >= 8, $"{exprs.Count} rules");
        foreach (var e in exprs) CheckExpr(e);
        foreach (var needed in new[] { "fshealer_filesystem_healthy", "fshealer_scrubs_total", "fshealer_lost_events_total", "fshealer_up", "fshealer_last_scrub_timestamp_seconds" })
            Assert.Contains(exprs, e => e.Contains(needed));
    }

    [Fact]
    public void Grafana_dashboard_is_valid_json_using_exported_metrics()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root(), "packaging/grafana/fshealer-dashboard.json")));
        var panels = doc.RootElement.GetProperty("panels").EnumerateArray().ToList();
        Assert.True(panels.Count >= 8);
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        int n = 0;
        foreach (var p in panels)
            foreach (var t in p.GetProperty("targets").EnumerateArray()) { CheckExpr(t.GetProperty("expr").GetString()!); n++; }
        Assert.True(n >= panels.Count);
    }
}
