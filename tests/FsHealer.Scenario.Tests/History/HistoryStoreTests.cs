using FsHealer.Cli.Commands;
using System.Diagnostics;
using FsHealer.Mounts.Live;
using FsHealer.Model;
using FsHealer.Service.History.Live;
using Microsoft.Data.Sqlite;

namespace FsHealer.Scenario.Tests.History;

public sealed class HistoryStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-history-").FullName;
    private string StateDir => Path.Combine(_dir, "state");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static FsEvent Ev(EventClass c, string mount, DateTimeOffset t, string? cid = null) => new()
    {
        Class = c, Severity = Severity.Error, Mount = mount, FsType = "xfs", Device = "loop7", Inode = ulong.MaxValue - 1,
        Path = "/a/b", Errno = 117, Structure = "inobt", Count = 3, Message = $"{c} on {mount}", CorrelationId = cid, Time = t,
    };

    [Fact]
    public void Round_trip_keeps_every_field_and_creates_private_files_in_wal_mode()
    {
        var t = new DateTimeOffset(2026, 11, 21, 10, 0, 0, 123, TimeSpan.Zero);
        using (var store = HistoryStore.Open(StateDir, out var err))
        {
            Assert.NotNull(store);
            Assert.Null(err);
            Assert.Equal("wal", store.JournalMode());
            var e = Ev(EventClass.MetadataSick, "/mnt/x", t, "c-1");
            store.Append([e]);
            var back = Assert.Single(store.Query(new HistoryQuery()));
            Assert.Equal(1, back.Id);
            Assert.Equal(e, back.Event); // record equality: every field
            Assert.Equal("ok", store.IntegrityCheck());
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(StateDir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(StateDir, "history.db")));
        // re-open: schema already there, rows kept
        using var again = HistoryStore.Open(StateDir, out _, readOnly: true);
        Assert.Equal(1, again!.Count());
    }

    [Fact]
    public void Names_that_are_not_utf8_keep_every_byte_and_queries_tell_the_twins_apart()
    {
        // x\xff (byte FF) and x\uFFFD (EF BF BD) are two mount points; SQLite TEXT through Microsoft.Data.Sqlite would
        // turn the first into the second. Newlines, escapes and backslashes survive too.
        const string ff = "/mnt/x\uDCFF", fffd = "/mnt/x\uFFFD", odd = "/mnt/new\nline\\and \u001b[31mred\\x41";
        var t = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        using (var store = HistoryStore.Open(StateDir, out _)!)
        {
            var a = Ev(EventClass.IoError, ff, t) with { Path = ff + "/f\uDCFE", Device = "/dev/\uDCFD", Message = ff + ": EIO" };
            var b = Ev(EventClass.IoError, fffd, t.AddSeconds(1));
            var c = Ev(EventClass.IoError, odd, t.AddSeconds(2)) with { Message = odd + ": C:\\dir \\xff" };
            store.Append([a, b, c]);
            Assert.Equal(a, Assert.Single(store.Query(new HistoryQuery { Mount = ff })).Event);
            Assert.Equal(b, Assert.Single(store.Query(new HistoryQuery { Mount = fffd })).Event);
            Assert.Equal(c, Assert.Single(store.Query(new HistoryQuery { Mount = odd })).Event);
            Assert.Empty(store.Query(new HistoryQuery { Mount = "/mnt/x" }));
        }
        // text output: one line per event, names shown; JSON: exact
        var o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, null, null, 100, false, StateDir, o, new StringWriter(), t.AddMinutes(1)));
        var lines = o.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.EndsWith(@"/mnt/x\xff: EIO"));
        Assert.Contains(lines, l => l.EndsWith("/mnt/x\uFFFD: IoError on /mnt/x\uFFFD"));
        Assert.Contains(lines, l => l.EndsWith(@"/mnt/new\nline\\and \x1b[31mred\\x41: C:\\dir \\xff"));
        Assert.DoesNotContain('\u001b', o.ToString());
        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, null, null, 100, true, StateDir, o, new StringWriter(), t.AddMinutes(1)));
        var back = System.Text.Json.JsonSerializer.Deserialize(o.ToString(), HistoryJsonContext.Default.ListHistoryEventDto)!;
        Assert.Equal([ff, fffd, odd], back.Select(x => x.Mount));
        Assert.Equal(ff + "/f\uDCFE", back[0].Path);
        Assert.Contains("\"/mnt/x\\uDCFF\"", o.ToString());
        // --fs with the name that is not UTF-8
        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, ff, null, 100, false, StateDir, o, new StringWriter(), t.AddMinutes(1)));
        Assert.EndsWith(@" /mnt/x\xff: EIO", Assert.Single(o.ToString().TrimEnd('\n').Split('\n')));
    }

    [Fact]
    public void A_schema_1_database_is_migrated_to_3_and_keeps_its_text()
    {
        // a database written by the previous fshealer: text stored as it is (backslashes single)
        Directory.CreateDirectory(StateDir);
        var path = Path.Combine(StateDir, HistoryStore.FileName);
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var c = db.CreateCommand();
            c.CommandText = """
                CREATE TABLE events(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, class TEXT NOT NULL, severity TEXT NOT NULL,
                  mount TEXT NOT NULL, fs_type TEXT NOT NULL, device TEXT, inode INTEGER, path TEXT, errno INTEGER, structure TEXT,
                  count INTEGER, message TEXT NOT NULL, correlation_id TEXT, key TEXT NOT NULL);
                CREATE INDEX events_time ON events(time_ms);
                CREATE INDEX events_mount_time ON events(mount, time_ms);
                CREATE TABLE fs_state(fs TEXT PRIMARY KEY, json TEXT NOT NULL, updated_ms INTEGER NOT NULL);
                INSERT INTO events(time_ms, class, severity, mount, fs_type, device, path, message, key)
                  VALUES(1800000000000, 'IoError', 'Error', '/mnt/back\slash', 'ext4', NULL, '/mnt/back\slash/f\x41', '/mnt/back\slash: C:\dir', 'k\1');
                INSERT INTO events(time_ms, class, severity, mount, fs_type, message, key)
                  VALUES(1800000001000, 'Attached', 'Info', '/mnt/plain', 'xfs', '/mnt/plain: attached', 'k2');
                PRAGMA user_version=1;
                """;
            c.ExecuteNonQuery();
        }
        // a reader of the old database reads its text as it is (before any daemon migrated it)
        using (var ro = HistoryStore.Open(StateDir, out var roErr, readOnly: true))
        {
            Assert.Null(roErr);
            Assert.Equal(@"/mnt/back\slash/f\x41", ro!.Query(new HistoryQuery { Mount = @"/mnt/back\slash" }).Single().Event.Path);
        }
        using (var store = HistoryStore.Open(StateDir, out var err)!)
        {
            Assert.Null(err);
            var rows = store.Query(new HistoryQuery()).Select(r => r.Event).ToList();
            var slash = rows.Single(r => r.Mount == @"/mnt/back\slash");
            Assert.Equal(@"/mnt/back\slash/f\x41", slash.Path); // \x41 stays text, not a byte
            Assert.Equal(@"/mnt/back\slash: C:\dir", slash.Message);
            Assert.Null(slash.Device);
            Assert.Equal("/mnt/plain: attached", rows.Single(r => r.Mount == "/mnt/plain").Message);
            // new rows next to the migrated ones
            store.Append([Ev(EventClass.IoError, "/mnt/x\uDCFF", DateTimeOffset.FromUnixTimeSeconds(1_800_000_002))]);
            Assert.Single(store.Query(new HistoryQuery { Mount = "/mnt/x\uDCFF" }));
        }
        using var check = new SqliteConnection($"Data Source={path};Pooling=False");
        check.Open();
        using var v = check.CreateCommand();
        v.CommandText = "PRAGMA user_version;";
        Assert.Equal(3L, (long)v.ExecuteScalar()!);
        v.CommandText = @"SELECT message FROM events WHERE mount = '/mnt/back\\slash';";
        Assert.Equal(@"/mnt/back\\slash: C:\\dir", (string)v.ExecuteScalar()!); // stored escaped (PathBytes.ToStorage)
        v.CommandText = "SELECT mount FROM events WHERE id = 3;";
        Assert.Equal(@"/mnt/x\xff", (string)v.ExecuteScalar()!);
    }

    [Fact]
    public void Queries_filter_by_time_mount_and_class_newest_first()
    {
        var t = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        using var store = HistoryStore.Open(StateDir, out _)!;
        store.Append([
            Ev(EventClass.IoError, "/a", t),
            Ev(EventClass.RepairSucceeded, "/a", t.AddMinutes(1)),
            Ev(EventClass.IoError, "/b", t.AddMinutes(2)),
            Ev(EventClass.Shutdown, "/a", t.AddMinutes(3)),
        ]);
        Assert.Equal([4, 3, 2, 1], store.Query(new HistoryQuery()).Select(r => r.Id));
        Assert.Equal([4, 2, 1], store.Query(new HistoryQuery { Mount = "/a" }).Select(r => r.Id));
        Assert.Equal([3, 1], store.Query(new HistoryQuery { Class = EventClass.IoError }).Select(r => r.Id));
        Assert.Equal([4, 3], store.Query(new HistoryQuery { Since = t.AddMinutes(2) }).Select(r => r.Id));
        Assert.Equal([4], store.Query(new HistoryQuery { Limit = 1 }).Select(r => r.Id));
        Assert.Empty(store.Query(new HistoryQuery { Mount = "/a", Class = EventClass.IoError, Since = t.AddMinutes(1) }));
    }

    /// <summary>The SQL query of interrupted actions agrees with the pure definition (ActionJournal.Interrupted over
    /// the whole history in recording order) on randomized histories: few correlation ids, so that ids repeat, start
    /// twice, finish before they start, get only Decisions, ...</summary>
    [Fact]
    public void Interrupted_actions_in_sql_agree_with_the_pure_definition_on_random_histories()
    {
        var rnd = new Random(20261121);
        var classes = Enum.GetValues<EventClass>();
        string[] ids = ["a", "b", "c", "d", "e", "f"];
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        int nonEmpty = 0, total = 0;
        for (int seq = 0; seq < 300; seq++)
        {
            var t = t0;
            var events = new List<FsEvent>();
            int n = rnd.Next(0, 40);
            for (int i = 0; i < n; i++)
            {
                t = t.AddMilliseconds(rnd.Next(1, 5000)); // strictly increasing: the order by time is the recording order
                int pick = rnd.Next(10);
                var cls = pick < 4 ? EventClass.ActionStarted : pick < 6 ? EventClass.Decision : classes[rnd.Next(classes.Length)];
                string? cid = rnd.Next(8) == 0 ? null : $"{seq}-{ids[rnd.Next(ids.Length)]}";
                events.Add(Ev(cls, $"/m{rnd.Next(3)}", t, cid) with { Message = $"#{i} {cls}" });
            }
            var dir = Path.Combine(_dir, $"seq{seq}");
            using var store = HistoryStore.Open(dir, out var err)!;
            Assert.Null(err);
            store.Append(events);
            var expected = ActionJournal.Interrupted(events);
            var actual = store.InterruptedActions(DateTimeOffset.MinValue.AddYears(1970), 1000).Select(r => r.Event).ToList();
            Assert.Equal(expected, actual);
            // the window and the limit: only starts since the cut, the most recent ones
            if (expected.Count > 0)
            {
                var cut = expected[^1].Time;
                Assert.Equal([expected[^1]], store.InterruptedActions(cut, 1000).Select(r => r.Event));
                Assert.Equal(expected.TakeLast(2), store.InterruptedActions(DateTimeOffset.MinValue.AddYears(1970), 2).Select(r => r.Event));
                nonEmpty++;
                total += expected.Count;
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"300 histories, {nonEmpty} with interrupted actions ({total} in all)");
        Assert.InRange(nonEmpty, 50, 290); // the generator exercises both outcomes
    }

    [Fact]
    public void Interrupted_actions_use_the_correlation_index()
    {
        using (HistoryStore.Open(StateDir, out _)!) { }
        using var db = new SqliteConnection($"Data Source={Path.Combine(StateDir, "history.db")};Pooling=False");
        db.Open();
        using var c = db.CreateCommand();
        c.CommandText = "EXPLAIN QUERY PLAN SELECT 1 FROM events f WHERE f.correlation_id = 'x' AND f.class NOT IN ('ActionStarted', 'Decision');";
        var plan = new List<string>();
        using (var r = c.ExecuteReader()) while (r.Read()) plan.Add(r.GetString(3));
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", plan));
        Assert.Contains(plan, p => p.Contains("events_correlation", StringComparison.Ordinal));
    }

    [Fact]
    public void Policy_events_are_the_latest_attach_and_the_policy_decisions_after_it()
    {
        var t = new DateTimeOffset(2026, 11, 21, 10, 0, 0, TimeSpan.Zero);
        FsEvent E(EventClass c, string mount, int s, string? msg = null, string? cid = null) =>
            Ev(c, mount, t.AddSeconds(s), cid) with { Message = msg ?? $"{mount}: {c}", Structure = null };
        using var store = HistoryStore.Open(StateDir, out _)!;
        Assert.Empty(store.PolicyEvents("/a"));
        store.Append([
            E(EventClass.Attached, "/a", 0), E(EventClass.Decision, "/a", 0, "/a: policy: ext4: report errors only (rule (defaults))"),
            E(EventClass.Detached, "/a", 5),
            E(EventClass.Attached, "/a", 10), E(EventClass.Attached, "/b", 10),
            E(EventClass.Decision, "/a", 10, "/a: policy: ext4: offline repair (unmount, e2fsck, remount) (rule (defaults))"),
            E(EventClass.IoError, "/a", 11), E(EventClass.Decision, "/a", 12, "/a: decision (...)", cid: "h1"),
        ]);
        var rows = store.PolicyEvents("/a");
        Assert.Equal([4, 6], rows.Select(r => r.Id));
        var applied = FsHealer.Config.AppliedPolicySelector.Select(rows.Select(r => r.Event), FsHealer.Config.EffectivePolicy.Defaults, "ext4");
        Assert.Equal(FsHealer.Config.PolicySource.Daemon, applied.Source);
        Assert.StartsWith("ext4: offline repair", applied.Text);
        Assert.Equal([5], store.PolicyEvents("/b").Select(r => r.Id));
        store.Append([E(EventClass.Detached, "/a", 20)]);
        Assert.Equal([9], store.PolicyEvents("/a").Select(r => r.Id));
        Assert.Empty(store.PolicyEvents("/c"));
    }

    [Fact]
    public void Open_failures_are_reported_not_thrown()
    {
        Assert.Null(HistoryStore.Open(Path.Combine(_dir, "missing"), out var e1, readOnly: true));
        Assert.Contains("no history yet", e1);
        File.WriteAllText(Path.Combine(_dir, "file"), "x");
        Assert.Null(HistoryStore.Open(Path.Combine(_dir, "file"), out var e2));
        Assert.NotNull(e2);
        Directory.CreateDirectory(Path.Combine(_dir, "garbage"));
        File.WriteAllText(Path.Combine(_dir, "garbage", "history.db"), new string('x', 5000));
        Assert.Null(HistoryStore.Open(Path.Combine(_dir, "garbage"), out var e3));
        Assert.Contains("history.db", e3);
    }

    [Fact]
    public void Sink_writes_everything_in_batches_and_flushes_on_dispose()
    {
        var store = HistoryStore.Open(StateDir, out _)!;
        var sink = new HistorySink(store);
        var t = DateTimeOffset.UtcNow;
        for (int i = 0; i < 2000; i++) sink.Publish(Ev(EventClass.IoError, "/m", t, $"c{i}"));
        sink.Dispose();
        Assert.Equal(0, sink.Dropped);
        Assert.Equal(2000, sink.Written);
        using var r = HistoryStore.Open(StateDir, out _, readOnly: true)!;
        Assert.Equal(2000, r.Count());
        Assert.Equal("c1999", r.Query(new HistoryQuery { Limit = 1 })[0].Event.CorrelationId);
        sink.Publish(Ev(EventClass.IoError, "/m", t)); // after dispose: dropped, no throw
    }

    [Fact]
    public void Full_queue_never_blocks_or_throws_and_the_drop_is_recorded_once()
    {
        var store = HistoryStore.Open(StateDir, out _)!;
        // Hold the write lock from another connection so the writer is stuck while we publish.
        var locker = new SqliteConnection($"Data Source={Path.Combine(StateDir, "history.db")};Pooling=False");
        locker.Open();
        using (var c = locker.CreateCommand()) { c.CommandText = "BEGIN IMMEDIATE;"; c.ExecuteNonQuery(); }
        var sink = new HistorySink(store, capacity: 100);
        var t = DateTimeOffset.UtcNow;
        sink.Publish(Ev(EventClass.IoError, "/m", t, "first"));
        Thread.Sleep(100); // the writer takes "first" and blocks on the lock
        const int n = 100_000;
        var sw = Stopwatch.StartNew();
        double worstUs = 0;
        for (int i = 0; i < n; i++)
        {
            long s0 = Stopwatch.GetTimestamp();
            sink.Publish(Ev(EventClass.IoError, "/m", t, $"c{i}"));
            worstUs = Math.Max(worstUs, Stopwatch.GetElapsedTime(s0).TotalMicroseconds);
        }
        sw.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"{n} publishes with a stuck writer: {sw.Elapsed.TotalMilliseconds:F0} ms, worst single publish {worstUs:F0} us, dropped {sink.Dropped}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"publishing took {sw.Elapsed}");
        Assert.True(sink.Dropped >= n - 100);
        using (var c = locker.CreateCommand()) { c.CommandText = "COMMIT;"; c.ExecuteNonQuery(); }
        locker.Dispose();
        Assert.True(sink.Flush(TimeSpan.FromSeconds(20)));
        long dropped = sink.Dropped;
        sink.Dispose();

        using var r = HistoryStore.Open(StateDir, out _, readOnly: true)!;
        var rows = r.Query(new HistoryQuery { Limit = 1_000_000 });
        var dropRows = rows.Where(x => x.Event.Message.StartsWith("history: ", StringComparison.Ordinal)).ToList();
        var dropRow = Assert.Single(dropRows);
        Assert.Equal($"history: {dropped} events not recorded (queue full)", dropRow.Event.Message);
        Assert.Equal(EventClass.EventsLost, dropRow.Event.Class);
        // everything published is either a row or counted in the drop row
        Assert.Equal(n + 1, rows.Count - 1 + dropRow.Event.Count!.Value);
    }

    [Fact]
    public void History_command_prints_filters_and_json()
    {
        var now = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
        using (var store = HistoryStore.Open(StateDir, out _)!)
            store.Append([Ev(EventClass.IoError, "/a", now.AddHours(-3), "k1"), Ev(EventClass.RepairSucceeded, "/a", now.AddMinutes(-10)), Ev(EventClass.IoError, "/b", now.AddMinutes(-5))]);
        SqliteConnection.ClearAllPools();

        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, null, null, 100, false, StateDir, o, e, now));
        var lines = o.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("2026-11-21T09:00:00Z error    io_error", lines[0]); // oldest first
        Assert.EndsWith("[k1]", lines[0]);

        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run("1h", "/a", null, 100, true, StateDir, o, e, now));
        Assert.Contains("\"class\": \"repair_succeeded\"", o.ToString());
        Assert.Contains("\"severity\": \"error\"", o.ToString());
        Assert.DoesNotContain("io_error", o.ToString());

        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run("2026-11-21T11:00:00Z", null, "ioerror", 100, false, StateDir, o, e, now));
        Assert.Single(o.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(64, HistoryCommand.Run("yesterday-ish", null, null, 100, false, StateDir, o, e, now));
        Assert.Equal(64, HistoryCommand.Run(null, null, "Nonsense", 100, false, StateDir, o, e, now));
        Assert.Contains("unknown event class", e.ToString());
        Assert.Equal(0, HistoryCommand.Run(null, null, "io_error", 100, false, StateDir, o, e, now));
        // no database yet: nothing happened (not an error); JSON readers get an empty list
        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, null, null, 100, false, Path.Combine(_dir, "nothing"), o, e, now));
        Assert.Contains("no history yet", o.ToString());
        o = new StringWriter();
        Assert.Equal(0, HistoryCommand.Run(null, null, null, 100, true, Path.Combine(_dir, "nothing"), o, e, now));
        Assert.Equal("[]", o.ToString().Trim());
        Assert.Equal(now.AddDays(-7), HistoryCommand.ParseSince("7d", now));
        Assert.Equal(now.AddMinutes(-30), HistoryCommand.ParseSince("30m", now));
    }

    [Fact]
    public void Kill_9_mid_write_never_corrupts_and_leaves_whole_batches()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "FsHealer.HistoryStress.dll");
        Assert.True(File.Exists(dll), dll);
        const int batch = 50;
        var rnd = new Random(9);
        long lastReported = 0;
        for (int round = 0; round < 6; round++)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add(StateDir);
            psi.ArgumentList.Add(batch.ToString());
            using var p = Process.Start(psi)!;
            long reported = 0;
            var started = new ManualResetEventSlim();
            var reader = new Thread(() =>
            {
                string? line;
                while ((line = p.StandardOutput.ReadLine()) is not null)
                    if (line.StartsWith("committed ", StringComparison.Ordinal))
                    {
                        Interlocked.Exchange(ref reported, long.Parse(line.AsSpan(10)));
                        started.Set();
                    }
                started.Set();
            }) { IsBackground = true };
            reader.Start();
            var stderrTask = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            if (!started.Wait(TimeSpan.FromSeconds(30)) || Interlocked.Read(ref reported) == 0)
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                Assert.Fail("stress child did not commit: " + stderrTask.Result);
            }
            Thread.Sleep(rnd.Next(20, 400));
            long beforeKill = Interlocked.Read(ref reported);
            p.Kill(); // SIGKILL
            p.WaitForExit();
            reader.Join(TimeSpan.FromSeconds(5));
            Assert.Equal(137, p.ExitCode);

            using var db = new SqliteConnection($"Data Source={Path.Combine(StateDir, "history.db")};Pooling=False");
            db.Open();
            long Q(string sql) { using var c = db.CreateCommand(); c.CommandText = sql; return Convert.ToInt64(c.ExecuteScalar() ?? 0L); }
            using (var c = db.CreateCommand()) { c.CommandText = "PRAGMA integrity_check;"; Assert.Equal("ok", (string)c.ExecuteScalar()!); }
            long count = Q("SELECT count(*) FROM events;");
            long max = Q("SELECT ifnull(max(id), 0) FROM events;");
            long min = Q("SELECT ifnull(min(id), 1) FROM events;");
            long halfBatches = Q($"SELECT count(*) FROM (SELECT correlation_id FROM events GROUP BY correlation_id HAVING count(*) != {batch});");
            TestContext.Current.TestOutputHelper?.WriteLine($"round {round}: child reported {beforeKill} committed before the kill, db has {count} rows");
            Assert.Equal(1, min);
            Assert.Equal(count, max);           // ids contiguous
            Assert.Equal(0, count % batch);     // whole batches only
            Assert.Equal(0, halfBatches);
            Assert.True(count >= beforeKill, $"reported {beforeKill} committed but only {count} rows survived");
            Assert.True(count >= lastReported);
            lastReported = Interlocked.Read(ref reported);
        }
        Assert.True(lastReported > 0);
    }

    /// <summary>Check freshness in SQL (HistoryStore.FreshnessFacts) agrees with the pure definitions
    /// (StatusComputer.IsGoodCheck, the first Attached) on randomized histories of several mounts, every class and
    /// severity, times out of recording order.</summary>
    [Fact]
    public void Freshness_facts_in_sql_agree_with_IsGoodCheck_on_random_histories()
    {
        var rnd = new Random(4242);
        var classes = Enum.GetValues<EventClass>();
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        int withGood = 0;
        for (int seq = 0; seq < 100; seq++)
        {
            var events = new List<FsEvent>();
            int n = rnd.Next(0, 60);
            for (int i = 0; i < n; i++)
            {
                int pick = rnd.Next(10);
                var cls = pick < 2 ? EventClass.ScrubFinished : pick < 3 ? EventClass.OfflineRepair : pick < 4 ? EventClass.Attached : classes[rnd.Next(classes.Length)];
                events.Add(Ev(cls, $"/m{rnd.Next(3)}", t0.AddSeconds(rnd.Next(0, 1_000_000))) with { Severity = (Severity)rnd.Next(6) });
            }
            var dir = Path.Combine(_dir, $"fresh{seq}");
            using var store = HistoryStore.Open(dir, out var err)!;
            Assert.Null(err);
            store.Append(events);
            foreach (var m in new[] { "/m0", "/m1", "/m2", "/none" })
            {
                var mine = events.Where(e => e.Mount == m).ToList();
                DateTimeOffset? good = mine.Where(FsHealer.Config.StatusComputer.IsGoodCheck).Select(e => (DateTimeOffset?)e.Time).Max();
                DateTimeOffset? first = mine.Where(e => e.Class == EventClass.Attached).Select(e => (DateTimeOffset?)e.Time).Min();
                Assert.Equal((good, first), store.FreshnessFacts(m));
                if (good is not null) withGood++;
            }
        }
        Assert.InRange(withGood, 50, 299); // both outcomes exercised
    }
}
