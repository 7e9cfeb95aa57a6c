using System.Globalization;
using System.Text;
using FsHealer.Model;
using FsHealer.Text;
using FsHealer.Config;

namespace FsHealer.Service.Metrics;

public enum MetricType { Counter, Gauge }

/// <summary>One metric family: name, help, type, and its series keyed by label values (ordinal-sorted when rendered).</summary>
public sealed class MetricFamily(string name, string help, MetricType type, params string[] labelNames)
{
    public string Name { get; } = name;
    public string Help { get; } = help;
    public MetricType Type { get; } = type;
    public IReadOnlyList<string> LabelNames { get; } = labelNames;
    internal readonly SortedDictionary<string, (string[] Labels, double Value)> Series = new(StringComparer.Ordinal);

    private static string SeriesKey(string[] labels) => string.Join('\u0001', labels);

    internal void Add(double delta, string[] labels)
    {
        var k = SeriesKey(labels);
        Series[k] = (labels, (Series.TryGetValue(k, out var v) ? v.Value : 0) + delta);
    }

    internal void Set(double value, string[] labels) => Series[SeriesKey(labels)] = (labels, value);
    internal void Remove(string[] labels) => Series.Remove(SeriesKey(labels));

    /// <summary>Every series of one filesystem (the first two labels are mount and fstype).</summary>
    internal void RemoveFilesystem(string mount, string fsType)
    {
        if (LabelNames.Count < 2 || LabelNames[0] != "mount") return;
        List<string>? gone = null;
        foreach (var (k, (labels, _)) in Series)
            if (labels[0] == mount && labels[1] == fsType) (gone ??= []).Add(k);
        if (gone is not null) foreach (var k in gone) Series.Remove(k);
    }

    /// <summary>Create the series at 0 unless it exists (a counter's first increase is then an increase).</summary>
    internal void Initialise(string[] labels) => Series.TryAdd(SeriesKey(labels), (labels, 0));
    /// <summary>The series' value (0 when it does not exist).</summary>
    internal double ValueOf(string[] labels) => Series.TryGetValue(SeriesKey(labels), out var v) ? v.Value : 0;
    internal bool Contains(string[] labels) => Series.ContainsKey(SeriesKey(labels));
}

/// <summary>
/// Prometheus metrics for fshealer: counters fed by events (<see cref="IEventSink"/>), gauges set by the daemon.
/// Thread-safe. <see cref="Render"/> produces the text exposition format 0.0.4 with HELP/TYPE lines, escaped
/// label values and a stable order (families as declared, series sorted by label values).
/// </summary>
public sealed class MetricsSink : IEventSink
{
    private readonly Lock _lock = new();
    private readonly List<MetricFamily> _families = [];

    public MetricFamily Events { get; }
    public MetricFamily EventsBySeverity { get; }
    public MetricFamily BuildInfo { get; }
    public MetricFamily Repairs { get; }
    public MetricFamily LostEvents { get; }
    public MetricFamily Scrubs { get; }
    public MetricFamily FullChecks { get; }
    public MetricFamily Healthy { get; }
    public MetricFamily SickStructures { get; }
    public MetricFamily Watched { get; }
    public MetricFamily LastScrub { get; }
    public MetricFamily LastEvent { get; }
    public MetricFamily Up { get; }
    public MetricFamily StartTime { get; }
    public MetricFamily LastGoodCheck { get; }
    public MetricFamily CheckOverdue { get; }

    /// <summary>Repair outcome label per event class (a data table).</summary>
    public static readonly IReadOnlyDictionary<EventClass, string> RepairOutcomes = new Dictionary<EventClass, string>
    {
        [EventClass.RepairSucceeded] = "success", [EventClass.RepairUnnecessary] = "unnecessary",
        [EventClass.RepairProbablyOk] = "probably_ok", [EventClass.RepairFailed] = "failed", [EventClass.RepairRefused] = "refused",
        [EventClass.OfflineRepair] = "offline",
    };

    public MetricsSink()
    {
        Events = Family("fshealer_events_total", "Filesystem events seen, by filesystem, type and class.", MetricType.Counter, "mount", "fstype", "class");
        EventsBySeverity = Family("fshealer_events_by_severity_total", "Filesystem events seen, by filesystem, type and severity.", MetricType.Counter, "mount", "fstype", "severity");
        Repairs = Family("fshealer_repairs_total", "Repairs attempted, by filesystem and outcome.", MetricType.Counter, "mount", "fstype", "outcome");
        LostEvents = Family("fshealer_lost_events_total", "Events the kernel dropped before fshealer could read them.", MetricType.Counter, "mount", "fstype");
        Scrubs = Family("fshealer_scrubs_total", "Scrubs finished, by result (clean or errors).", MetricType.Counter, "mount", "fstype", "result");
        FullChecks = Family("fshealer_full_checks_total", "Full filesystem checks started or suppressed.", MetricType.Counter, "mount", "fstype", "state");
        Healthy = Family("fshealer_filesystem_healthy", "1 when the last health event of the filesystem was not an error.", MetricType.Gauge, "mount", "fstype");
        SickStructures = Family("fshealer_sick_structures", "Metadata structures currently reported sick or corrupt.", MetricType.Gauge, "mount", "fstype");
        Watched = Family("fshealer_watched_filesystems", "Filesystems the daemon is watching.", MetricType.Gauge);
        LastScrub = Family("fshealer_last_scrub_timestamp_seconds", "Unix time of the last finished scrub, per filesystem.", MetricType.Gauge, "mount", "fstype", "result");
        LastEvent = Family("fshealer_last_event_timestamp_seconds", "Unix time of the last event, per filesystem.", MetricType.Gauge, "mount", "fstype");
        Up = Family("fshealer_up", "1 while the daemon is running.", MetricType.Gauge);
        StartTime = Family("fshealer_start_time_seconds", "Unix time the daemon started.", MetricType.Gauge);
        LastGoodCheck = Family("fshealer_last_good_check_timestamp_seconds", "Unix time of the last successful check or repair, per filesystem (from the history at attach when max_check_age_seconds is set, else since the daemon started).", MetricType.Gauge, "mount", "fstype");
        CheckOverdue = Family("fshealer_check_overdue", "1 when the last successful check is older than the filesystem's max_check_age_seconds (only filesystems with a limit).", MetricType.Gauge, "mount", "fstype");
        BuildInfo = Family("fshealer_build_info", "Always 1; the labels say which fshealer build this is.", MetricType.Gauge, "version", "runtime", "aot");
    }

    private MetricFamily Family(string name, string help, MetricType t, params string[] labels)
    {
        var f = new MetricFamily(name, help, t, labels);
        _families.Add(f);
        return f;
    }

    public void Publish(FsEvent e)
    {
        lock (_lock)
        {
            string mount = e.Mount, fs = e.FsType;
            // every counter series a filesystem can have exists (at 0) from its attach on: Prometheus' increase()
            // does not count a series' first appearance, so an alert on the first event needs the 0 before it
            if (e.Class is EventClass.Attached or EventClass.Moved or EventClass.Deferred) InitialiseFilesystem(mount, fs);
            Events.Add(1, [mount, fs, ClassName(e.Class)]);
            EventsBySeverity.Add(1, [mount, fs, SeverityNames[(int)e.Severity]]);
            LastEvent.Set(e.Time.ToUnixTimeMilliseconds() / 1000.0, [mount, fs]);
            if (RepairOutcomes.TryGetValue(e.Class, out var outcome)) Repairs.Add(1, [mount, fs, outcome]);
            if (StatusComputer.IsGoodCheck(e))
            {
                if (e.Time.ToUnixTimeMilliseconds() / 1000.0 > Get(LastGoodCheck, mount, fs)) LastGoodCheck.Set(e.Time.ToUnixTimeMilliseconds() / 1000.0, [mount, fs]);
                if (Has(CheckOverdue, mount, fs)) CheckOverdue.Set(0, [mount, fs]);
            }
            switch (e.Class)
            {
                case EventClass.EventsLost:
                    LostEvents.Add(e.Count is > 0 ? e.Count.Value : 1, [mount, fs]);
                    break;
                case EventClass.ScrubFinished:
                    var result = e.Severity >= Severity.Warning ? "errors" : "clean";
                    Scrubs.Add(1, [mount, fs, result]);
                    LastScrub.Set(e.Time.ToUnixTimeMilliseconds() / 1000.0, [mount, fs, result]);
                    if (result == "errors") Healthy.Set(0, [mount, fs]);
                    break;
                case EventClass.FullCheckStarted: FullChecks.Add(1, [mount, fs, "started"]); break;
                case EventClass.FullCheckSuppressed: FullChecks.Add(1, [mount, fs, "suppressed"]); break;
                case EventClass.Attached:
                    Healthy.Set(1, [mount, fs]);
                    SickStructures.Set(0, [mount, fs]);
                    break;
                case EventClass.Detached:
                    // the filesystem is gone: so are its series (a re-attach starts them at 0 again)
                    foreach (var f in _families) f.RemoveFilesystem(mount, fs);
                    break;
                case EventClass.CheckOverdue:
                    CheckOverdue.Set(1, [mount, fs]);
                    break;
                case EventClass.MetadataSick or EventClass.MetadataCorrupt:
                    SickStructures.Add(1, [mount, fs]);
                    Healthy.Set(0, [mount, fs]);
                    break;
                case EventClass.MetadataHealthy or EventClass.RepairSucceeded:
                    SickStructures.Set(Math.Max(0, Get(SickStructures, mount, fs) - 1), [mount, fs]);
                    if (Get(SickStructures, mount, fs) == 0) Healthy.Set(1, [mount, fs]);
                    break;
                case EventClass.IoError or EventClass.MediaError or EventClass.DataLost or EventClass.Shutdown or EventClass.RepairFailed or EventClass.CounterRise:
                    Healthy.Set(0, [mount, fs]);
                    break;
            }
        }
    }

    private static double Get(MetricFamily f, params string[] labels) => f.ValueOf(labels);

    private static readonly string[] ClassNames = Enum.GetValues<EventClass>().Select(ClassName).ToArray();
    private static readonly string[] SeverityNames = Enum.GetValues<Severity>().Select(s => s.ToString().ToLowerInvariant()).ToArray();
    /// <summary>The label values of the counters that are not per class/severity (data: what the alert rules count).</summary>
    public static readonly string[] ScrubResults = ["clean", "errors"], FullCheckStates = ["started", "suppressed"];

    /// <summary>Every counter series of one filesystem at 0 (those that exist keep their value).</summary>
    private void InitialiseFilesystem(string mount, string fs)
    {
        foreach (var c in ClassNames) Events.Initialise([mount, fs, c]);
        foreach (var s in SeverityNames) EventsBySeverity.Initialise([mount, fs, s]);
        foreach (var o in RepairOutcomes.Values) Repairs.Initialise([mount, fs, o]);
        LostEvents.Initialise([mount, fs]);
        foreach (var r in ScrubResults) Scrubs.Initialise([mount, fs, r]);
        foreach (var st in FullCheckStates) FullChecks.Initialise([mount, fs, st]);
    }

    /// <summary>Every family, in exposition order.</summary>
    public IReadOnlyList<MetricFamily> Families => _families;

    /// <summary>fshealer_build_info{version, runtime, aot} 1.</summary>
    public void SetBuildInfo(string version, string runtime, bool aot)
    {
        lock (_lock) BuildInfo.Set(1, [version, runtime, aot ? "true" : "false"]);
    }

    /// <summary>When set, the process_* families are rendered from it at every scrape (null sample: left out).</summary>
    public Func<ProcessSample?>? ProcessSource { get; set; }

    private static bool Has(MetricFamily f, params string[] labels) => f.Contains(labels);

    /// <summary>The daemon's freshness state of one filesystem with a limit (set at every freshness tick): the last
    /// good check it knows (from the history too) and whether it is overdue.</summary>
    public void SetFreshness(string mount, string fsType, DateTimeOffset? lastGoodCheck, bool overdue)
    {
        lock (_lock)
        {
            if (lastGoodCheck is { } g) LastGoodCheck.Set(g.ToUnixTimeMilliseconds() / 1000.0, [mount, fsType]);
            CheckOverdue.Set(overdue ? 1 : 0, [mount, fsType]);
        }
    }

    public void SetWatched(int n) { lock (_lock) Watched.Set(n, []); }
    public void SetUp(bool up, DateTimeOffset started)
    {
        lock (_lock) { Up.Set(up ? 1 : 0, []); StartTime.Set(started.ToUnixTimeMilliseconds() / 1000.0, []); }
    }
    public void SetLastScrub(string mount, string fsType, DateTimeOffset when, bool clean)
    {
        lock (_lock) LastScrub.Set(when.ToUnixTimeMilliseconds() / 1000.0, [mount, fsType, clean ? "clean" : "errors"]);
    }

    public double Value(MetricFamily f, params string[] labels) { lock (_lock) return Get(f, labels); }

    /// <summary>When set, <see cref="Watched"/> is read from it at every render (e.g. <c>() => daemon.Watched</c>).</summary>
    public Func<int>? WatchedSource { get; set; }

    public string Render()
    {
        var sb = new StringBuilder();
        int? watched = null;
        try { watched = WatchedSource?.Invoke(); } catch (Exception) { }
        ProcessSample? proc = null;
        try { proc = ProcessSource?.Invoke(); } catch (Exception) { }
        lock (_lock)
        {
            if (watched is { } w) Watched.Set(w, []);
            foreach (var f in _families)
            {
                sb.Append("# HELP ").Append(f.Name).Append(' ').Append(EscapeHelp(f.Help)).Append('\n');
                sb.Append("# TYPE ").Append(f.Name).Append(' ').Append(f.Type == MetricType.Counter ? "counter" : "gauge").Append('\n');
                foreach (var (_, (labels, value)) in f.Series)
                {
                    sb.Append(f.Name);
                    if (f.LabelNames.Count > 0)
                    {
                        sb.Append('{');
                        for (int i = 0; i < f.LabelNames.Count; i++)
                        {
                            if (i > 0) sb.Append(',');
                            sb.Append(f.LabelNames[i]).Append("=\"").Append(EscapeLabel(labels[i])).Append('"');
                        }
                        sb.Append('}');
                    }
                    sb.Append(' ').Append(FormatValue(value)).Append('\n');
                }
            }
        }
        if (proc is { } p) RenderProcess(sb, p);
        return sb.ToString();
    }

    /// <summary>The standard process_* families (the names Prometheus' client libraries use).</summary>
    private static void RenderProcess(StringBuilder sb, ProcessSample p)
    {
        void One(string name, string help, string type, double v) =>
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
              .Append(name).Append(' ').Append(FormatValue(v)).Append('\n');
        One("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", p.CpuSeconds);
        One("process_open_fds", "Number of open file descriptors.", "gauge", p.OpenFds);
        if (p.MaxFds >= 0) One("process_max_fds", "Maximum number of open file descriptors.", "gauge", p.MaxFds);
        One("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", p.VirtualBytes);
        One("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", p.ResidentBytes);
        if (p.StartTimeSeconds > 0) One("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", p.StartTimeSeconds);
    }

    public static string ClassName(EventClass c) => c.ToString().ToLowerInvariant();

    /// <summary>Label values: a name is first shown with <see cref="PathBytes.Show"/> (the exposition is UTF-8 text:
    /// <c>x\xff</c> and <c>x\uFFFD</c> must not become one series, and no label may hold a control character), then
    /// backslash, double quote and line feed are escaped (exposition format 0.0.4).</summary>
    public static string EscapeLabel(string s)
    {
        s = PathBytes.Show(s);
        if (s.AsSpan().IndexOfAny("\\\"\n") < 0) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
            sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", _ => c.ToString() });
        return sb.ToString();
    }

    /// <summary>HELP text: backslash and line feed are escaped.</summary>
    public static string EscapeHelp(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n");

    public static string FormatValue(double v) => v switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(v) => "NaN",
        _ => v.ToString("R", CultureInfo.InvariantCulture),
    };
}
