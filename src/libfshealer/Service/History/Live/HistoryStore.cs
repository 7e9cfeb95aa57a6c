using System.Globalization;
using FsHealer.Model;
using FsHealer.Text;
using Microsoft.Data.Sqlite;
using FsHealer.Interop;

namespace FsHealer.Service.History.Live;

/// <summary>One filesystem in the history: its identity (<see cref="FsEvent.FsId"/>) and, for rows recorded before
/// identities were (schema 1), its mount point.</summary>
public sealed record FsSelector(string? FsId, string Mount)
{
    /// <summary>SQL condition on the events table; parameters $fsid and $mount. A schema-1 database (read-only, not yet
    /// upgraded by the daemon) has no fs_id: by mount point only.</summary>
    internal string Where(bool hasFsId) => FsId is null || !hasFsId ? "mount = $mount" : "(fs_id = $fsid OR (fs_id IS NULL AND mount = $mount))";
    /// <param name="text">the store's conversion of a free-text value (<see cref="PathBytes.ToStorage"/> from schema 3)</param>
    internal void Bind(SqliteCommand c, Func<string, string> text)
    {
        c.Parameters.AddWithValue("$mount", text(Mount));
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

/// <summary>One row. <see cref="Repeats"/> &gt; 1: a storm of identical events folded into this row (the
/// <see cref="StormCoalescer"/>), the first at <see cref="FsEvent.Time"/>, the last at <see cref="LastTime"/>.</summary>
public sealed record StoredEvent(long Id, FsEvent Event)
{
    public long Repeats { get; init; } = 1;
    public DateTimeOffset? LastTime { get; init; }
}

/// <summary>What one retention pass removed and what is left.</summary>
public sealed record PruneResult(long DeletedByAge, long DeletedBySize, long Rows, long UsedBytes, long FileBytes, long WalBytes);

/// <summary>
/// The history database: SQLite in WAL mode (synchronous=NORMAL: a killed process loses nothing committed; a
/// power loss may lose the last transactions, never consistency). Schema version in <c>PRAGMA user_version</c>.
/// Directory 0700, files 0600. One connection; not thread-safe (the <see cref="HistorySink"/> writer owns one,
/// readers open their own).
/// <para>Bounded: the WAL is checkpointed every <see cref="WalAutoCheckpointPages"/> pages and cut back to
/// <see cref="WalSizeLimit"/> (journal_size_limit), and <see cref="Checkpoint"/> truncates it; <see cref="Prune"/>
/// deletes by age and by size (auto_vacuum=INCREMENTAL gives the space back to the filesystem) while keeping the
/// facts status needs. Storms are folded into rows with a repeat count (columns <c>repeats</c>, <c>last_time_ms</c>,
/// added to older databases on their next read-write open).</para>
/// <para>Names are bytes (<see cref="PathBytes"/>), and Microsoft.Data.Sqlite stores TEXT as UTF-8 with lone
/// surrogates replaced by U+FFFD — <c>x\xff</c> would come back as <c>x\uFFFD</c>, another filesystem's name. So
/// since schema version 3 the free-text columns (mount, fs_type, device, path, structure, message, key) hold
/// <see cref="PathBytes.ToStorage"/> text: a backslash is doubled and a byte that is not UTF-8 is written \xNN,
/// everything else as it is. Values are converted on the way in and out (queries by mount included), so callers see
/// exact strings. Older databases are migrated on their first read-write open (backslashes doubled, in one
/// transaction); a reader of an older database reads its text as it is.</para>
/// </summary>
public sealed class HistoryStore : IDisposable
{
    /// <summary>1: events, fs_state. 2: events.fs_id (the filesystem's identity) and its index. 3: free-text columns
    /// hold <see cref="PathBytes.ToStorage"/> text.</summary>
    public const int SchemaVersion = 3;
    public const string FileName = "history.db";
    /// <summary>Pages of WAL after which SQLite checkpoints by itself (256 × 4 KiB = 1 MiB; SQLite's default is 1000).</summary>
    public const int WalAutoCheckpointPages = 256;
    /// <summary>After a checkpoint the WAL file is cut back to at most this size (journal_size_limit).</summary>
    public const long WalSizeLimit = 1 << 20;
    private readonly SqliteConnection _db;
    private readonly bool _hasRepeats;
    public string Path { get; }

    private HistoryStore(SqliteConnection db, string path, long version, bool hasRepeats) { _db = db; Path = path; _hasFsId = version >= 2; _hasRepeats = hasRepeats; _escaped = version >= 3; }
    private readonly bool _hasFsId;
    /// <summary>Free-text columns hold <see cref="PathBytes.ToStorage"/> text (schema version 3 and later).</summary>
    private readonly bool _escaped;

    /// <summary>A value for a free-text column.</summary>
    private string In(string s) => _escaped ? PathBytes.ToStorage(s) : s;
    private object InOrNull(string? s) => s is null ? DBNull.Value : In(s);
    /// <summary>A value read from a free-text column.</summary>
    private string Out(string s) => _escaped ? PathBytes.FromStorage(s) : s;

    /// <summary>Why a read-only open failed, when it is worth telling apart.</summary>
    public enum OpenFailure { None, Missing, PermissionDenied, Other }

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
            if (Statvfs.Get(stateDir, out var sv) == 0)
            {
                if (sv.ReadOnly) return $"{stateDir} is on a read-only filesystem";
                if (sv.AvailableBlocks == 0) return $"{stateDir} has no free space";
            }
            if (File.Exists(path) && !Statvfs.Writable(path)) return $"{path} is not writable";
            if (!Statvfs.Writable(stateDir)) return $"{stateDir} is not writable";
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
    public static HistoryStore? Open(string stateDir, out string? error, bool readOnly = false) => Open(stateDir, out error, out _, readOnly);

    /// <summary><see cref="Open(string, out string?, bool)"/>, also saying whether the database does not exist yet or
    /// cannot be read for lack of permission (a user who is not root, a state directory that is root's).</summary>
    public static HistoryStore? Open(string stateDir, out string? error, out OpenFailure failure, bool readOnly = false)
    {
        string path = System.IO.Path.Combine(stateDir, FileName);
        SqliteConnection? db = null;
        failure = OpenFailure.Other;
        try
        {
            if (readOnly)
            {
                int st = FsHealer.Interop.Statx.Owner(path, follow: true, out _, out _, out _);
                if (st == FsHealer.Text.Errno.ENOENT || st == FsHealer.Text.Errno.ENOTDIR)
                {
                    failure = OpenFailure.Missing;
                    error = $"{path}: no history yet (No such file or directory)";
                    return null;
                }
                if (st == FsHealer.Text.Errno.EACCES || (st == 0 && FsHealer.Interop.Libc.open(path, FsHealer.Interop.Libc.O_RDONLY | FsHealer.Interop.Libc.O_CLOEXEC) is var fd && CloseOrErrno(fd) == FsHealer.Text.Errno.EACCES))
                {
                    failure = OpenFailure.PermissionDenied;
                    error = $"{path}: permission denied (the history is readable by {OwnerName(stateDir)} only; run as root or with sudo)";
                    return null;
                }
            }
            else
            {
                if (FsHealer.Interop.PrivateState.Unsafe(stateDir) is { } unsafeDir) { error = unsafeDir; return null; }
                if (FsHealer.Interop.PrivateState.UnsafeFile(path) is { } unsafeFile) { error = unsafeFile; return null; }
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
                // before any table exists: a new database gives freed pages back to the filesystem on request
                if (Scalar(db, "SELECT count(*) FROM sqlite_master;") == 0) Exec(db, "PRAGMA auto_vacuum=INCREMENTAL;");
                Exec(db, "PRAGMA journal_mode=WAL;");
                Exec(db, "PRAGMA synchronous=NORMAL;");
                Exec(db, $"PRAGMA wal_autocheckpoint={WalAutoCheckpointPages};");
                Exec(db, $"PRAGMA journal_size_limit={WalSizeLimit};");
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
                version = 2;
            }
            if (version < 3 && !readOnly)
            {
                // version 3: free-text columns hold PathBytes.ToStorage text. Older text has no lone surrogates (SQLite
                // already replaced them), so doubling the backslashes is the whole conversion.
                using var tx = db.BeginTransaction();
                Exec(db, """
                    UPDATE events SET
                      mount = replace(mount, '\', '\\'), fs_type = replace(fs_type, '\', '\\'),
                      device = replace(device, '\', '\\'), path = replace(path, '\', '\\'),
                      structure = replace(structure, '\', '\\'), message = replace(message, '\', '\\'),
                      key = replace(key, '\', '\\')
                    WHERE instr(mount, '\') OR instr(fs_type, '\') OR instr(device, '\') OR instr(path, '\')
                      OR instr(structure, '\') OR instr(message, '\') OR instr(key, '\');
                    PRAGMA user_version=3;
                    """, tx);
                tx.Commit();
            }
            // Not part of schema version 1's definition: added to existing databases on their next read-write open
            // (an index changes no reader). Partial: only action-related events carry a correlation id.
            if (!readOnly) Exec(db, "CREATE INDEX IF NOT EXISTS events_correlation ON events(correlation_id) WHERE correlation_id IS NOT NULL;");
            // storm coalescing (also not part of version 1's definition; readers without them see 1 repeat per row)
            bool hasRepeats = HasColumn(db, "events", "repeats");
            if (!hasRepeats && !readOnly)
            {
                Exec(db, "ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;");
                Exec(db, "ALTER TABLE events ADD COLUMN last_time_ms INTEGER;");
                hasRepeats = true;
            }
            // an older database without auto_vacuum: convert once (VACUUM), so that pruning can shrink the file
            if (!readOnly && Scalar(db, "PRAGMA auto_vacuum;") == 0)
            {
                Exec(db, "PRAGMA auto_vacuum=INCREMENTAL;");
                Exec(db, "VACUUM;");
            }
            foreach (var suffix in new[] { "-wal", "-shm" })
                if (File.Exists(path + suffix)) TryChmod(path + suffix);
            error = null;
            failure = OpenFailure.None;
            return new HistoryStore(db, path, Scalar(db, "PRAGMA user_version;"), hasRepeats);
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            db?.Dispose();
            error = $"{path}: {e.Message}";
            return null;
        }
    }

    private static int CloseOrErrno(int fd)
    {
        if (fd < 0) return FsHealer.Interop.Libc.LastErrno;
        FsHealer.Interop.Libc.close(fd);
        return 0;
    }

    private static string OwnerName(string dir) =>
        FsHealer.Interop.Statx.Owner(dir, follow: true, out uint uid, out _, out _) == 0 ? (uid == 0 ? "root" : $"uid {uid}") : "its owner";

    private static bool HasColumn(SqliteConnection db, string table, string column)
    {
        using var c = db.CreateCommand();
        c.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = $n;";
        c.Parameters.AddWithValue("$n", column);
        return Convert.ToInt64(c.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
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
        using var ins = new Inserter(this, tx);
        foreach (var e in events) ins.Insert(e);
        tx.Commit();
    }

    /// <summary>
    /// Writes what the <see cref="StormCoalescer"/> decided, in one transaction: new rows are inserted (and bound to
    /// their slot after the commit), repeats add to their row's count and last time (one UPDATE per row per batch).
    /// A repeat whose row is unknown (its batch was lost) becomes a row of its own. Returns the rows inserted.
    /// </summary>
    public int Write(IReadOnlyList<HistoryOp> ops, StormCoalescer coalescer)
    {
        if (ops.Count == 0) return 0;
        try { return WriteBatch(ops, coalescer); }
        finally { coalescer.EndBatch(); }
    }

    private int WriteBatch(IReadOnlyList<HistoryOp> ops, StormCoalescer coalescer)
    {
        var binds = new List<(long Slot, long Row)>();
        var inBatch = new Dictionary<long, long>();
        var repeats = new Dictionary<long, (long N, long LastMs)>();
        int inserted = 0;
        using var tx = _db.BeginTransaction();
        using (var ins = new Inserter(this, tx))
        {
            foreach (var op in ops)
            {
                long? row = op.Repeat ? (inBatch.TryGetValue(op.Slot, out var r) ? r : coalescer.RowOf(op.Slot)) : null;
                if (op.Repeat && row is { } id)
                {
                    long t = op.Event.Time.ToUnixTimeMilliseconds();
                    var cur = repeats.GetValueOrDefault(id);
                    repeats[id] = (cur.N + 1, Math.Max(cur.LastMs, t));
                    continue;
                }
                if (op.Repeat) Unbound++;
                long newId = ins.Insert(op.Event);
                inserted++;
                if (op.Slot > 0 && !op.Repeat) { inBatch[op.Slot] = newId; binds.Add((op.Slot, newId)); }
            }
        }
        if (repeats.Count > 0)
        {
            if (!_hasRepeats) throw new InvalidOperationException("history database opened without the repeats column");
            using var up = _db.CreateCommand();
            up.Transaction = tx;
            up.CommandText = "UPDATE events SET repeats = repeats + $n, last_time_ms = max(coalesce(last_time_ms, time_ms), $t) WHERE id = $id;";
            var pn = up.Parameters.Add("$n", SqliteType.Integer);
            var pt = up.Parameters.Add("$t", SqliteType.Integer);
            var pid = up.Parameters.Add("$id", SqliteType.Integer);
            up.Prepare();
            foreach (var (id, (n, last)) in repeats)
            {
                pn.Value = n; pt.Value = last; pid.Value = id;
                up.ExecuteNonQuery();
            }
        }
        tx.Commit();
        foreach (var (slot, row) in binds) coalescer.Bind(slot, row);
        return inserted;
    }

    /// <summary>Repeats whose row was not known (its batch failed, or its window ended in the same batch) and that
    /// were recorded as rows of their own.</summary>
    public long Unbound { get; private set; }

    /// <summary>One prepared INSERT for a batch.</summary>
    private sealed class Inserter : IDisposable
    {
        private readonly SqliteCommand _c;
        private readonly SqliteParameter _t, _cl, _sev, _m, _fs, _dev, _ino, _p, _err, _st, _n, _msg, _cid, _key, _fsid;

        private readonly HistoryStore _store;

        public Inserter(HistoryStore store, SqliteTransaction tx)
        {
            _store = store;
            _c = store._db.CreateCommand();
            _c.Transaction = tx;
            _c.CommandText = """
                INSERT INTO events(time_ms, class, severity, mount, fs_type, device, inode, path, errno, structure, count, message, correlation_id, key, fs_id)
                VALUES($t, $cl, $sev, $m, $fs, $dev, $ino, $p, $err, $st, $n, $msg, $cid, $key, $fsid) RETURNING id;
                """;
            _t = _c.Parameters.Add("$t", SqliteType.Integer);
            _cl = _c.Parameters.Add("$cl", SqliteType.Text);
            _sev = _c.Parameters.Add("$sev", SqliteType.Text);
            _m = _c.Parameters.Add("$m", SqliteType.Text);
            _fs = _c.Parameters.Add("$fs", SqliteType.Text);
            _dev = _c.Parameters.Add("$dev", SqliteType.Text);
            _ino = _c.Parameters.Add("$ino", SqliteType.Integer);
            _p = _c.Parameters.Add("$p", SqliteType.Text);
            _err = _c.Parameters.Add("$err", SqliteType.Integer);
            _st = _c.Parameters.Add("$st", SqliteType.Text);
            _n = _c.Parameters.Add("$n", SqliteType.Integer);
            _msg = _c.Parameters.Add("$msg", SqliteType.Text);
            _cid = _c.Parameters.Add("$cid", SqliteType.Text);
            _key = _c.Parameters.Add("$key", SqliteType.Text);
            _fsid = _c.Parameters.Add("$fsid", SqliteType.Text);
            _c.Prepare();
        }

        public long Insert(FsEvent e)
        {
            _t.Value = e.Time.ToUnixTimeMilliseconds();
            _cl.Value = e.Class.ToString();
            _sev.Value = e.Severity.ToString();
            _m.Value = _store.In(e.Mount);
            _fs.Value = _store.In(e.FsType);
            _dev.Value = _store.InOrNull(e.Device);
            _ino.Value = e.Inode is { } i ? unchecked((long)i) : DBNull.Value;
            _p.Value = _store.InOrNull(e.Path);
            _err.Value = e.Errno is { } er ? er : DBNull.Value;
            _st.Value = _store.InOrNull(e.Structure);
            _n.Value = e.Count is { } n ? n : DBNull.Value;
            _msg.Value = _store.In(e.Message);
            _cid.Value = (object?)e.CorrelationId ?? DBNull.Value;
            _key.Value = _store.In(e.Key);
            _fsid.Value = (object?)e.FsId ?? DBNull.Value;
            return Convert.ToInt64(_c.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        public void Dispose() => _c.Dispose();
    }

    /// <summary>
    /// Retention: deletes events older than <see cref="HistoryRetention.MaxAge"/>, then the oldest ones until the
    /// database holds at most <see cref="HistoryRetention.MaxBytes"/>, in small transactions (a reader is never
    /// blocked long), gives the freed pages back (incremental vacuum) and truncates the WAL. Kept whatever their
    /// age, per filesystem: the newest successful check, the first attach, the latest attach/defer/detach and the
    /// policy decisions recorded after it — what status and check freshness read (by the same orderings:
    /// FreshnessFacts by time, PolicyEvents by recording order).
    /// </summary>
    public PruneResult Prune(FsHealer.Config.HistoryRetention retention, DateTimeOffset now)
    {
        Exec(_db, "CREATE TEMP TABLE IF NOT EXISTS keep(id INTEGER PRIMARY KEY);");
        // per filesystem: its identity where recorded (schema 2), else its mount point — as PolicyEvents and FreshnessFacts select
        Exec(_db, """
            DELETE FROM keep;
            INSERT OR IGNORE INTO keep SELECT id FROM (SELECT id, max(time_ms) FROM events
              WHERE class IN ('RepairSucceeded', 'RepairUnnecessary')
                 OR (class IN ('ScrubFinished', 'OfflineRepair') AND severity IN ('Debug', 'Info', 'Notice'))
              GROUP BY coalesce(fs_id, mount));
            INSERT OR IGNORE INTO keep SELECT id FROM (SELECT id, min(time_ms) FROM events WHERE class = 'Attached' GROUP BY coalesce(fs_id, mount));
            INSERT OR IGNORE INTO keep SELECT id FROM (SELECT id, min(time_ms) FROM events WHERE class = 'Attached' GROUP BY mount);
            INSERT OR IGNORE INTO keep SELECT max(id) FROM events WHERE class IN ('Attached', 'Deferred', 'Detached') GROUP BY coalesce(fs_id, mount);
            INSERT OR IGNORE INTO keep SELECT max(id) FROM events WHERE class IN ('Attached', 'Deferred', 'Detached') GROUP BY mount;
            INSERT OR IGNORE INTO keep SELECT e.id FROM events e
              JOIN (SELECT mount, max(id) AS b FROM events WHERE class IN ('Attached', 'Deferred', 'Detached') GROUP BY mount) x
                ON e.mount = x.mount AND e.id > x.b
              WHERE e.class = 'Decision' AND e.correlation_id IS NULL;
            INSERT OR IGNORE INTO keep SELECT e.id FROM events e
              JOIN (SELECT coalesce(fs_id, mount) AS k, max(id) AS b FROM events WHERE class IN ('Attached', 'Deferred', 'Detached') GROUP BY coalesce(fs_id, mount)) x
                ON coalesce(e.fs_id, e.mount) = x.k AND e.id > x.b
              WHERE e.class = 'Decision' AND e.correlation_id IS NULL;
            """);
        long byAge = DeleteChunks("time_ms < $cut", c => c.Parameters.AddWithValue("$cut", (now - retention.MaxAge).ToUnixTimeMilliseconds()), long.MaxValue);
        long bySize = 0;
        for (int round = 0; round < 8; round++)
        {
            long used = UsedBytes();
            if (used <= retention.MaxBytes) break;
            long rows = Count();
            if (rows == 0) break;
            // delete the oldest rows that take the database down to 90 % of the limit (by the average row size)
            long target = retention.MaxBytes * 9 / 10;
            long n = Math.Max(100, (long)Math.Ceiling((used - target) / Math.Max(1.0, (double)used / rows)));
            long d = DeleteChunks("1", null, n);
            bySize += d;
            if (d == 0) break;
            Exec(_db, "PRAGMA incremental_vacuum;");
        }
        Exec(_db, "DELETE FROM keep;");
        if (byAge + bySize > 0) Exec(_db, "PRAGMA incremental_vacuum;");
        Checkpoint();
        return new PruneResult(byAge, bySize, Count(), UsedBytes(), FileLength(Path), FileLength(Path + "-wal"));
    }

    // deletes up to `max` of the oldest rows matching `where` (not kept), 5000 per transaction
    private long DeleteChunks(string where, Action<SqliteCommand>? bind, long max)
    {
        long total = 0;
        while (total < max)
        {
            using var c = _db.CreateCommand();
            c.CommandText = $"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE {where} AND id NOT IN (SELECT id FROM keep) ORDER BY id LIMIT $n);";
            bind?.Invoke(c);
            c.Parameters.AddWithValue("$n", Math.Min(5000, max - total));
            int n = c.ExecuteNonQuery();
            total += n;
            if (n == 0) break;
        }
        return total;
    }

    /// <summary>Bytes the database uses (its pages minus the free ones).</summary>
    public long UsedBytes() => (Scalar(_db, "PRAGMA page_count;") - Scalar(_db, "PRAGMA freelist_count;")) * Scalar(_db, "PRAGMA page_size;");

    /// <summary>Checkpoints the WAL into the database and truncates the WAL file to zero bytes (when no reader holds
    /// an old snapshot; otherwise as much as it can). Returns true when the WAL was fully checkpointed.</summary>
    public bool Checkpoint()
    {
        using var c = _db.CreateCommand();
        c.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        using var r = c.ExecuteReader();
        return r.Read() && r.GetInt64(0) == 0;
    }

    public static long FileLength(string path)
    {
        try { return new FileInfo(path) is { Exists: true } f ? f.Length : 0; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }

    /// <summary>Newest first, at most <see cref="HistoryQuery.Limit"/> rows.</summary>
    public List<StoredEvent> Query(HistoryQuery q)
    {
        using var c = _db.CreateCommand();
        var where = new List<string>();
        if (q.Since is { } s) { where.Add("time_ms >= $since"); c.Parameters.AddWithValue("$since", s.ToUnixTimeMilliseconds()); }
        if (q.Fs is { } f) { where.Add(f.Where(_hasFsId)); f.Bind(c, In); }
        else if (q.Mount is { } m) { where.Add("mount = $mount"); c.Parameters.AddWithValue("$mount", In(m)); }
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
        fs.Bind(c, In);
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
        fs.Bind(c, In);
        using var r = c.ExecuteReader();
        if (!r.Read()) return (null, null);
        DateTimeOffset? At(int i) => r.IsDBNull(i) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(i));
        return (At(0), At(1));
    }

    // the columns every schema has, then fs_id (schema 2) and the storm columns (repeats, last_time_ms), or stand-ins
    private string Columns => ColumnsV1 + (_hasFsId ? ", fs_id" : ", NULL") + (_hasRepeats ? ", repeats, last_time_ms" : ", 1, NULL");
    private const string ColumnsV1 = "id, time_ms, class, severity, mount, fs_type, device, inode, path, errno, structure, count, message, correlation_id";

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
                Mount = Out(r.GetString(4)),
                FsType = Out(r.GetString(5)),
                Device = r.IsDBNull(6) ? null : Out(r.GetString(6)),
                Inode = r.IsDBNull(7) ? null : unchecked((ulong)r.GetInt64(7)),
                Path = r.IsDBNull(8) ? null : Out(r.GetString(8)),
                Errno = r.IsDBNull(9) ? null : r.GetInt32(9),
                Structure = r.IsDBNull(10) ? null : Out(r.GetString(10)),
                Count = r.IsDBNull(11) ? null : r.GetInt64(11),
                Message = Out(r.GetString(12)),
                CorrelationId = r.IsDBNull(13) ? null : r.GetString(13),
                FsId = r.IsDBNull(14) ? null : r.GetString(14),
            })
            {
                Repeats = r.IsDBNull(15) ? 1 : r.GetInt64(15),
                LastTime = r.IsDBNull(16) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(16)),
            });
        }
        return list;
    }

    public void Dispose() => _db.Dispose();
}
