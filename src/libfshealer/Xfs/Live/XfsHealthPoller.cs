using System.Diagnostics;
using FsHealer.Kmsg;
using FsHealer.Text;
using FsHealer.Xfs;
using FsHealer.Interop;
using FsHealer.Mounts.Live;

namespace FsHealer.Xfs.Live;

public sealed class XfsPollOptions
{
    /// <summary>Most inodes bulkstatted per poll; the walk resumes where it stopped next time. 0 = whole fs every poll.</summary>
    public int InodeBudget { get; init; }
    /// <summary>INUMBERS records (64-inode chunks) fetched per call.</summary>
    public int ChunksPerCall { get; init; } = 16;
}

/// <summary>Counters of one poll.</summary>
public readonly record struct XfsPollStats(int Chunks, int InodesScanned, int InodesFailed, int IoctlCalls, bool InodeWalkWrapped, TimeSpan Elapsed);

/// <summary>A poll outcome: the synthesized monitor events, fshealer diagnostics, and whether the fs is shut down.</summary>
public sealed class XfsPollResult
{
    public List<HealthMonitorEvent> Events { get; } = new();
    public List<string> Diagnostics { get; } = new();
    /// <summary>Inodes whose bulkstat failed this poll for the first time (ino, errno).</summary>
    public List<(ulong Ino, int Errno)> NewUnreadableInodes { get; } = new();
    public bool ShutDown { get; set; }
    /// <summary>False when the mount could not be opened or is not (any more) an XFS mount: nothing was read.</summary>
    public bool Complete { get; set; }
    public XfsPollStats Stats { get; set; }
}

/// <summary>What the kernel offers for this mount (probed once).</summary>
public readonly record struct XfsSupport(int ScrubErrno, int MonitorErrno)
{
    public bool HasOnlineRepair => ScrubErrno == 0;
    public bool HasHealthMonitor => MonitorErrno == 0;

    private static bool Missing(int e) => e is Errno.ENOTTY or Errno.EOPNOTSUPP;

    /// <summary>The one-time note, or null when the kernel has both facilities.</summary>
    public string? Note(string mountPoint)
    {
        if (HasOnlineRepair && HasHealthMonitor) return null;
        string scrub = HasOnlineRepair ? "available" : Missing(ScrubErrno) ? $"not supported ({Errno.Name(ScrubErrno)})" : $"unusable ({Errno.Name(ScrubErrno)}: {Errno.Message(ScrubErrno)})";
        string mon = HasHealthMonitor ? "available" : Missing(MonitorErrno) ? $"not supported ({Errno.Name(MonitorErrno)})" : $"unusable ({Errno.Name(MonitorErrno)}: {Errno.Message(MonitorErrno)})";
        return $"{mountPoint}: kernel health monitor (XFS_IOC_HEALTH_MONITOR) {mon}; online scrub/repair (XFS_IOC_SCRUB_METADATA) {scrub}. " +
               "Polling sick bits instead; sick metadata needs offline xfs_repair.";
    }
}

/// <summary>
/// Cost (measured on the 6.18 test VM, 2 vCPUs, loop device on a sparse file; see ScanCost kernel test): a full poll
/// of a healthy fs costs about 2–5 ms per 1,000 cached inodes (one INUMBERS call per 16 chunks, one BULKSTAT per
/// 64-inode chunk, ~1.1 ioctls per 64 inodes) and about 6–7 ms per 1,000 inodes when the inodes must be read
/// from disk. An unreadable inode costs one extra BULKSTAT the first time (plus the kernel's corruption logging,
/// ~17 ms per inode of a bad cluster); it is remembered and not retried. <see cref="XfsPollOptions.InodeBudget"/>
/// bounds the per-poll cost on big filesystems: the walk resumes where it stopped.
/// </summary>
/// <summary>
/// Polls one XFS mount's health state without the 7.0 health monitor: FSGEOMETRY sick, AG_GEOMETRY ag_sick per AG
/// and BULKSTAT bs_sick per inode (INUMBERS walk, one BULKSTAT per chunk, inode-by-inode retry past unreadable
/// inodes). The mount is opened only for the duration of a poll, so it never pins the filesystem. Each poll is
/// diffed against the previous one into the same <see cref="HealthMonitorEvent"/>s the monitor would send.
/// </summary>
public sealed class XfsHealthPoller
{
    private readonly XfsPollOptions _options;
    private HealthSnapshot _previous = HealthSnapshot.Empty;
    private readonly HashSet<ulong> _unreadable = new();
    private ulong _cursor;
    private bool _shutdownReported;
    private bool _everPolled;
    private bool _unmountReported;
    private Guid _uuid;
    private uint? _kmsgShutdownReasons;
    private bool _rtGroupsUnsupported;
    private XfsInodeLayout _layout;

    public string MountPoint { get; private set; }

    /// <summary>The same filesystem is now mounted at <paramref name="mountPoint"/> (mount --move): poll there; the
    /// health state and the inode walk carry on.</summary>
    public void MovedTo(string mountPoint) => MountPoint = mountPoint.Length > 1 ? mountPoint.TrimEnd('/') : mountPoint;

    /// <summary>The kernel's name for the data device ("loop3"), from /proc/self/mountinfo; null if unknown.</summary>
    public string? Device { get; private set; }
    public bool IsShutDown => _shutdownReported;
    public HealthSnapshot Current => _previous;

    public XfsHealthPoller(string mountPoint, XfsPollOptions? options = null)
    {
        MountPoint = mountPoint.Length > 1 ? mountPoint.TrimEnd('/') : mountPoint;
        _options = options ?? new XfsPollOptions();
        Device = LookupDevice(MountPoint);
    }

    public static string? LookupDevice(string mountPoint) =>
        MountTable.FindTopmost(mountPoint, out _)?.KernelDeviceName;

    /// <summary>Feed a recognised kernel log line. Returns true if it concerns this filesystem (a reason to poll now).</summary>
    public bool NoteKernelEvent(in KernelFsEvent e)
    {
        if (Device is null || e.Filesystem != "xfs" || !KmsgClassifier.SameDevice(e.Device, Device)) return false;
        if (e.Kind == KernelLogKind.Shutdown) _kmsgShutdownReasons = (_kmsgShutdownReasons ?? 0) | e.ShutdownReasons;
        return e.Kind != KernelLogKind.Other;
    }

    /// <summary>Feed every pending kernel log record to <see cref="NoteKernelEvent"/>. True if one concerned this
    /// filesystem, or records were overwritten before we read them (lines may be lost: poll to be safe).</summary>
    public bool DrainKernelLog(KmsgReader? kmsg, Action<string>? diagnostic)
    {
        if (kmsg is null) return false;
        bool relevant = false;
        foreach (var r in kmsg.ReadAvailable())
        {
            if (r.Overrun) relevant = true;
            if (r.Record is null) { if (r.Diagnostic is not null && !r.Overrun) diagnostic?.Invoke(r.Diagnostic); continue; }
            if (KmsgClassifier.Classify(r.Record.Message) is KernelFsEvent k && NoteKernelEvent(k)) relevant = true;
        }
        return relevant;
    }

    /// <summary>Probe scrub/repair and the health monitor on a short-lived fd of the mount root.</summary>
    public static XfsSupport ProbeSupport(string mountPoint, out string? diagnostic)
    {
        using var fd = Libc.Open(mountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int errno);
        if (fd.IsInvalid) { diagnostic = $"open {mountPoint}: {Errno.Name(errno)} ({Errno.Message(errno)})"; return new XfsSupport(errno, errno); }
        int g = XfsIoctl.GetGeometry(fd, out _);
        if (g != 0)
        {
            diagnostic = $"{mountPoint}: XFS_IOC_FSGEOMETRY: {Errno.Name(g)} ({Errno.Message(g)})" + (g == Errno.ENOTTY ? "; not an XFS filesystem" : "");
            return new XfsSupport(g, g);
        }
        int scrub = XfsIoctl.ProbeRepair(fd);
        using var mon = XfsIoctl.OpenHealthMonitor(fd, verbose: false, out int monErr);
        diagnostic = null;
        return new XfsSupport(scrub, monErr);
    }

    public XfsPollResult Poll(ulong timeNs = 0)
    {
        var result = new XfsPollResult();
        var sw = Stopwatch.StartNew();
        int calls = 0, chunks = 0, scanned = 0, failed = 0;
        bool wrapped = false;
        try
        {
            if (_shutdownReported) { result.ShutDown = true; return result; }
            using var fd = Libc.Open(MountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int errno);
            calls++;
            if (fd.IsInvalid)
            {
                if (errno == Errno.EIO) { ReportShutdown(result, timeNs, "open of the mount root"); return result; }
                result.Diagnostics.Add($"{MountPoint}: open: {Errno.Name(errno)} ({Errno.Message(errno)}); nothing polled");
                return result;
            }
            Span<byte> rawGeo = stackalloc byte[XfsAbi.FsGeometrySize];
            int e = XfsScan.FsGeometryRaw(fd, rawGeo);
            calls++;
            var geo = e == 0 ? XfsGeometry.Decode(rawGeo) : default;
            XfsInodeLayout.TryDecode(rawGeo, out _layout);
            if (e == Errno.EIO) { ReportShutdown(result, timeNs, "XFS_IOC_FSGEOMETRY"); return result; }
            if (e != 0)
            {
                if (e == Errno.ENOTTY && _everPolled && !_unmountReported)
                {
                    _unmountReported = true;
                    result.Events.Add(HealthMonitorEvent.Unmount(timeNs));
                }
                result.Diagnostics.Add($"{MountPoint}: XFS_IOC_FSGEOMETRY: {Errno.Name(e)} ({Errno.Message(e)})" + (e == Errno.ENOTTY ? "; not an XFS mount (unmounted?)" : ""));
                return result;
            }
            if (_everPolled && geo.Uuid != _uuid)
            {
                // another XFS (the parent fs, or a new mount) answers at this path: ours was unmounted
                if (!_unmountReported) { _unmountReported = true; result.Events.Add(HealthMonitorEvent.Unmount(timeNs)); }
                result.Diagnostics.Add($"{MountPoint}: filesystem UUID changed from {_uuid} to {geo.Uuid}: the polled filesystem was unmounted");
                return result;
            }
            _uuid = geo.Uuid;

            var cur = new HealthSnapshot { Fs = new HealthMasks(geo.Sick, geo.Checked) };
            foreach (var (ino, h) in _previous.Inodes) cur.Inodes[ino] = h; // carried unless rescanned

            // The inode walk first: INUMBERS itself can find a corrupt inobt and set ag_sick, which the AG pass then sees.
            e = WalkInodes(fd, cur, result, ref calls, ref chunks, ref scanned, ref failed, ref wrapped);
            if (e == Errno.EIO) { ReportShutdown(result, timeNs, "XFS_IOC_INUMBERS/BULKSTAT"); return result; }

            for (uint ag = 0; ag < geo.AgCount; ag++)
            {
                e = XfsScan.AgGeometry(fd, ag, out var ag1);
                calls++;
                if (e == Errno.EIO) { ReportShutdown(result, timeNs, $"XFS_IOC_AG_GEOMETRY agno {ag}"); return result; }
                if (e != 0) { result.Diagnostics.Add($"{MountPoint}: XFS_IOC_AG_GEOMETRY agno {ag}: {Errno.Name(e)} ({Errno.Message(e)})"); continue; }
                cur.Ags[ag] = new HealthMasks(ag1.Sick, ag1.Checked);
            }
            if (!_rtGroupsUnsupported)
            {
                for (uint rg = 0; ; rg++)
                {
                    e = XfsScan.RtGroupGeometry(fd, rg, out var g);
                    calls++;
                    if (e == Errno.EIO) { ReportShutdown(result, timeNs, $"XFS_IOC_RTGROUP_GEOMETRY rgno {rg}"); return result; }
                    if (e != 0)
                    {
                        // EINVAL at rgno 0: no rtgroups (or pre-6.13 kernel); at rgno N: past the last group.
                        if (rg == 0 && e is Errno.EINVAL or Errno.ENOTTY) _rtGroupsUnsupported = true;
                        break;
                    }
                    cur.RtGroups[rg] = new HealthMasks(g.Sick, g.Checked);
                }
            }

            result.Events.AddRange(HealthDiff.Diff(_previous, cur, timeNs));
            // keep only inodes with bits; an inode whose bits cleared has had its HEALTHY event now
            var prune = new List<ulong>();
            foreach (var (ino, h) in cur.Inodes) if ((h.Sick | h.Checked) == 0) prune.Add(ino);
            foreach (var ino in prune) cur.Inodes.Remove(ino);
            _previous = cur;
            _everPolled = true;
            result.Complete = true;
            return result;
        }
        finally
        {
            result.Stats = new XfsPollStats(chunks, scanned, failed, calls, wrapped, sw.Elapsed);
        }
    }

    private void ReportShutdown(XfsPollResult result, ulong timeNs, string what)
    {
        result.ShutDown = true;
        if (_shutdownReported) return;
        _shutdownReported = true;
        uint reasons = _kmsgShutdownReasons ?? 0;
        result.Events.Add(HealthMonitorEvent.Shutdown(reasons, timeNs));
        result.Diagnostics.Add(_kmsgShutdownReasons is null
            ? $"{MountPoint}: {what} failed with EIO: the filesystem is shut down; reason unknown (no kernel log line seen; this kernel has no health monitor to say why). No repair will be attempted while it is shut down; unmount and run xfs_repair."
            : $"{MountPoint}: {what} failed with EIO: the filesystem is shut down (reason from the kernel log). No repair will be attempted while it is shut down; unmount and run xfs_repair.");
    }

    /// <summary>Walk INUMBERS from the cursor, bulkstat per chunk, honour the budget. Returns EIO on shutdown, else 0.</summary>
    private int WalkInodes(SafeFd fd, HealthSnapshot cur, XfsPollResult result, ref int calls, ref int chunks, ref int scanned, ref int failed, ref bool wrapped)
    {
        int budget = _options.InodeBudget <= 0 ? int.MaxValue : _options.InodeBudget;
        var recs = new InumbersRecord[Math.Clamp(_options.ChunksPerCall, 1, 1024)];
        var stats = new BulkstatRecord[XfsScanAbi.InodesPerChunk];
        Span<ulong> inos = stackalloc ulong[XfsScanAbi.InodesPerChunk];
        ulong start = _cursor;
        bool restarted = false;
        while (scanned + failed < budget)
        {
            ulong cursor = _cursor;
            int e = XfsScan.Inumbers(fd, ref cursor, recs, out int n);
            calls++;
            if (e == Errno.EIO) return Errno.EIO;
            if (e != 0)
            {
                // a damaged inode btree: skip the rest of this AG (ag_sick tells which structure), go on with the next
                ulong? next = _layout.IsValid ? _layout.NextAgStart(_cursor) : null;
                result.Diagnostics.Add($"{MountPoint}: XFS_IOC_INUMBERS from ino {_cursor} (agno {(_layout.IsValid ? _layout.AgOf(_cursor) : 0)}): {Errno.Name(e)} ({Errno.Message(e)}); " +
                    (next is null ? "inode scan of the remaining AGs skipped this poll" : $"skipping to the next AG (ino {next})"));
                if (next is null) { _cursor = 0; wrapped = true; return 0; }
                _cursor = next.Value;
                if (restarted && _cursor >= start) return 0;
                continue;
            }
            if (n == 0)
            {
                PruneRange(cur, _cursor, ulong.MaxValue);
                _cursor = 0;
                wrapped = true;
                if (restarted || start == 0) return 0; // walked everything once this poll
                restarted = true;
                continue;
            }
            for (int i = 0; i < n; i++)
            {
                var chunk = recs[i];
                chunks++;
                if (restarted && chunk.StartIno >= start) { _cursor = chunk.StartIno; return 0; }
                int count = chunk.AllocatedInodes(inos);
                var seen = new HashSet<ulong>();
                bool chunkOk = false;
                if (!ContainsUnreadable(inos[..count]) && count > 0)
                {
                    e = XfsScan.Bulkstat(fd, chunk.StartIno, stats.AsSpan(0, count), out int got, out _);
                    calls++;
                    if (e == Errno.EIO) return Errno.EIO;
                    if (e == 0)
                    {
                        chunkOk = true;
                        for (int j = 0; j < got; j++)
                        {
                            var s = stats[j];
                            if (s.Ino < chunk.StartIno || s.Ino >= chunk.EndIno) continue;
                            Record(cur, s, seen);
                            scanned++;
                        }
                    }
                }
                // BULKSTAT returns success with fewer records when it hit an unreadable inode after filling some:
                // retry the allocated inodes it did not return, one by one
                if (!chunkOk || seen.Count < count)
                {
                    for (int j = 0; j < count; j++)
                    {
                        ulong ino = inos[j];
                        if (seen.Contains(ino)) continue;
                        if (_unreadable.Contains(ino)) { failed++; seen.Add(ino); continue; }
                        e = XfsScan.Bulkstat(fd, ino, stats.AsSpan(0, 1), out int got, out _);
                        calls++;
                        if (e == Errno.EIO) return Errno.EIO;
                        if (e != 0)
                        {
                            failed++;
                            seen.Add(ino);
                            if (_unreadable.Add(ino)) result.NewUnreadableInodes.Add((ino, e));
                            continue;
                        }
                        if (got == 1 && stats[0].Ino == ino) { Record(cur, stats[0], seen); scanned++; }
                    }
                }
                // inodes the previous snapshot knew in this chunk that are gone now: forget them
                foreach (var ino in cur.Inodes.Keys.Where(k => k >= chunk.StartIno && k < chunk.EndIno && !seen.Contains(k)).ToList())
                    cur.Inodes.Remove(ino);
                _cursor = chunk.EndIno;
                if (scanned + failed >= budget) return 0;
            }
            if (cursor > _cursor) _cursor = cursor;
        }
        return 0;
    }

    private bool ContainsUnreadable(ReadOnlySpan<ulong> inos)
    {
        if (_unreadable.Count == 0) return false;
        foreach (var i in inos) if (_unreadable.Contains(i)) return true;
        return false;
    }

    private void Record(HealthSnapshot cur, in BulkstatRecord s, HashSet<ulong> seen)
    {
        seen.Add(s.Ino);
        var h = new InodeHealth(s.Gen, s.Sick, s.Checked);
        if ((h.Sick | h.Checked) != 0 || cur.Inodes.ContainsKey(s.Ino)) cur.Inodes[s.Ino] = h;
    }

    private static void PruneRange(HealthSnapshot cur, ulong from, ulong to)
    {
        foreach (var ino in cur.Inodes.Keys.Where(k => k >= from && k < to).ToList()) cur.Inodes.Remove(ino);
    }
}
