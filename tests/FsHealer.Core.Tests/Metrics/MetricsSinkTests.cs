using FsHealer.Service.Metrics;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Metrics;

public class MetricsSinkTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static FsEvent Ev(EventClass c, Severity s, string mount, string fs = "xfs", long? count = null, int sec = 0) =>
        new() { Class = c, Severity = s, Mount = mount, FsType = fs, Message = "m", Count = count, Time = T0.AddSeconds(sec) };

    [Fact]
    public void Golden_exposition_text()
    {
        var m = new MetricsSink();
        m.SetUp(true, T0);
        m.SetWatched(2);
        m.Publish(Ev(EventClass.Attached, Severity.Info, "/b", "ext4"));
        m.Publish(Ev(EventClass.Attached, Severity.Info, "/a"));
        m.Publish(Ev(EventClass.MetadataSick, Severity.Error, "/a", sec: 1));
        m.Publish(Ev(EventClass.MetadataSick, Severity.Error, "/a", sec: 2));
        m.Publish(Ev(EventClass.RepairSucceeded, Severity.Notice, "/a", sec: 3));
        m.Publish(Ev(EventClass.EventsLost, Severity.Warning, "/a", count: 7, sec: 4));
        m.Publish(Ev(EventClass.ScrubFinished, Severity.Info, "/b", "ext4", sec: 5));
        m.Publish(Ev(EventClass.FullCheckStarted, Severity.Notice, "/b", "ext4", sec: 6));
        const string expected = """
            # HELP fshealer_events_total Filesystem events seen, by filesystem, type and class.
            # TYPE fshealer_events_total counter
            fshealer_events_total{mount="/a",fstype="xfs",class="attached"} 1
            fshealer_events_total{mount="/a",fstype="xfs",class="eventslost"} 1
            fshealer_events_total{mount="/a",fstype="xfs",class="metadatasick"} 2
            fshealer_events_total{mount="/a",fstype="xfs",class="repairsucceeded"} 1
            fshealer_events_total{mount="/b",fstype="ext4",class="attached"} 1
            fshealer_events_total{mount="/b",fstype="ext4",class="fullcheckstarted"} 1
            fshealer_events_total{mount="/b",fstype="ext4",class="scrubfinished"} 1
            # HELP fshealer_events_by_severity_total Filesystem events seen, by filesystem, type and severity.
            # TYPE fshealer_events_by_severity_total counter
            fshealer_events_by_severity_total{mount="/a",fstype="xfs",severity="error"} 2
            fshealer_events_by_severity_total{mount="/a",fstype="xfs",severity="info"} 1
            fshealer_events_by_severity_total{mount="/a",fstype="xfs",severity="notice"} 1
            fshealer_events_by_severity_total{mount="/a",fstype="xfs",severity="warning"} 1
            fshealer_events_by_severity_total{mount="/b",fstype="ext4",severity="info"} 2
            fshealer_events_by_severity_total{mount="/b",fstype="ext4",severity="notice"} 1
            # HELP fshealer_repairs_total Repairs attempted, by filesystem and outcome.
            # TYPE fshealer_repairs_total counter
            fshealer_repairs_total{mount="/a",fstype="xfs",outcome="success"} 1
            # HELP fshealer_lost_events_total Events the kernel dropped before fshealer could read them.
            # TYPE fshealer_lost_events_total counter
            fshealer_lost_events_total{mount="/a",fstype="xfs"} 7
            # HELP fshealer_scrubs_total Scrubs finished, by result (clean or errors).
            # TYPE fshealer_scrubs_total counter
            fshealer_scrubs_total{mount="/b",fstype="ext4",result="clean"} 1
            # HELP fshealer_full_checks_total Full filesystem checks started or suppressed.
            # TYPE fshealer_full_checks_total counter
            fshealer_full_checks_total{mount="/b",fstype="ext4",state="started"} 1
            # HELP fshealer_filesystem_healthy 1 when the last health event of the filesystem was not an error.
            # TYPE fshealer_filesystem_healthy gauge
            fshealer_filesystem_healthy{mount="/a",fstype="xfs"} 0
            fshealer_filesystem_healthy{mount="/b",fstype="ext4"} 1
            # HELP fshealer_sick_structures Metadata structures currently reported sick or corrupt.
            # TYPE fshealer_sick_structures gauge
            fshealer_sick_structures{mount="/a",fstype="xfs"} 1
            fshealer_sick_structures{mount="/b",fstype="ext4"} 0
            # HELP fshealer_watched_filesystems Filesystems the daemon is watching.
            # TYPE fshealer_watched_filesystems gauge
            fshealer_watched_filesystems 2
            # HELP fshealer_last_scrub_timestamp_seconds Unix time of the last finished scrub, per filesystem.
            # TYPE fshealer_last_scrub_timestamp_seconds gauge
            fshealer_last_scrub_timestamp_seconds{mount="/b",fstype="ext4",result="clean"} 1800000005
            # HELP fshealer_last_event_timestamp_seconds Unix time of the last event, per filesystem.
            # TYPE fshealer_last_event_timestamp_seconds gauge
            fshealer_last_event_timestamp_seconds{mount="/a",fstype="xfs"} 1800000004
            fshealer_last_event_timestamp_seconds{mount="/b",fstype="ext4"} 1800000006
            # HELP fshealer_up 1 while the daemon is running.
            # TYPE fshealer_up gauge
            fshealer_up 1
            # HELP fshealer_start_time_seconds Unix time the daemon started.
            # TYPE fshealer_start_time_seconds gauge
            fshealer_start_time_seconds 1800000000
            # HELP fshealer_last_good_check_timestamp_seconds Unix time of the last successful check or repair, per filesystem (from the history at attach when max_check_age_seconds is set, else since the daemon started).
            # TYPE fshealer_last_good_check_timestamp_seconds gauge
            fshealer_last_good_check_timestamp_seconds{mount="/a",fstype="xfs"} 1800000003
            fshealer_last_good_check_timestamp_seconds{mount="/b",fstype="ext4"} 1800000005
            # HELP fshealer_check_overdue 1 when the last successful check is older than the filesystem's max_check_age_seconds (only filesystems with a limit).
            # TYPE fshealer_check_overdue gauge
            # HELP fshealer_build_info Always 1; the labels say which fshealer build this is.
            # TYPE fshealer_build_info gauge

            """;
        // the counters every attached filesystem has at 0 are checked by OperationsMetricsTests; the rest is golden
        var counters = m.Families.Where(f => f.Type == MetricType.Counter).Select(f => f.Name + "{").ToArray();
        var render = string.Concat(m.Render().Split('\n').Where(l => l.Length > 0).Where(l => !(l.EndsWith(" 0") && counters.Any(l.StartsWith))).Select(l => l + "\n"));
        Assert.Equal(expected.ReplaceLineEndings("\n"), render);
    }

    [Fact]
    public void Label_values_are_escaped()
    {
        var m = new MetricsSink();
        m.Publish(Ev(EventClass.IoError, Severity.Error, "/mnt/we\"ird\\na\nme"));
        // the name is shown first (PathBytes.Show: backslash doubled, newline as \n), then escaped for the exposition
        Assert.Contains("""fshealer_events_total{mount="/mnt/we\"ird\\\\na\\nme",fstype="xfs",class="ioerror"} 1""", m.Render());
        Assert.Equal(@"a\\\\b\""c\\n", MetricsSink.EscapeLabel("a\\b\"c\n"));
        Assert.Equal("NaN", MetricsSink.FormatValue(double.NaN));
        Assert.Equal("+Inf", MetricsSink.FormatValue(double.PositiveInfinity));
        Assert.Equal("0.5", MetricsSink.FormatValue(0.5));
    }

    [Fact]
    public void Every_sample_line_is_well_formed_under_random_input()
    {
        var rnd = new Random(7);
        var m = new MetricsSink();
        for (int i = 0; i < 2000; i++)
        {
            var chars = Enumerable.Range(0, rnd.Next(12)).Select(_ => (char)rnd.Next(1, 0x250)).ToArray();
            m.Publish(Ev((EventClass)rnd.Next(Enum.GetValues<EventClass>().Length), (Severity)rnd.Next(6), "/" + new string(chars), count: rnd.Next(-3, 5)));
        }
        var lineRx = new System.Text.RegularExpressions.Regex("""^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\["\\n])*",?)*\})? [-+0-9.eE]+(Inf|NaN)?$""");
        foreach (var line in m.Render().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            if (!line.StartsWith('#')) Assert.Matches(lineRx, line);
        Assert.Equal(m.Render(), m.Render());
    }

    [Fact]
    public void Detach_removes_the_health_gauges_and_counters_accumulate()
    {
        var m = new MetricsSink();
        m.Publish(Ev(EventClass.Attached, Severity.Info, "/x"));
        m.Publish(Ev(EventClass.RepairFailed, Severity.Error, "/x"));
        m.Publish(Ev(EventClass.RepairFailed, Severity.Error, "/x"));
        Assert.Equal(2, m.Value(m.Repairs, "/x", "xfs", "failed"));
        Assert.Equal(0, m.Value(m.Healthy, "/x", "xfs"));
        Assert.Contains("fshealer_repairs_total{mount=\"/x\",fstype=\"xfs\",outcome=\"failed\"} 2", m.Render());
        m.Publish(Ev(EventClass.Detached, Severity.Info, "/x"));
        // the filesystem is gone, and so are all its series (counters too: a re-attach starts them at 0)
        Assert.DoesNotContain("fshealer_filesystem_healthy{", m.Render());
        Assert.DoesNotContain("mount=\"/x\"", m.Render());
    }
}

public class MetricsSettingsTests
{
    private static MetricsSettings? Parse(string json, List<string> errors)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return MetricsSettings.Parse(doc.RootElement.Clone(), errors);
    }

    [Fact]
    public void Defaults_are_off_and_sections_parse_or_explain()
    {
        Assert.False(MetricsSettings.Parse(null, [])!.Enabled);
        var ok = Parse("""{ "listen": "127.0.0.1:9723", "textfile": "/var/lib/node/fshealer.prom", "textfile_interval_seconds": 30 }""", []);
        Assert.NotNull(ok);
        Assert.True(ok.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(30), ok.TextfileInterval);
        var errors = new List<string>();
        Assert.Null(Parse("""{ "socket": "rel.sock", "textfile": "/x/fshealer.txt", "textfile_interval_seconds": 0 }""", errors));
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("ending in .prom"));
    }

    [Fact]
    public void Watched_source_is_read_at_render()
    {
        int n = 3;
        var m = new MetricsSink { WatchedSource = () => n };
        Assert.Contains("fshealer_watched_filesystems 3\n", m.Render());
        n = 4;
        Assert.Contains("fshealer_watched_filesystems 4\n", m.Render());
    }
}
