using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FsHealer.Model;
using FsHealer.Service.Metrics;
using FsHealer.Service.Metrics.Live;

namespace FsHealer.Scenario.Tests.Metrics;

/// <summary>
/// The shipped alert rules against a real Prometheus (Debian's `prometheus`) scraping fshealer's exporter every
/// second and evaluating the rules every second: the `increase(...) > 0` alerts fire for the FIRST event on an
/// attached filesystem (its counters exist at 0 from the attach), and — the control that shows the test can fail —
/// do not fire for a series that first appears at 1. Plus `promtool check rules` and `promtool check metrics`.
/// </summary>
public class PrometheusAlertTests
{
    private static string Root()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static string Rules => Path.Combine(Root(), "packaging/prometheus/fshealer-alerts.yml");

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private static string Require(string tool)
    {
        var path = Which(tool);
        if (path is null) Assert.Skip($"{tool} is not installed (apt-get install prometheus)");
        return path;
    }

    private static (int Code, string Out) Run(string file, string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"{file} did not finish");
        return (p.ExitCode, o.Result + e.Result);
    }

    private static int FreePort()
    {
        var p = new TcpListener(IPAddress.Loopback, 0);
        p.Start();
        int port = ((IPEndPoint)p.LocalEndpoint).Port;
        p.Stop();
        return port;
    }

    [Fact]
    public void Promtool_accepts_the_rules_and_the_exposition()
    {
        var promtool = Require("promtool");
        var r = Run(promtool, null, "check", "rules", Rules);
        Assert.True(r.Code == 0, r.Out);
        Assert.Contains("SUCCESS", r.Out);

        var m = new MetricsSink { ProcessSource = new ProcessSampler().Sample };
        m.SetUp(true, DateTimeOffset.UtcNow);
        m.SetBuildInfo("0.1.0", ".NET 10", aot: false);
        m.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = "/srv", FsType = "xfs", Message = "attached" });
        m.Publish(new FsEvent { Class = EventClass.RepairFailed, Severity = Severity.Error, Mount = "/srv", FsType = "xfs", Message = "failed" });
        var text = m.Render();
        Assert.Contains("process_resident_memory_bytes ", text);
        var lint = Run(promtool, text, "check", "metrics");
        Assert.True(lint.Code == 0 && lint.Out.Trim().Length == 0, $"promtool check metrics: rc {lint.Code}: {lint.Out}");
    }

    [Fact]
    public async Task Increase_alerts_fire_on_the_first_event_of_an_attached_filesystem()
    {
        var prometheus = Require("prometheus");
        var ct = TestContext.Current.CancellationToken;
        var m = new MetricsSink();
        m.SetUp(true, DateTimeOffset.UtcNow);
        void Pub(EventClass c, Severity s, string mount, long? count = null) =>
            m.Publish(new FsEvent { Class = c, Severity = s, Mount = mount, FsType = "xfs", Message = $"{mount}: {c}", Count = count });
        Pub(EventClass.Attached, Severity.Info, "/mnt/a");
        // the control: a series that first appears with the event (as every labelled counter did before)
        Pub(EventClass.DataLost, Severity.Critical, "/mnt/b");
        using var server = new MetricsServer(m);
        int port = 0;
        string? err = "not started";
        for (int i = 0; i < 5 && err is not null; i++) err = server.StartHttp($"127.0.0.1:{FreePort()}", out port);
        Assert.Null(err);

        var dir = Directory.CreateTempSubdirectory("fshealer-prometheus-").FullName;
        int webPort = FreePort();
        File.WriteAllText(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [ "{Rules}" ]
            scrape_configs:
              - job_name: fshealer
                static_configs:
                  - targets: [ "127.0.0.1:{port}" ]
            """);
        var psi = new ProcessStartInfo(prometheus) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{webPort}", "--log.level=warn" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{webPort}"), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            async Task<JsonElement> Api(string path)
            {
                var body = await http.GetStringAsync(path, ct);
                using var doc = JsonDocument.Parse(body);
                return doc.RootElement.GetProperty("data").Clone();
            }
            async Task WaitFor(Func<Task<bool>> cond, string what, int seconds)
            {
                var sw = Stopwatch.StartNew();
                while (true)
                {
                    try { if (await cond()) return; }
                    catch (HttpRequestException) { }
                    catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
                    if (p.HasExited || sw.Elapsed > TimeSpan.FromSeconds(seconds))
                        Assert.Fail($"{what}: not within {seconds} s (prometheus {(p.HasExited ? $"exited {p.ExitCode}" : "running")}):\n{string.Join("\n", log)}");
                    await Task.Delay(250, ct);
                }
            }
            // the zero series have been scraped (at least twice) before the events happen
            await WaitFor(async () =>
            {
                var d = await Api("/api/v1/query?query=" + Uri.EscapeDataString("count_over_time(fshealer_events_total{class=\"datalost\",mount=\"/mnt/a\"}[1m])"));
                return d.GetProperty("result").EnumerateArray().Any(r => double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= 2);
            }, "two scrapes of the zero series", 60);

            // the first event of each kind on /mnt/a
            Pub(EventClass.DataLost, Severity.Critical, "/mnt/a");
            Pub(EventClass.RepairFailed, Severity.Error, "/mnt/a");
            Pub(EventClass.ScrubFinished, Severity.Warning, "/mnt/a");
            Pub(EventClass.EventsLost, Severity.Warning, "/mnt/a", count: 3);
            string[] expected = ["FilesystemDataLoss", "FilesystemRepairFailed", "ScrubUncorrectableErrors", "FsHealerLostEvents"];
            List<(string Name, string? Mount, string State)> alerts = [];
            await WaitFor(async () =>
            {
                var d = await Api("/api/v1/alerts");
                alerts = d.GetProperty("alerts").EnumerateArray().Select(a => (
                    a.GetProperty("labels").GetProperty("alertname").GetString()!,
                    a.GetProperty("labels").TryGetProperty("mount", out var mt) ? mt.GetString() : null,
                    a.GetProperty("state").GetString()!)).ToList();
                return expected.All(n => alerts.Any(a => a.Name == n && a.Mount == "/mnt/a" && a.State == "firing"));
            }, $"alerts {string.Join(", ", expected)} firing for /mnt/a", 30);
            // the control fired nothing: increase() of a series that appeared at 1 is 0 — the bug the zeros fix
            Assert.DoesNotContain(alerts, a => a.Mount == "/mnt/b" && expected.Contains(a.Name));
            var inc = await Api("/api/v1/query?query=" + Uri.EscapeDataString("increase(fshealer_events_total{class=\"datalost\"}[1m])"));
            var byMount = inc.GetProperty("result").EnumerateArray().ToDictionary(
                r => r.GetProperty("metric").GetProperty("mount").GetString()!,
                r => double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(byMount["/mnt/a"] > 0, $"increase for /mnt/a: {byMount["/mnt/a"]}");
            Assert.Equal(0, byMount["/mnt/b"]);
        }
        finally
        {
            if (!p.HasExited) { p.Kill(); p.WaitForExit(10_000); }
            Directory.Delete(dir, true);
        }
    }
}
