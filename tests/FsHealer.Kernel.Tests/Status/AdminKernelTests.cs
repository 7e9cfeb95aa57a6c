using System.Diagnostics;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Model;
using FsHealer.Service.History.Live;
using Microsoft.Data.Sqlite;

namespace FsHealer.Kernel.Tests.Status;

/// <summary>Issue 16 on the real system: a user who is not root is told "permission denied" with the path (not
/// "no history yet" / "not attached"), and a real ext4 error storm through the daemon leaves a bounded history.</summary>
public sealed class AdminKernelTests
{
    private static Sh.Result AsNobody(params string[] args)
    {
        var psi = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--", "dotnet", typeof(FsHealer.Cli.Program).Assembly.Location }.Concat(args))
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException("setpriv fshealer"); }
        return new Sh.Result(p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Non_root_status_and_history_say_permission_denied_naming_the_path()
    {
        Sh.RequireRoot();
        Sh.RequireTools("setpriv");
        var dir = Directory.CreateTempSubdirectory("fshealer-perm-");
        try
        {
            File.SetUnixFileMode(dir.FullName, (UnixFileMode)0b111_101_101);   // the parent is readable; the state dir is not
            string state = Path.Combine(dir.FullName, "state"), config = Path.Combine(dir.FullName, "fshealer.json");
            File.WriteAllText(config, "{}");
            File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
            using (var store = HistoryStore.Open(state, out var err) ?? throw new InvalidOperationException(err))
                store.Append([new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/x", FsType = "ext4", Message = "x" }]);
            SqliteConnection.ClearAllPools();
            using (FsHealer.Service.Live.DaemonLock.TryAcquire(state, out _, out _)) { }
            string db = Path.Combine(state, "history.db");

            var probe = AsNobody("--help");
            if (probe.Code != 0) Assert.Skip($"the test build is not runnable by uid 65534: {probe.Err}");

            var h = AsNobody("history", "--state-dir", state, "--config", config);
            TestContext.Current.TestOutputHelper?.WriteLine($"history: exit {h.Code}\n{h.Out}\n{h.Err}");
            Assert.Equal(1, h.Code);
            Assert.Contains($"{db}: permission denied", h.Err);
            Assert.DoesNotContain("no history yet", h.Err + h.Out);
            var hj = AsNobody("history", "--json", "--state-dir", state, "--config", config);
            Assert.Equal(1, hj.Code);
            Assert.Contains("permission denied", hj.Err);

            var s = AsNobody("status", "--state-dir", state, "--config", config);
            TestContext.Current.TestOutputHelper?.WriteLine($"status: exit {s.Code}\n{s.Out}\n{s.Err}");
            Assert.Contains($"{db}: permission denied", s.Err);
            Assert.Contains("Permission denied", s.Err);        // the lock probe: cannot tell whether a daemon runs
            Assert.Contains("daemon: unknown", s.Out);
            Assert.Equal(3, s.Code);                              // unknown, not healthy: the state could not be read
            Assert.DoesNotContain("overall: healthy", s.Out);
            Assert.DoesNotContain("the daemon has not attached this filesystem", s.Out);
            Assert.DoesNotContain("no history yet", s.Out + s.Err);
        }
        finally { dir.Delete(true); }
    }

    /// <summary>
    /// The storm on the real kernel: ext4 errors raised as fast as sysfs takes them
    /// (FSHEALER_HISTORY_STORM_SECONDS, default 10 s) on a loop filesystem the daemon watches. Before: one history row
    /// per event (38k rows in 30 s; 1.4 MB + 4.1 MB WAL after 66 s). Now: at most ~100 rows per filesystem and minute
    /// plus the lifecycle rows, every event counted in a row's repeats, the WAL at most 1 MiB while running and empty
    /// after the daemon's shutdown checkpoint.
    /// </summary>
    [Fact]
    public void A_real_ext4_error_storm_through_the_daemon_leaves_a_bounded_history()
    {
        Sh.RequireRoot();
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("FSHEALER_HISTORY_STORM_SECONDS"), out var s) && s > 0 ? s : 10;
        using var fs = ScratchFs.Create("ext4", sizeMiB: 32, tag: "hstorm");
        string state = Path.Combine(fs.Dir, "state"), db = Path.Combine(state, HistoryStore.FileName);
        var log = TestContext.Current.TestOutputHelper;
        long raised = 0, walMax = 0;
        using (var daemon = DaemonProcess.Run("--poll-interval", "1", "--state-dir", state, "--duration", $"{seconds + 60}s"))
        {
            daemon.WaitFor(() => daemon.HasLine(l => l.Contains($"{fs.Mnt}: block devices:", StringComparison.Ordinal)), "the ext4 attach", 30);
            string trigger = $"/sys/fs/ext4/{fs.DevName}/trigger_fs_error";
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                for (int i = 0; i < 200; i++) { File.WriteAllText(trigger, "history storm"); raised++; }
                walMax = Math.Max(walMax, HistoryStore.FileLength(db + "-wal"));
            }
            Thread.Sleep(3000);   // let the daemon record the tail
            walMax = Math.Max(walMax, HistoryStore.FileLength(db + "-wal"));
            Assert.Equal(0, Sh.Run("kill", "-TERM", daemon.Pid.ToString()).Code);
            Assert.True(daemon.WaitForExit(60), "the daemon did not stop on SIGTERM");
        }
        SqliteConnection.ClearAllPools();
        long rows, ioRows, ioEvents;
        using (var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False"))
        {
            c.Open();
            using var q = c.CreateCommand();
            // trigger_fs_error raises EUCLEAN: MetadataCorrupt events (EIO would be IoError)
            q.CommandText = """
                SELECT count(*), sum(class IN ('IoError', 'MetadataCorrupt', 'ErrorsMissed')),
                       coalesce(sum(CASE WHEN class IN ('IoError', 'MetadataCorrupt', 'ErrorsMissed') THEN repeats END), 0) FROM events;
                """;
            using var r = q.ExecuteReader();
            Assert.True(r.Read());
            (rows, ioRows, ioEvents) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        }
        long dbBytes = HistoryStore.FileLength(db), walAfter = HistoryStore.FileLength(db + "-wal");
        log?.WriteLine($"{raised:N0} ext4 errors raised in {seconds} s: {ioEvents:N0} error events recorded in {ioRows} rows ({rows} rows in all); " +
                       $"history.db {dbBytes / 1024} KiB, WAL at most {walMax / 1024} KiB while running, {walAfter} bytes after shutdown");
        Assert.True(ioEvents > 1000, $"only {ioEvents} error events reached the history");
        int windows = seconds / 60 + 2;
        Assert.True(ioRows <= windows * (100 + 3), $"{ioRows} error rows for {ioEvents} events");
        Assert.True(walMax <= HistoryStore.WalSizeLimit + (512 << 10), $"WAL reached {walMax} bytes");
        Assert.True(dbBytes < 2L << 20, $"history.db is {dbBytes} bytes");
    }
}
