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

    private static readonly Dictionary<string, string[]> Labels = new MetricsSink().Families.ToDictionary(f => f.Name, f => f.LabelNames.ToArray());

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

    [Fact]
    public void Grafana_uses_rate_interval_and_takes_daemon_up_from_the_scrape()
    {
        var text = File.ReadAllText(Path.Combine(Root(), "packaging/grafana/fshealer-dashboard.json"));
        using var doc = JsonDocument.Parse(text);
        var exprs = doc.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        // rate()/increase() over $__rate_interval (at least 4 scrapes); $__interval can be shorter than two scrapes
        foreach (var e in exprs.Where(e => Regex.IsMatch(e, @"\b(rate|increase|irate|changes)\(")))
            Assert.Matches(@"\[(\$__rate_interval|\d+[hd])\]", e);
        Assert.DoesNotContain("$__interval]", text);
        // "is the daemon up" comes from Prometheus' own scrape result, which still answers when the daemon is dead
        var up = Assert.Single(exprs, e => e.Contains("up{job="));
        Assert.Contains("$job", up);
        var vars = doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Contains("job", vars);
        Assert.Contains("instance", vars);
    }

    [Fact]
    public void Journal_catalog_has_one_entry_per_message_id()
    {
        var text = File.ReadAllText(Path.Combine(Root(), "packaging/journal/fshealer.catalog"));
        var ids = Regex.Matches(text, @"^-- ([0-9a-f]{32})$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(FsHealer.Service.Journal.JournalFormat.MessageIds.Values.OrderBy(x => x), ids.OrderBy(x => x));
        // each entry's class header names the class of its id; substituted fields are ones the records carry
        foreach (var (cls, id) in FsHealer.Service.Journal.JournalFormat.MessageIds)
            Assert.Matches($@"-- {id}\nSubject: [^\n]+\n(?:[A-Za-z-]+: [^\n]*\n)*X-FsHealer-Class: {cls}\n", text);
        var fields = new HashSet<string> { "MOUNT", "FSTYPE", "DEVICE", "INODE", "FILE_PATH", "ERRNO", "ERRNO_NAME", "STRUCTURE", "COUNT", "CORRELATION_ID" };
        foreach (Match m in Regex.Matches(text, "@([A-Z_]+)@")) Assert.Contains(m.Groups[1].Value, fields);
    }
}
