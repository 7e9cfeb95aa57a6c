using FsHealer.Btrfs;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Btrfs.Live;

/// <summary>
/// Runs BTRFS_IOC_SCRUB for one device on a worker thread, polls SCRUB_PROGRESS, and can be cancelled
/// (SCRUB_CANCEL) without hanging. Owns its own mountpoint fd (and /dev/kmsg fd), closed when the scrub ends.
/// With uncorrectable errors it maps the bad logical addresses from the kernel log to files.
/// </summary>
public sealed class BtrfsScrubRunner : IDisposable
{
    private readonly string _mountPoint;
    private readonly ScrubRequest _req;
    private readonly TimeSpan _pollInterval;
    private readonly Action<ulong, ScrubProgress>? _onProgress;
    private readonly Action<string>? _log;
    private readonly ManualResetEventSlim _done = new(false);
    private readonly object _lock = new();
    private SafeFd? _fd;
    private KmsgReader? _kmsg;
    private Thread? _worker, _poller;
    private volatile bool _cancelRequested;
    private ulong? _restoreSpeed;

    public ScrubOutcome? Outcome { get; private set; }
    public IReadOnlyList<DamagedExtent> Damaged { get; private set; } = [];
    public List<string> Notes { get; } = [];
    public ScrubRequest Request => _req;
    public bool IsDone => _done.IsSet;
    /// <summary>Scrub in the idle I/O class (the scheduled check's budget): the scrubbing thread gets ioprio idle.</summary>
    public bool IdleIo { get; init; }

    public BtrfsScrubRunner(string mountPoint, ScrubRequest req, TimeSpan? pollInterval = null,
        Action<ulong, ScrubProgress>? onProgress = null, Action<string>? log = null)
    {
        _mountPoint = mountPoint; _req = req; _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _onProgress = onProgress; _log = log;
    }

    /// <summary>Start the scrub. False (with Outcome set to Failed) if the mountpoint cannot be opened.</summary>
    public bool Start()
    {
        var fd = Libc.Open(_mountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int errno);
        if (fd.IsInvalid)
        {
            Outcome = new ScrubOutcome(ScrubOutcomeKind.Failed, _req.Devid, ScrubProgress.Empty, errno,
                $"scrub of {_req.Path} (devid {_req.Devid}): open {_mountPoint}: {Errno.Name(errno)}: {Errno.Message(errno)}");
            _done.Set();
            return false;
        }
        _fd = fd;
        // the kernel names damaged extents only in its log: read it from now on (the shared kmsg reader)
        _kmsg = KmsgReader.Open(out var kdiag);
        if (_kmsg is null) Notes.Add($"{kdiag}; damaged files cannot be named");

        if (_req.LimitBytesPerSecond is { } limit)
        {
            using var m = BtrfsMount.Open(_mountPoint, out var merr);
            if (m is null) Notes.Add($"bandwidth limit not applied: {merr}");
            else
            {
                var old = m.GetScrubSpeedMax(_req.Devid);
                var note = m.SetScrubSpeedMax(_req.Devid, limit);
                if (note is null) _restoreSpeed = old ?? 0; else Notes.Add(note);
            }
        }
        _worker = new Thread(Work) { IsBackground = true, Name = $"btrfs-scrub-{_req.Devid}" };
        _poller = new Thread(Poll) { IsBackground = true, Name = $"btrfs-scrub-progress-{_req.Devid}" };
        _worker.Start();
        _poller.Start();
        return true;
    }

    private void Work()
    {
        ScrubProgress? progress = null;
        int rc;
        if (IdleIo && IoPrio.SetIdleForThisThread() is int pe && pe != 0)
            Notes.Add($"ioprio_set(idle): {Errno.Name(pe)}: {Errno.Message(pe)}; scrubbing in the normal I/O class");
        if (_cancelRequested) rc = Errno.ECANCELED;
        else rc = BtrfsIoctl.Scrub(_fd!, _req.Devid, _req.ReadOnly, out progress);
        if (rc == Errno.EROFS && !_req.ReadOnly && !_cancelRequested)
        {
            // A repairing scrub is refused on a read-only mount: fall back to reporting only.
            Notes.Add($"{_mountPoint} is mounted read-only (EROFS); scrubbed read-only, nothing repaired");
            rc = BtrfsIoctl.Scrub(_fd!, _req.Devid, true, out progress);
        }
        var outcome = ScrubOutcome.Classify(_req.Devid, rc, progress, _req.Path);
        try
        {
            if (outcome.Kind == ScrubOutcomeKind.Completed && outcome.Uncorrectable > 0) ResolveDamage();
        }
        catch (Exception ex) { Notes.Add($"resolving damaged files failed: {ex.Message}"); }
        lock (_lock)
        {
            Outcome = outcome;
            RestoreSpeed();
            _kmsg?.Dispose(); _kmsg = null;
            _fd?.Dispose(); _fd = null;
        }
        _done.Set();
    }

    private void ResolveDamage()
    {
        if (_kmsg is null) return;
        // The kernel logs the error lines before the ioctl returns; a short grace read catches stragglers.
        var lines = _kmsg.ReadAvailable().Where(r => r.Record is not null).Select(r => r.Record!.Message).ToList();
        var logicals = DamageResolver.UncorrectedLogicals(lines, [_req.Path]);
        if (logicals.Count == 0)
        {
            Notes.Add("uncorrectable errors, but the kernel log named no addresses (rate-limited?); files not named");
            return;
        }
        Damaged = DamageResolver.Resolve(new FdLookup(_fd!), logicals, _mountPoint);
    }

    private void Poll()
    {
        while (!_done.Wait(_pollInterval))
        {
            SafeFd? fd;
            lock (_lock) fd = _fd;
            if (fd is null || _onProgress is null) continue;
            bool added = false;
            try
            {
                fd.DangerousAddRef(ref added);
                if (BtrfsIoctl.ScrubProgress(fd, _req.Devid, out var p) == 0 && p is not null) _onProgress(_req.Devid, p);
            }
            catch (ObjectDisposedException) { }
            finally { if (added) fd.DangerousRelease(); }
        }
    }

    /// <summary>Cancel the scrub (SCRUB_CANCEL, retried until the worker returns) and wait up to <paramref name="timeout"/>.</summary>
    public bool Cancel(TimeSpan? timeout = null)
    {
        _cancelRequested = true;
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!_done.IsSet && DateTime.UtcNow < deadline)
        {
            SafeFd? fd;
            lock (_lock) fd = _fd;
            if (fd is not null)
            {
                bool added = false;
                try { fd.DangerousAddRef(ref added); BtrfsIoctl.ScrubCancel(fd); }
                catch (ObjectDisposedException) { }
                finally { if (added) fd.DangerousRelease(); }
            }
            _done.Wait(TimeSpan.FromMilliseconds(100));
        }
        return Join(deadline - DateTime.UtcNow);
    }

    public bool Wait(TimeSpan timeout) => _done.Wait(timeout) && Join(TimeSpan.FromSeconds(5));

    private bool Join(TimeSpan t)
    {
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        bool ok = _worker?.Join(t) ?? true;
        ok &= _poller?.Join(TimeSpan.FromSeconds(5)) ?? true;
        return ok && _done.IsSet;
    }

    private void RestoreSpeed()
    {
        if (_restoreSpeed is not { } old) return;
        using var m = BtrfsMount.Open(_mountPoint, out _);
        var note = m?.SetScrubSpeedMax(_req.Devid, old);
        if (note is not null) Notes.Add($"could not restore scrub_speed_max: {note}");
        _restoreSpeed = null;
    }

    public void Dispose()
    {
        if (_worker is not null && !_done.IsSet) Cancel(TimeSpan.FromSeconds(30));
        lock (_lock)
        {
            if (_done.IsSet) { _kmsg?.Dispose(); _fd?.Dispose(); }
        }
    }

    private sealed class FdLookup(SafeFd fd) : IBtrfsInodeLookup
    {
        public ulong FdRootId { get; } = BtrfsIoctl.FdRootId(fd, out ulong r) == 0 ? r : BtrfsAbi.FsTreeObjectId;
        public int LogicalToInodes(ulong logical, out LogicalInoResult? result) => BtrfsIoctl.LogicalIno(fd, logical, out result);
        public int InodePaths(ulong inode, out InoPathsResult? result) => BtrfsIoctl.InoPaths(fd, inode, out result);
    }
}
