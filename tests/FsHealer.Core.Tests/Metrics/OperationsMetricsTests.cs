using FsHealer.Model;
using FsHealer.Service;
using FsHealer.Service.Metrics;
using FsHealer.Text;

namespace FsHealer.Core.Tests.Metrics;

/// <summary>Issue 16: counters exist at 0 from attach (Prometheus' increase() ignores a series' first appearance),
/// go at detach; build_info and the standard process_* families; one listen-address rule; safe log text.</summary>
public class OperationsMetricsTests
{
    private static FsEvent Ev(EventClass c, Severity s, string mount, string fs = "xfs", long? count = null) =>
        new() { Class = c, Severity = s, Mount = mount, FsType = fs, Message = "m", Count = count };

    private static List<string> Samples(MetricsSink m, string mount) =>
        m.Render().Split('\n').Where(l => !l.StartsWith('#') && l.Contains($"mount=\"{mount}\"")).ToList();

    [Fact]
    public void Attach_creates_every_counter_series_at_zero_and_detach_drops_every_series()
    {
        var m = new MetricsSink();
        m.Publish(Ev(EventClass.Attached, Severity.Info, "/srv"));
        var lines = Samples(m, "/srv");
        // every class, every severity, every repair outcome, scrub result and full-check state: the series the alert
        // rules count (FilesystemDataLoss, FilesystemRepairFailed, ScrubUncorrectableErrors, FsHealerLostEvents)
        foreach (var c in Enum.GetValues<EventClass>())
            Assert.Contains($"fshealer_events_total{{mount=\"/srv\",fstype=\"xfs\",class=\"{MetricsSink.ClassName(c)}\"}} {(c == EventClass.Attached ? 1 : 0)}", lines);
        foreach (var s in Enum.GetValues<Severity>())
            Assert.Contains($"fshealer_events_by_severity_total{{mount=\"/srv\",fstype=\"xfs\",severity=\"{s.ToString().ToLowerInvariant()}\"}} {(s == Severity.Info ? 1 : 0)}", lines);
        foreach (var o in MetricsSink.RepairOutcomes.Values)
            Assert.Contains($"fshealer_repairs_total{{mount=\"/srv\",fstype=\"xfs\",outcome=\"{o}\"}} 0", lines);
        Assert.Contains("fshealer_lost_events_total{mount=\"/srv\",fstype=\"xfs\"} 0", lines);
        Assert.Contains("fshealer_scrubs_total{mount=\"/srv\",fstype=\"xfs\",result=\"errors\"} 0", lines);
        Assert.Contains("fshealer_scrubs_total{mount=\"/srv\",fstype=\"xfs\",result=\"clean\"} 0", lines);
        Assert.Contains("fshealer_full_checks_total{mount=\"/srv\",fstype=\"xfs\",state=\"started\"} 0", lines);
        int n = Enum.GetValues<EventClass>().Length + Enum.GetValues<Severity>().Length + MetricsSink.RepairOutcomes.Count + 1 + 2 + 2;
        // counters plus the two health gauges and the last-event time
        Assert.Equal(n + 3, lines.Count);

        m.Publish(Ev(EventClass.DataLost, Severity.Critical, "/srv"));
        m.Publish(Ev(EventClass.EventsLost, Severity.Warning, "/srv", count: 5));
        Assert.Equal(1, m.Value(m.Events, "/srv", "xfs", "datalost"));
        Assert.Equal(5, m.Value(m.LostEvents, "/srv", "xfs"));
        // a second attach (moved, re-announced) keeps what was counted
        m.Publish(Ev(EventClass.Attached, Severity.Info, "/srv"));
        Assert.Equal(1, m.Value(m.Events, "/srv", "xfs", "datalost"));

        m.Publish(Ev(EventClass.Attached, Severity.Info, "/other", "ext4"));
        m.Publish(Ev(EventClass.Detached, Severity.Info, "/srv"));
        Assert.Empty(Samples(m, "/srv"));
        Assert.NotEmpty(Samples(m, "/other"));
    }

    [Fact]
    public void Build_info_and_process_families_use_the_standard_names()
    {
        var m = new MetricsSink { ProcessSource = () => new ProcessSample(1.5, 9 << 20, 300 << 20, 17, 1024, 1_800_000_000.25) };
        m.SetBuildInfo("0.1.0", ".NET 9.0.1", aot: true);
        var text = m.Render();
        Assert.Contains("# TYPE fshealer_build_info gauge\nfshealer_build_info{version=\"0.1.0\",runtime=\".NET 9.0.1\",aot=\"true\"} 1\n", text);
        Assert.Contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n", text);
        Assert.Contains("\nprocess_resident_memory_bytes 9437184\n", text);
        Assert.Contains("\nprocess_virtual_memory_bytes 314572800\n", text);
        Assert.Contains("\nprocess_open_fds 17\n", text);
        Assert.Contains("\nprocess_max_fds 1024\n", text);
        Assert.Contains("\nprocess_start_time_seconds 1800000000.25\n", text);
        // a failing sampler leaves the families out, it does not break the scrape
        var broken = new MetricsSink { ProcessSource = () => throw new IOException("gone") };
        Assert.DoesNotContain("process_", broken.Render());
        Assert.DoesNotContain("process_", new MetricsSink { ProcessSource = () => null }.Render());
    }

    [Fact]
    public void Proc_files_parse_including_a_command_name_with_spaces_and_parentheses()
    {
        var stat = "4242 (fs (healer) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 123456 314572800 2304 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        Assert.True(ProcessSample.TryParseStat(stat, out var cpu, out var start, out var vsize));
        Assert.Equal(3.25, cpu);
        Assert.Equal(123456, start);
        Assert.Equal(314572800, vsize);
        Assert.False(ProcessSample.TryParseStat("4242 (trunc) S 1 2", out _, out _, out _));
        Assert.False(ProcessSample.TryParseStat("no paren", out _, out _, out _));
        Assert.True(ProcessSample.TryParseStatm("76800 2304 1200 100 0 5000 0\n", 4096, out var rss));
        Assert.Equal(2304L * 4096, rss);
        Assert.Equal(1024, ProcessSample.ParseMaxOpenFiles("Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n"));
        Assert.Equal(-1, ProcessSample.ParseMaxOpenFiles("Max open files            unlimited            unlimited            files\n"));
        Assert.Equal(1764950000L, ProcessSample.ParseBootTime("cpu  1 2 3\nbtime 1764950000\nprocesses 5\n"));
        Assert.Null(ProcessSample.ParseBootTime("cpu 1\n"));
    }

    [Theory]
    [InlineData("127.0.0.1:9723", true)]
    [InlineData("127.1.2.3:80", true)]
    [InlineData("localhost:9723", true)]
    [InlineData("[::1]:9723", true)]
    [InlineData("[0:0:0:0:0:0:0:1]:9723", true)]
    [InlineData("[::2]:9723", false)]
    [InlineData("127.0.0.256:9723", false)]
    [InlineData("127.0.0:9723", false)]
    [InlineData("0.0.0.0:9723", false)]
    [InlineData("[::]:9723", false)]
    [InlineData("192.168.1.10:9723", false)]
    [InlineData("example.org:9723", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.0.0.1:0", false)]
    [InlineData("127.0.0.1:70000", false)]
    [InlineData("127.0.0.1:+80", false)]
    public void Listen_address_is_one_rule_for_config_check_and_the_daemon(string listen, bool ok)
    {
        Assert.Equal(ok, MetricsSettings.TryParseListen(listen, out _, out _, out var error));
        var errors = new List<string>();
        using var doc = System.Text.Json.JsonDocument.Parse($$"""{ "listen": "{{listen}}" }""");
        var parsed = MetricsSettings.Parse(doc.RootElement.Clone(), errors);
        Assert.Equal(ok, parsed is not null);
        if (!ok)
        {
            Assert.Equal($"metrics.listen: {error}", Assert.Single(errors));
            Assert.Contains(listen, error);
        }
    }

    [Fact]
    public void Log_text_is_one_escaped_bounded_line()
    {
        Assert.Equal("GET /\\x01evil\\nfshealer: forged\\r\\x1b[31m", LogText.OneLine("GET /\u0001evil\nfshealer: forged\r\u001b[31m"));
        Assert.Equal("a\\\\n\\u2028b", LogText.OneLine("a\\n\u2028b"));
        var long_ = LogText.OneLine(new string('x', 10_000));
        Assert.Equal(203, long_.Length);
        Assert.EndsWith("...", long_);
        Assert.Equal("", LogText.OneLine(null));
        Assert.DoesNotContain('\n', LogText.OneLine(string.Concat(Enumerable.Range(0, 0x3000).Select(i => (char)i)), 100_000));
    }

    [Fact]
    public void Service_status_names_the_count_and_the_last_problem_on_one_line()
    {
        var s = new ServiceStatus();
        Assert.Equal("watching 2 filesystem(s) (fanotify mount events)", s.Text(2, "fanotify mount events"));
        int v = s.Version;
        s.Publish(Ev(EventClass.Attached, Severity.Info, "/a"));
        s.Publish(new FsEvent { Class = EventClass.Diagnostic, Severity = Severity.Error, Mount = "", FsType = "", Message = "x" });
        Assert.Equal(v, s.Version);
        s.Publish(new FsEvent
        {
            Class = EventClass.RepairFailed, Severity = Severity.Error, Mount = "/srv", FsType = "xfs", Message = "inode 7 repair failed\nsecond line",
            Time = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000),
        });
        Assert.NotEqual(v, s.Version);
        Assert.Equal("watching 3 filesystem(s) (x); last problem 2027-01-15T08:00:00Z: /srv: inode 7 repair failed\\nsecond line", s.Text(3, "x"));
    }
}
