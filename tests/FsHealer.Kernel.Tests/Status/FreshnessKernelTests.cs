using System.Text.Json;
using FsHealer.Model;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Service.History.Live;

namespace FsHealer.Kernel.Tests.Status;

/// <summary>
/// Check freshness end to end: a real daemon (<c>fshealer run --duration</c>) over two loop-mounted ext4 filesystems
/// with max_check_age_seconds = 1 day. One has a history whose last successful check is 2 days old: the daemon
/// publishes exactly one CheckOverdue warning for it at once (not one per tick), the metrics textfile says it is
/// overdue, and <c>fshealer status</c> reports it degraded with the reason. The other was never checked, is attached
/// for the first time and has a 3 s limit: no warning during its grace period, then exactly one when it runs out
/// while the daemon runs.
/// </summary>
public sealed class FreshnessKernelTests
{
    [Fact]
    public void Daemon_warns_once_for_an_overdue_filesystem_and_status_reports_it_degraded()
    {
        using var old = ScratchFs.Create("ext4", sizeMiB: 32, tag: "fresh-old");
        using var fresh = ScratchFs.Create("ext4", sizeMiB: 32, tag: "fresh-new");
        var state = Path.Combine(old.Dir, "state");
        var prom = Path.Combine(old.Dir, "fshealer.prom");
        var config = Path.Combine(old.Dir, "fshealer.json");
        File.WriteAllText(config, $$"""
            {
              "state_dir": "{{state}}",
              "rules": [
                { "name": "fresh-old", "match": { "mount_point": "{{old.Mnt}}" }, "max_check_age_seconds": 86400 },
                { "name": "fresh-new", "match": { "mount_point": "{{fresh.Mnt}}" }, "max_check_age_seconds": 3 },
              ],
              "metrics": { "textfile": "{{prom}}", "textfile_interval_seconds": 1 },
            }
            """);
        var now = DateTimeOffset.UtcNow;
        using (var sink = new HistorySink(HistoryStore.Open(state, out var err) ?? throw new InvalidOperationException(err)))
        {
            sink.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = old.Mnt, FsType = "ext4", Message = $"{old.Mnt}: attached", Time = now.AddDays(-10) });
            sink.Publish(new FsEvent { Class = EventClass.OfflineRepair, Severity = Severity.Notice, Mount = old.Mnt, FsType = "ext4", Message = $"{old.Mnt}: e2fsck clean", Time = now.AddDays(-2).AddMinutes(-5) });
            // a newer scrub with errors is not a successful check
            sink.Publish(new FsEvent { Class = EventClass.ScrubFinished, Severity = Severity.Warning, Mount = old.Mnt, FsType = "ext4", Message = $"{old.Mnt}: errors", Time = now.AddDays(-1).AddMinutes(-5) });
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = Sh.Fshealer("run", "--config", config, "--poll-interval", "60", "--duration", "8");
        var log = TestContext.Current.TestOutputHelper;
        log?.WriteLine($"fshealer run: exit {r.Code} after {sw.Elapsed.TotalSeconds:0.0}s\n{r.Out}\n{r.Err}");
        Assert.Equal(0, r.Code);
        Assert.Contains($"{old.Mnt}: ext4 filesystem attached", r.Out);
        Assert.Contains($"{fresh.Mnt}: ext4 filesystem attached", r.Out);
        var warned = r.Err.Split('\n').Where(l => l.Contains("check overdue")).ToList();
        Assert.Equal(2, warned.Count);
        Assert.Contains($"{old.Mnt}: check overdue: last successful check 2d ago, older than max_check_age 1d", warned);
        Assert.Single(warned, l => System.Text.RegularExpressions.Regex.IsMatch(l,
            $"^{System.Text.RegularExpressions.Regex.Escape(fresh.Mnt)}: check overdue: no successful check recorded since first attached [345]s ago, longer than max_check_age 3s$"));

        // the history has exactly one CheckOverdue event, for the old filesystem only
        using (var store = HistoryStore.Open(state, out var err2, readOnly: true) ?? throw new InvalidOperationException(err2))
        {
            var overdue = store.Query(new HistoryQuery { Class = EventClass.CheckOverdue }).Select(s => s.Event).ToList();
            Assert.Equal(2, overdue.Count);
            var e = Assert.Single(overdue, x => x.Mount == old.Mnt);
            Assert.Equal(old.Mnt, e.Mount);
            Assert.Equal(Severity.Warning, e.Severity);
            Assert.Equal(old.Loop, e.Device);
            Assert.InRange(e.Count ?? 0, 2 * 86400, 2 * 86400 + 3600);
            // the never-checked one: not before its grace period (3 s from its attach) ran out
            var n = Assert.Single(overdue, x => x.Mount == fresh.Mnt);
            var attached = store.Query(new HistoryQuery { Mount = fresh.Mnt, Class = EventClass.Attached }).Select(s => s.Event).Single();
            log?.WriteLine($"never-checked filesystem: CheckOverdue {(n.Time - attached.Time).TotalSeconds:0.00}s after its attach (limit 3s, ticks once a second)");
            Assert.InRange((n.Time - attached.Time).TotalSeconds, 3.0, 7.5);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        // metrics textfile: overdue 1 for the old one, 0 for the new one; the last good check from the history
        var metrics = File.ReadAllText(prom);
        Assert.Contains($"fshealer_check_overdue{{mount=\"{old.Mnt}\",fstype=\"ext4\"}} 1\n", metrics);
        Assert.Contains($"fshealer_check_overdue{{mount=\"{fresh.Mnt}\",fstype=\"ext4\"}} 1\n", metrics);
        var lastGood = FsHealer.Service.Metrics.MetricsSink.FormatValue(now.AddDays(-2).AddMinutes(-5).ToUnixTimeMilliseconds() / 1000.0);
        Assert.Contains($"fshealer_last_good_check_timestamp_seconds{{mount=\"{old.Mnt}\",fstype=\"ext4\"}} {lastGood}\n", metrics);

        // status: degraded with the reason; the new one healthy
        var o = new StringWriter();
        int rc = FsHealer.Cli.Commands.StatusCommand.Run(true, null, config, old.Mnt, o, new StringWriter());
        log?.WriteLine(o.ToString());
        Assert.Equal(1, rc);
        using (var doc = JsonDocument.Parse(o.ToString()))
        {
            var fs = doc.RootElement.GetProperty("filesystems")[0];
            Assert.Equal("degraded", fs.GetProperty("health").GetString());
            Assert.True(fs.GetProperty("check_overdue").GetBoolean());
            Assert.Equal(86400, fs.GetProperty("max_check_age_seconds").GetInt64());
            Assert.Contains("last successful check 2d ago, older than max_check_age 1d", fs.GetProperty("reasons").EnumerateArray().Select(x => x.GetString()));
        }
        var text = new StringWriter();
        Assert.Equal(1, FsHealer.Cli.Commands.StatusCommand.Run(false, null, config, old.Mnt, text, new StringWriter()));
        Assert.Contains("max check age: 1d (OVERDUE)", text.ToString());
        o = new StringWriter();
        Assert.Equal(1, FsHealer.Cli.Commands.StatusCommand.Run(true, null, config, fresh.Mnt, o, new StringWriter()));
        using (var doc = JsonDocument.Parse(o.ToString()))
        {
            var fs = doc.RootElement.GetProperty("filesystems")[0];
            Assert.True(fs.GetProperty("check_overdue").GetBoolean());
            Assert.Contains(fs.GetProperty("reasons").EnumerateArray(), x => x.GetString()!.StartsWith("no successful check recorded since first attached"));
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }
}
