using System.Globalization;
using FsHealer.Model;
using Microsoft.Data.Sqlite;

namespace FsHealer.Service.History.Live;

/// <summary>One filesystem in the history: its identity (<see cref="FsEvent.FsId"/>) and, for rows recorded before
/// identities were (schema 1), its mount point.</summary>
public sealed record FsSelector(string? FsId, string Mount)
{
    /// <summary>SQL condition on the events table; parameters $fsid and $mount. A schema-1 database (read-only, not yet
    /// upgraded by the daemon) has no fs_id: by mount point only.</summary>
    internal string Where(bool hasFsId) => FsId is null || !hasFsId ? "mount = $mount" : "(fs_id = $fsid OR (fs_id IS NULL AND mount = $mount))";
    internal void Bind(SqliteCommand c)
    {
        c.Parameters.AddWithValue("$mount", Mount);
        if (FsId is not null) c.Parameters.AddWithValue("$fsid", FsId);
    }
}

public sealed record HistoryQuery
{
    public DateTimeOffset? Since { get; init; }
    public string? Mount { get; init; }
    /// <summary>One filesystem (by identity); overrides <see cref="Mount"/>.</summary>
    public FsSelector? Fs { get; init; }
    public EventClass? Class { get; init; }
    public int Limit { get; init; } = 1000;
}

public sealed record StoredEvent(long Id, FsEvent Event);

/// <summary>
/// The history database: SQLite in WAL mode (synchronous=NORMAL: a killed process loses nothing committed; a
/// power loss may lose the last transactions, never consistency). Schema version in <c>PRAGMA user_version</c>.
/// Directory 0700, files 0600. One connection; not thread-safe (the <see cref="HistorySink"/> writer owns one,
/// readers open their own).
/// </summary>
public sealed class HistoryStore : IDisposable
{
    /// <summary>1: events, fs_state. 2: events.fs_id (the filesystem's identity) and its index.</summary>
    public const int SchemaVersion = 2;
    public const string FileName = "history.db";
    private readonly SqliteConnection _db;
    public string Path { get; }

    private HistoryStore(SqliteConnection db, string path, long version) { _db = db; Path = path; _hasFsId = version >= 2; }
    private readonly bool _hasFsId;

    /// <summary>
    /// Opens the history for writing; a database that is corrupt (not a database, malformed, or failing
    /// <c>PRAGMA quick_check</c>) is moved aside — kept, renamed history.db.corrupt-YYYYMMDDTHHMMSSZ with its -wal/-shm —
    /// and a fresh one is started; <paramref name="movedAside"/> then says where the old one went.
    /// </summary>
    public static HistoryStore? OpenForWriting(string stateDir, out string? error, out string? movedAside)
    {
        movedAside = null;
        var store = Open(stateDir, out error);
        string? why = null;
        if (store is not null)
        {
            try { why = store.QuickCheck() is var q && q == "ok" ? null : $"quick_check: {q}"; }
            catch (SqliteException e) { why = e.Message; }
            if (why is null) return store;
            store.Dispose();
        }
        else if (error is null || !IsCorruption(error)) return null;
        why ??= error;
        string path = System.IO.Path.Combine(stateDir, FileName);
        string aside = $"{path}.corrupt-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}";
        try
        {
            SqliteConnection.ClearAllPools();
            File.Move(path, aside);
            foreach (var suffix in new[] { "-wal", "-shm" })
                if (File.Exists(path + suffix)) File.Move(path + suffix, aside + suffix);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"{path} is corrupt ({why}) and could not be moved aside: {e.Message}";
            return null;
        }
        movedAside = $"{path} was corrupt ({why}); kept as {aside}, a new history was started";
        return Open(stateDir, out error);
    }

    private static bool IsCorruption(string message) =>
        message.Contains("not a database", StringComparison.OrdinalIgnoreCase) || message.Contains("malformed", StringComparison.OrdinalIgnoreCase)
        || message.Contains("corrupt", StringComparison.OrdinalIgnoreCase);

    /// <summary>PRAGMA quick_check: "ok", or the first problem.</summary>
    public string QuickCheck() { using var c = _db.CreateCommand(); c.CommandText = "PRAGMA quick_check(1);"; return (string)c.ExecuteScalar()!; }

    /// <summary>
    /// Can the daemon record the start of an action here right now? Null when it can, else why not (read-only
    /// filesystem, no space, not writable, corrupt). Used by <c>fshealer status</c>: offline repairs do not run while
    /// their start cannot be recorded. Reads only.
    /// </summary>
    public static string? WriteProblem(string stateDir)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        if (!Directory.Exists(stateDir)) return null;   // created at the daemon's first start
        try
        {
            if (FsHealer.Interop.Statvfs.Get(stateDir, out var sv) == 0)
            {
                if (sv.ReadOnly) return $"{stateDir} is on a read-only filesystem";
                if (sv.AvailableBlocks == 0) return $"{stateDir} has no free space";
            }
            if (File.Exists(path) && !FsHealer.Interop.Statvfs.Writable(path)) return $"{path} is not writable";
            if (!FsHealer.Interop.Statvfs.Writable(stateDir)) return $"{stateDir} is not writable";
            if (File.Exists(path))
            {
                using var store = Open(stateDir, out var err, readOnly: true);
                if (store is null) return err is not null && IsCorruption(err) ? $"{path} is corrupt: {err}" : null;
                var q = store.QuickCheck();
                if (q != "ok") return $"{path} is corrupt: {q}";
            }
        }
        catch (SqliteException e) { return $"{path}: {e.Message}"; }
        return null;
    }

    /// <summary>Opens (creating the directory and schema if needed) the database at
    /// <paramref name="stateDir"/>/history.db. Returns null and the reason on failure. Never throws.</summary>
    public static HistoryStore? Open(string stateDir, out string? error, bool readOnly = false)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        SqliteConnection? db = null;
        try
        {
            if (readOnly)
            {
                if (!File.Exists(path)) { error = $"{path}: no history yet (No such file or directory)"; return null; }
            }
            else
            {
                var old = File.Exists(path);
                Directory.CreateDirectory(stateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (!old)
                    using (File.Create(path, 1, FileOptions.None)) { }
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            var cs = new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWrite,
                Pooling = false,
                DefaultTimeout = 5,
            }.ToString();
            db = new SqliteConnection(cs);
            db.Open();
            if (!readOnly)
            {
                Exec(db, "PRAGMA journal_mode=WAL;");
                Exec(db, "PRAGMA synchronous=NORMAL;");
            }
            Exec(db, "PRAGMA busy_timeout=5000;");
            long version = Scalar(db, "PRAGMA user_version;");
            if (version > SchemaVersion)
            {
                error = $"{path}: schema version {version} is newer than this fshealer ({SchemaVersion})";
                db.Dispose();
                return null;
            }
            if (version < 1 && readOnly)
            {
                error = $"{path}: not initialised (schema version {version})";
                db.Dispose();
                return null;
            }
            if (version < 1)
            {
                using var tx = db.BeginTransaction();
                Exec(db, """
                    CREATE TABLE IF NOT EXISTS events(
                      id INTEGER PRIMARY KEY,
                      time_ms INTEGER NOT NULL,
                      class TEXT NOT NULL,
                      severity TEXT NOT NULL,
                      mount TEXT NOT NULL,
                      fs_type TEXT NOT NULL,
                      device TEXT,
                      inode INTEGER,
                      path TEXT,
                      errno INTEGER,
                      structure TEXT,
                      count INTEGER,
                      message TEXT NOT NULL,
                      correlation_id TEXT,
                      key TEXT NOT NULL);
                    CREATE INDEX IF NOT EXISTS events_time ON events(time_ms);
                    CREATE INDEX IF NOT EXISTS events_mount_time ON events(mount, time_ms);
                    CREATE TABLE IF NOT EXISTS fs_state(
                      fs TEXT PRIMARY KEY,
                      json TEXT NOT NULL,
                      updated_ms INTEGER NOT NULL);
                    PRAGMA user_version=1;
                    """, tx);
                tx.Commit();
                version = 1;
            }
            if (version < 2 && !readOnly)
            {
                using var tx = db.BeginTransaction();
                Exec(db, """
                    ALTER TABLE events ADD COLUMN fs_id TEXT;
                    CREATE INDEX IF NOT EXISTS events_fsid_time ON events(fs_id, time_ms) WHERE fs_id IS NOT NULL;
                    PRAGMA user_version=2;
                    """, tx);
                tx.Commit();
            }
            // Not part of schema version 1's definition: added to existing databases on their next read-write open
            // (an index changes no reader). Partial: only action-related events carry a correlation id.
            if (!readOnly) Exec(db, "CREATE INDEX IF NOT EXISTS events_correlation ON events(correlation_id) WHERE correlation_id IS NOT NULL;");
            foreach (var suffix in new[] { "-wal", "-shm" })
                if (File.Exists(path + suffix)) TryChmod(path + suffix);
            error = null;
            return new HistoryStore(db, path, Scalar(db, "PRAGMA user_version;"));
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            db?.Dispose();
            error = $"{path}: {e.Message}";
            return null;
        }
    }

    private static void TryChmod(string p)
    {
        try { File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void Exec(SqliteConnection db, string sql, SqliteTransaction? tx = null)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql;
        c.Transaction = tx;
        c.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection db, string sql)
    {
        using var c = db.CreateCommand();
        c.CommandText = sql;
        return Convert.ToInt64(c.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
    }

    public string JournalMode() { using var c = _db.CreateCommand(); c.CommandText = "PRAGMA journal_mode;"; return (string)c.ExecuteScalar()!; }
    public string IntegrityCheck() { using var c = _db.CreateCommand(); c.CommandText = "PRAGMA integrity_check;"; return (string)c.ExecuteScalar()!; }

    /// <summary>Inserts the events in one transaction (all or nothing). Throws <see cref="SqliteException"/> on
    /// failure (the sink catches it).</summary>
    public void Append(IReadOnlyList<FsEvent> events)
    {
        if (events.Count == 0) return;
        using var tx = _db.BeginTransaction();
        using var c = _db.CreateCommand();
        c.Transaction = tx;
        c.CommandText = """
            INSERT INTO events(time_ms, class, severity, mount, fs_type, device, inode, path, errno, structure, count, message, correlation_id, key, fs_id)
            VALUES($t, $cl, $sev, $m, $fs, $dev, $ino, $p, $err, $st, $n, $msg, $cid, $key, $fsid);
            """;
        var pt = c.Parameters.Add("$t", SqliteType.Integer);
        var pcl = c.Parameters.Add("$cl", SqliteType.Text);
        var psev = c.Parameters.Add("$sev", SqliteType.Text);
        var pm = c.Parameters.Add("$m", SqliteType.Text);
        var pfs = c.Parameters.Add("$fs", SqliteType.Text);
        var pdev = c.Parameters.Add("$dev", SqliteType.Text);
        var pino = c.Parameters.Add("$ino", SqliteType.Integer);
        var pp = c.Parameters.Add("$p", SqliteType.Text);
        var perr = c.Parameters.Add("$err", SqliteType.Integer);
        var pst = c.Parameters.Add("$st", SqliteType.Text);
        var pn = c.Parameters.Add("$n", SqliteType.Integer);
        var pmsg = c.Parameters.Add("$msg", SqliteType.Text);
        var pcid = c.Parameters.Add("$cid", SqliteType.Text);
        var pkey = c.Parameters.Add("$key", SqliteType.Text);
        var pfsid = c.Parameters.Add("$fsid", SqliteType.Text);
        c.Prepare();
        foreach (var e in events)
        {
            pt.Value = e.Time.ToUnixTimeMilliseconds();
            pcl.Value = e.Class.ToString();
            psev.Value = e.Severity.ToString();
            pm.Value = e.Mount;
            pfs.Value = e.FsType;
            pdev.Value = (object?)e.Device ?? DBNull.Value;
            pino.Value = e.Inode is { } i ? unchecked((long)i) : DBNull.Value;
            pp.Value = (object?)e.Path ?? DBNull.Value;
            perr.Value = e.Errno is { } er ? er : DBNull.Value;
            pst.Value = (object?)e.Structure ?? DBNull.Value;
            pn.Value = e.Count is { } n ? n : DBNull.Value;
            pmsg.Value = e.Message;
            pcid.Value = (object?)e.CorrelationId ?? DBNull.Value;
            pkey.Value = e.Key;
            pfsid.Value = (object?)e.FsId ?? DBNull.Value;
            c.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Newest first, at most <see cref="HistoryQuery.Limit"/> rows.</summary>
    public List<StoredEvent> Query(HistoryQuery q)
    {
        using var c = _db.CreateCommand();
        var where = new List<string>();
        if (q.Since is { } s) { where.Add("time_ms >= $since"); c.Parameters.AddWithValue("$since", s.ToUnixTimeMilliseconds()); }
        if (q.Fs is { } f) { where.Add(f.Where(_hasFsId)); f.Bind(c); }
        else if (q.Mount is { } m) { where.Add("mount = $mount"); c.Parameters.AddWithValue("$mount", m); }
        if (q.Class is { } cl) { where.Add("class = $class"); c.Parameters.AddWithValue("$class", cl.ToString()); }
        c.CommandText = $"SELECT {Columns} FROM events"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY id DESC LIMIT $limit;";
        c.Parameters.AddWithValue("$limit", Math.Max(0, q.Limit));
        return Read(c);
    }

    public long Count()
    {
        using var c = _db.CreateCommand();
        c.CommandText = "SELECT count(*) FROM events;";
        return Convert.ToInt64(c.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Actions that started and never finished (<see cref="ActionJournal.Interrupted"/>, done in SQL so that a large
    /// history is not loaded): per correlation id the latest <see cref="EventClass.ActionStarted"/> row recorded at or
    /// after <paramref name="since"/>, when no row of that correlation id (at any time) has a class other than
    /// ActionStarted or <see cref="EventClass.Decision"/>. At most <paramref name="limit"/> of them, the most recently
    /// started; oldest first (by time, then by recording order).
    /// </summary>
    public List<StoredEvent> InterruptedActions(DateTimeOffset since, int limit)
    {
        using var c = _db.CreateCommand();
        c.CommandText = $"""
            SELECT * FROM (
              SELECT {Columns} FROM events s
              WHERE s.class = 'ActionStarted' AND s.correlation_id IS NOT NULL AND s.time_ms >= $since
                AND s.id = (SELECT max(x.id) FROM events x WHERE x.correlation_id = s.correlation_id AND x.class = 'ActionStarted')
                AND NOT EXISTS (SELECT 1 FROM events f WHERE f.correlation_id = s.correlation_id AND f.class NOT IN ('ActionStarted', 'Decision'))
              ORDER BY s.id DESC LIMIT $limit)
            ORDER BY time_ms, id;
            """;
        c.Parameters.AddWithValue("$since", since.ToUnixTimeMilliseconds());
        c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
        return Read(c);
    }

    /// <summary>
    /// The events <see cref="FsHealer.Config.AppliedPolicySelector"/> needs for <paramref name="mount"/>: its
    /// latest attach/defer/detach event and the correlation-free <see cref="EventClass.Decision"/> rows recorded after
    /// it (the daemon's per-attach policy line comes first among them), at most <paramref name="limit"/> rows, in
    /// recording order. Empty when the mount was never attached.
    /// </summary>
    public List<StoredEvent> PolicyEvents(string mount, int limit = 20) => PolicyEvents(new FsSelector(null, mount), limit);

    public List<StoredEvent> PolicyEvents(FsSelector fs, int limit = 20)
    {
        // walk the rowids after the attach, not every row of the filesystem (measured: 1M-row history, 150k rows on the
        // mount, no attach: ~0.2 s, all in finding that there is none)
        using var c = _db.CreateCommand();
        string w = fs.Where(_hasFsId);
        c.CommandText = $"""
            WITH b AS (SELECT id FROM events WHERE {w} AND class IN ('Attached', 'Deferred', 'Detached') ORDER BY id DESC LIMIT 1)
            SELECT {Columns} FROM events
            WHERE id >= (SELECT id FROM b) AND {w.Replace("fs_id =", "+fs_id =").Replace("mount =", "+mount =")}
              AND (id = (SELECT id FROM b) OR (class = 'Decision' AND correlation_id IS NULL))
            ORDER BY id LIMIT $limit;
            """;
        fs.Bind(c);
        c.Parameters.AddWithValue("$limit", Math.Max(0, limit));
        return Read(c);
    }

    /// <summary>Check freshness of one mount point, two bounded index walks (events_mount_time): the time of the
    /// newest successful check/repair (StatusComputer.IsGoodCheck's definition, in SQL; a test checks they agree) and
    /// of the first recorded attach. Null where there is none.</summary>
    public (DateTimeOffset? LastGoodCheck, DateTimeOffset? FirstAttached) FreshnessFacts(string mount) => FreshnessFacts(new FsSelector(null, mount));

    public (DateTimeOffset? LastGoodCheck, DateTimeOffset? FirstAttached) FreshnessFacts(FsSelector fs)
    {
        using var c = _db.CreateCommand();
        string w = fs.Where(_hasFsId);
        c.CommandText = $"""
            SELECT
              (SELECT time_ms FROM events WHERE {w}
                 AND (class IN ('RepairSucceeded', 'RepairUnnecessary')
                      OR (class IN ('ScrubFinished', 'OfflineRepair') AND severity IN ('Debug', 'Info', 'Notice')))
                 ORDER BY time_ms DESC LIMIT 1),
              (SELECT time_ms FROM events WHERE {w} AND class = 'Attached' ORDER BY time_ms LIMIT 1);
            """;
        fs.Bind(c);
        using var r = c.ExecuteReader();
        if (!r.Read()) return (null, null);
        DateTimeOffset? At(int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
        return (At(0), At(1));
    }

    private string Columns => _hasFsId ? ColumnsV2 : ColumnsV1 + ", NULL";
    private const string ColumnsV1 = "id, time_ms, class, severity, mount, fs_type, device, inode, path, errno, structure, count, message, correlation_id";
    private const string ColumnsV2 = ColumnsV1 + ", fs_id";

    private List<StoredEvent> Read(SqliteCommand c)
    {
        var list = new List<StoredEvent>();
        using var r = c.ExecuteReader();
        while (r.Read())
        {
            list.Add(new StoredEvent(r.GetInt64(0), new FsEvent
            {
                Time = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
                Class = Enum.TryParse<EventClass>(r.GetString(2), out var cls) ? cls : EventClass.Diagnostic,
                Severity = Enum.TryParse<Severity>(r.GetString(3), out var sev) ? sev : Severity.Info,
                Mount = r.GetString(4),
                FsType = r.GetString(5),
                Device = r.IsDBNull(6) ? null : r.GetString(6),
                Inode = r.IsDBNull(7) ? null : unchecked((ulong)r.GetInt64(7)),
                Path = r.IsDBNull(8) ? null : r.GetString(8),
                Errno = r.IsDBNull(9) ? null : r.GetInt32(9),
                Structure = r.IsDBNull(10) ? null : r.GetString(10),
                Count = r.IsDBNull(11) ? null : r.GetInt64(11),
                Message = r.GetString(12),
                CorrelationId = r.IsDBNull(13) ? null : r.GetString(13),
                FsId = r.IsDBNull(14) ? null : r.GetString(14),
            }));
        }
        return list;
    }

    public void Dispose() => _db.Dispose();
}
