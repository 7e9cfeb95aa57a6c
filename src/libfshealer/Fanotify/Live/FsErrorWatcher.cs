using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Fanotify.Live;

/// <summary>A decoded error event with what the watcher knows about it.</summary>
public sealed record FsErrorReport(FsErrorEvent Event, string? MountPoint, string? Device, string? Path, string? PathNote,
    DateTimeOffset ReceivedAt)
{
    /// <summary>What the registration was added with (<see cref="FsErrorWatcher.Add"/>): the daemon's filesystem.</summary>
    public object? Tag { get; init; }

    public override string ToString()
    {
        var e = Event;
        string where = MountPoint ?? $"fsid {e.Fsid?.ToString() ?? "?"}";
        string path = Path is not null ? $" path {Path}" : PathNote is not null ? $" (path not resolved: {PathNote})" : "";
        return e.Kind switch
        {
            FsErrorKind.Overflow => "fanotify queue overflow: error events were lost; reconciling with ext4 counters",
            FsErrorKind.Missed => $"{where}: {e.ErrorCount} error(s) not reported by fanotify; last {e.ErrorName} ({e.ErrorMessage})" +
                (e.Inode is { } i ? $" inode {i}" : "") + (e.Notes.Count > 0 ? $": {string.Join("; ", e.Notes)}" : ""),
            _ => $"{where}: {e.ErrorName} ({e.ErrorMessage}) x{e.ErrorCount} on {e.Target}{path} pid {e.Pid}",
        };
    }
}

/// <summary>
/// Watches filesystems for FAN_FS_ERROR with one FAN_CLASS_NOTIF|FAN_REPORT_FID group and a FAN_MARK_FILESYSTEM mark per
/// filesystem. A reader thread decodes events, maps fsid → mount point, resolves paths safely (see
/// <see cref="HandleResolutionGuard"/>), and reconciles ext4's errors_count after overflows, when idle, and at
/// <see cref="Add"/> (errors that happened while nobody was watching).
/// </summary>
public sealed class FsErrorWatcher : IDisposable
{
    private sealed class Watched
    {
        public required Func<string> CurrentPath;
        public string MountPoint => CurrentPath();
        public required FsId Fsid;
        public object? Tag;
        /// <summary>No fanotify mark (the kernel refused one): errors are found by polling the sysfs counters only.</summary>
        public bool PollOnly;
        public string? Device;
        public Ext4ErrorReconciler? Reconciler;
        public string? ErrorsCountPath;
        /// <summary>Why the sysfs error counters cannot be read now (null: they can). Said once when it starts and once
        /// when it ends, not at every poll.</summary>
        public string? SysfsProblem;
    }

    private readonly SafeFd _group;
    private readonly SafeFd _stopRead, _stopWrite;
    private readonly object _lock = new();
    private readonly Dictionary<FsId, Watched> _byFsid = [];
    private readonly List<Watched> _pollOnly = [];
    private readonly HandleResolutionGuard _guard;
    private readonly bool _resolvePaths;
    private readonly Action<FsErrorReport> _sink;
    private readonly Action<string> _diag;
    private Thread? _thread;
    private volatile bool _stopping;

    /// <summary>How long the queue must be idle before errors_count is reconciled again.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(2);
    public long EventsRead => Interlocked.Read(ref _eventsRead);
    public long Resolutions => Interlocked.Read(ref _resolutions);
    private long _eventsRead, _resolutions;

    private FsErrorWatcher(SafeFd group, Action<FsErrorReport> sink, Action<string> diag, bool resolvePaths)
    {
        _group = group;
        (_stopRead, _stopWrite) = Libc.Pipe();
        _sink = sink;
        _diag = diag;
        _resolvePaths = resolvePaths;
        _guard = new HandleResolutionGuard(Libc.getpid());
    }

    /// <summary>Create the fanotify group. Returns null with a diagnostic (e.g. EPERM without CAP_SYS_ADMIN).</summary>
    public static FsErrorWatcher? Create(Action<FsErrorReport> sink, Action<string> diagnostics, bool resolvePaths, out string? error)
    {
        var g = FanotifySyscalls.Init(FanotifyAbi.FAN_CLASS_NOTIF | FanotifyAbi.FAN_REPORT_FID | FanotifyAbi.FAN_NONBLOCK, Libc.O_RDONLY, out int e);
        if (g.IsInvalid)
        {
            error = $"fanotify_init(FAN_CLASS_NOTIF|FAN_REPORT_FID): {Errno.Name(e)}: {Errno.Message(e)}";
            return null;
        }
        error = null;
        return new FsErrorWatcher(g, sink, diagnostics, resolvePaths);
    }

    /// <summary>Start watching the filesystem mounted at <paramref name="mountPoint"/>. Returns 0 or errno with a message.
    /// <paramref name="currentPath"/> tells where it is mounted later (it may move); <paramref name="tag"/> comes back in
    /// every report. When the kernel refuses the fanotify mark and <paramref name="allowPollOnly"/> is set (an ext4 whose
    /// fsid is zero — a null UUID — gets ENODEV), its sysfs error counters are polled instead: <paramref name="pollOnly"/>.</summary>
    public int Add(string mountPoint, out string? error, Func<string>? currentPath = null, object? tag = null,
        bool allowPollOnly = false) => Add(mountPoint, out error, out _, currentPath, tag, allowPollOnly);

    public int Add(string mountPoint, out string? error, out bool pollOnly, Func<string>? currentPath = null, object? tag = null,
        bool allowPollOnly = false)
    {
        error = null;
        pollOnly = false;
        int e = Statfs.Get(mountPoint, out long type, out var fsid);
        if (e != 0) { error = $"statfs({mountPoint}): {Errno.Name(e)}: {Errno.Message(e)}"; return e; }
        lock (_lock)
            if (_byFsid.ContainsKey(fsid) && !(fsid.IsZero && allowPollOnly))
            { error = $"{mountPoint}: filesystem fsid {fsid} is already watched"; return Errno.EEXIST; }
        // No fd is kept on the mount: it would make the filesystem busy and block an offline repair.
        e = FanotifySyscalls.Mark(_group, FanotifyAbi.FAN_MARK_ADD | FanotifyAbi.FAN_MARK_FILESYSTEM, FanotifyAbi.FAN_FS_ERROR, mountPoint);
        if (e != 0)
        {
            error = $"fanotify_mark(FAN_MARK_ADD|FAN_MARK_FILESYSTEM, FAN_FS_ERROR, {mountPoint}): {Errno.Name(e)}: {Errno.Message(e)}";
            if (!allowPollOnly || type != Statfs.EXT4_SUPER_MAGIC) return e;
            pollOnly = true;
        }
        var w = new Watched { CurrentPath = currentPath ?? (() => mountPoint), Fsid = fsid, Tag = tag, PollOnly = pollOnly };
        if (type == Statfs.EXT4_SUPER_MAGIC && Ext4SysfsReader.FindMount(mountPoint) is { } m && Ext4SysfsReader.DeviceName(m) is { } dev)
        {
            w.Device = dev;
            w.Reconciler = new Ext4ErrorReconciler(fsid, dev);
        }
        if (type == Statfs.EXT4_SUPER_MAGIC)
            w.SysfsProblem = w.Reconciler is null ? $"no block device found for {mountPoint} (its sysfs error counters cannot be located)"
                : SysfsUnreadable(w.Device!);
        if (pollOnly && w.SysfsProblem is not null)
        {
            error += $"; and its sysfs error counters cannot be read either ({w.SysfsProblem}): no working error signal, errors on this filesystem are not seen";
            pollOnly = false;
            return e;
        }
        lock (_lock)
        {
            if (pollOnly) _pollOnly.Add(w);
            else _byFsid[fsid] = w;
        }
        // Errors recorded before we started watching (daemon down): reported now from the persistent counter.
        if (w.Reconciler is not null) ReconcileOne(w);
        return 0;
    }

    /// <summary>Stop watching the registration added with <paramref name="tag"/>. Returns false if there was none.</summary>
    public bool RemoveTag(object tag)
    {
        Watched? w;
        lock (_lock)
        {
            w = _byFsid.Values.FirstOrDefault(x => ReferenceEquals(x.Tag, tag)) ?? _pollOnly.FirstOrDefault(x => ReferenceEquals(x.Tag, tag));
            if (w is null) return false;
            if (w.PollOnly) { _pollOnly.Remove(w); return true; }
            _byFsid.Remove(w.Fsid);
        }
        return RemoveMark(w);
    }

    /// <summary>Stop watching (the filesystem went away or is no longer wanted). Returns false if it was not watched.</summary>
    public bool Remove(string mountPoint)
    {
        Watched? w;
        lock (_lock)
        {
            w = _byFsid.Values.FirstOrDefault(x => x.MountPoint == mountPoint);
            if (w is null) return false;
            _byFsid.Remove(w.Fsid);
        }
        return RemoveMark(w);
    }

    private bool RemoveMark(Watched w)
    {
        string mountPoint = w.MountPoint;
        // The kernel drops the mark itself when the filesystem is unmounted; then this fails harmlessly.
        if (Statfs.Get(mountPoint, out _, out var now) == 0 && now == w.Fsid)
        {
            int e = FanotifySyscalls.Mark(_group, FanotifyAbi.FAN_MARK_REMOVE | FanotifyAbi.FAN_MARK_FILESYSTEM, FanotifyAbi.FAN_FS_ERROR, mountPoint);
            if (e != 0 && e != Errno.ENOENT) _diag($"fanotify_mark(FAN_MARK_REMOVE, {mountPoint}): {Errno.Name(e)}: {Errno.Message(e)}");
        }
        return true;
    }

    public IReadOnlyList<string> MountPoints { get { lock (_lock) return _byFsid.Values.Select(w => w.MountPoint).ToList(); } }

    public void Start()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "fshealer-fs-error" };
        _thread.Start();
    }

    private void Loop()
    {
        var buf = new byte[64 * 1024];
        var lastReconcile = DateTimeOffset.UtcNow;
        while (!_stopping)
        {
            int r = Poll.WaitReadable(_group, _stopRead, (int)Math.Max(50, ReconcileInterval.TotalMilliseconds));
            if (_stopping) break;
            if (r < 0) { _diag($"poll(fanotify): {Errno.Name(-r)}: {Errno.Message(-r)}"); Thread.Sleep(100); continue; }
            if (r == 0 || DateTimeOffset.UtcNow - lastReconcile > ReconcileInterval)
            {
                // Read the counters first, then drain: ext4 queues the event before it bumps errors_count,
                // so every error the counters show has its event in the queue by now.
                ReconcileAll(drainFirst: true, buf);
                lastReconcile = DateTimeOffset.UtcNow;
                continue;
            }
            Drain(buf);
        }
    }

    /// <summary>Read and deliver everything queued now. Returns the number of events.</summary>
    private int Drain(byte[] buf)
    {
        int total = 0;
        while (true)
        {
            int n = Libc.Read(_group, buf);
            if (n == -Errno.EAGAIN) return total;
            if (n < 0) { _diag($"read(fanotify): {Errno.Name(-n)}: {Errno.Message(-n)}"); return total; }
            if (n == 0) return total;
            var res = FsErrorDecoder.Decode(buf.AsSpan(0, n));
            foreach (int fd in res.StrayFds) Libc.close(fd);
            foreach (var d in res.Diagnostics) _diag($"fanotify: {d}");
            var now = DateTimeOffset.UtcNow;
            bool overflow = false;
            foreach (var ev in res.Events)
            {
                total++;
                Interlocked.Increment(ref _eventsRead);
                if (ev.Kind == FsErrorKind.Overflow) { overflow = true; Deliver(new FsErrorReport(ev, null, null, null, null, now)); continue; }
                Watched? w = null;
                if (ev.Fsid is { } id) lock (_lock) _byFsid.TryGetValue(id, out w);
                w?.Reconciler?.Observe(ev);
                string? path = null, note = null;
                if (_resolvePaths && w is not null && ev.Inode is not null)
                {
                    if (_guard.ShouldResolve(ev, now)) path = Resolve(w, ev, out note);
                    else note = _guard.LastReason;
                }
                foreach (var nt in ev.Notes) _diag($"{w?.MountPoint ?? "fanotify"}: {nt}");
                Deliver(new FsErrorReport(ev, w?.MountPoint, w?.Device, path, note, now) { Tag = w?.Tag });
            }
            if (overflow) ReconcileAll(drainFirst: false, buf);
        }
    }

    private string? Resolve(Watched w, FsErrorEvent ev, out string? note)
    {
        note = null;
        Interlocked.Increment(ref _resolutions);
        var h = new FileHandles.FileHandle(ev.HandleType, ev.Handle);
        using var mfd = Libc.Open(w.MountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int e); // not O_PATH: open_by_handle_at rejects it (EBADF)
        if (mfd.IsInvalid) { note = $"open({w.MountPoint}): {Errno.Name(e)}: {Errno.Message(e)}"; return null; }
        if (Statfs.Get(w.MountPoint, out _, out var fsid) != 0 || fsid != w.Fsid) { note = $"{w.MountPoint} no longer holds fsid {w.Fsid}"; return null; }
        using var fd = FileHandles.OpenByHandle(mfd, h, Libc.O_PATH, out e);
        if (fd.IsInvalid) { note = $"open_by_handle_at: {Errno.Name(e)}: {Errno.Message(e)}"; return null; }
        // the kernel's name for it, as bytes: a non-UTF-8 name stays exact (PathBytes)
        var path = Realpath.OfFd(fd, out e);
        if (path is null) note = $"readlink(/proc/self/fd): {Errno.Name(e)}: {Errno.Message(e)}";
        return path;
    }

    private void ReconcileAll(bool drainFirst, byte[] buf)
    {
        List<Watched> list;
        lock (_lock) list = _byFsid.Values.Concat(_pollOnly).Where(w => w.Reconciler is not null).ToList();
        // Idle cost: one small read per filesystem. The other attributes are read only when errors_count moved
        // (or cannot be read: the full read names the problem).
        var states = new List<Ext4SysfsState?>(list.Count);
        foreach (var w in list)
        {
            w.ErrorsCountPath ??= Ext4SysfsReader.ErrorsCountPath(w.Device!);
            var c = Ext4SysfsReader.ReadErrorsCount(w.ErrorsCountPath);
            // still unreadable and already said: nothing to read in full (that would be 16 failing opens a poll)
            if (c is null && w.SysfsProblem is not null) { states.Add(null); continue; }
            states.Add(c is { } n && w.Reconciler!.IsAccountedFor(n) && w.SysfsProblem is null ? null : Ext4SysfsReader.Read(w.Device!));
        }
        if (drainFirst) Drain(buf);
        for (int i = 0; i < list.Count; i++)
            if (states[i] is { } st) ReconcileOne(list[i], st);
    }

    /// <summary>Null when /sys/fs/ext4/DEV/errors_count reads as a number; otherwise what is wrong with it.</summary>
    private static string? SysfsUnreadable(string device)
    {
        if (Ext4SysfsReader.ReadErrorsCount(Ext4SysfsReader.ErrorsCountPath(device)) is not null) return null;
        var st = Ext4SysfsReader.Read(device);
        return st.Diagnostics.FirstOrDefault() ?? $"{Ext4SysfsReader.ErrorsCountPath(device)}: not a number";
    }

    /// <summary>Why the sysfs error counters of the filesystem added with <paramref name="tag"/> cannot be read (null:
    /// they can, or it is not watched).</summary>
    public string? SysfsProblemOf(object tag)
    {
        lock (_lock)
            return _byFsid.Values.Concat(_pollOnly).FirstOrDefault(w => ReferenceEquals(w.Tag, tag))?.SysfsProblem;
    }

    private void ReconcileOne(Watched w, Ext4SysfsState? state = null)
    {
        state ??= Ext4SysfsReader.Read(w.Device!);
        if (state.ErrorsCount is null)
        {
            // unreadable (sysfs not mounted in this namespace, the attribute gone): said once, not at every poll
            if (w.SysfsProblem is null)
            {
                w.SysfsProblem = state.Diagnostics.FirstOrDefault() ?? "errors_count unreadable";
                _diag($"{w.MountPoint}: sysfs error counters unreadable ({w.SysfsProblem}): " + (w.PollOnly
                    ? "no working error signal for this filesystem until they can be read again"
                    : "errors are seen through fanotify only; errors while nobody watched are not found"));
            }
            return;
        }
        if (w.SysfsProblem is not null)
        {
            _diag($"{w.MountPoint}: sysfs error counters readable again");
            w.SysfsProblem = null;
        }
        foreach (var d in state.Diagnostics) _diag($"{w.MountPoint}: {d}");
        var notes = new List<string>();
        var missed = w.Reconciler!.Reconcile(state, notes);
        foreach (var n in notes) _diag($"{w.MountPoint}: {n}");
        if (missed is not null) Deliver(new FsErrorReport(missed, w.MountPoint, w.Device, null, null, DateTimeOffset.UtcNow) { Tag = w.Tag });
    }

    private void Deliver(FsErrorReport r)
    {
        try { _sink(r); }
        catch (Exception e) { _diag($"error event consumer failed: {e.GetType().Name}: {e.Message}"); }
    }

    public void Dispose()
    {
        _stopping = true;
        Libc.WriteAll(_stopWrite, [1]);
        if (_thread is not null && Thread.CurrentThread != _thread) _thread.Join(TimeSpan.FromSeconds(5));
        lock (_lock) { _byFsid.Clear(); _pollOnly.Clear(); }
        _group.Dispose();
        _stopRead.Dispose();
        _stopWrite.Dispose();
    }
}
