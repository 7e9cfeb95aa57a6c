using FsHealer.Fanotify;

namespace FsHealer.Ext4;

/// <summary>
/// Compares ext4's persistent errors_count with the errors fanotify reported. A rise the events do not explain becomes a
/// synthetic <see cref="FsErrorKind.Missed"/> event (errors that happened while the daemon was down, or were lost to
/// a queue overflow). Read the counters, then drain the event queue, then call <see cref="Reconcile"/>: ext4 queues the
/// event before it counts the error, and folds the count into the superblock (which sysfs shows) from deferred work,
/// so the counter can lag the events; reported errors beyond the counter's rise are carried over to the next round.
/// </summary>
public sealed class Ext4ErrorReconciler(FsId fsid, string device)
{
    private ulong? _accounted;   // errors_count value explained so far
    private ulong _reported;     // errors reported by events since the last reconcile

    public FsId Fsid { get; } = fsid;
    public string Device { get; } = device;

    /// <summary>Account for an event on this filesystem.</summary>
    public void Observe(FsErrorEvent ev)
    {
        if (ev.Kind == FsErrorKind.Error && ev.Fsid == Fsid) _reported += Math.Max(ev.ErrorCount, 1u);
    }

    /// <summary>True when <see cref="Reconcile"/> with this errors_count would change nothing and report nothing (the
    /// counter is where it was last accounted): the caller may skip reading the other attributes.</summary>
    public bool IsAccountedFor(ulong errorsCount) => _accounted == errorsCount;

    /// <summary>
    /// First call: any recorded errors are reported as missed (they predate the watcher). Later calls: the counter
    /// rise minus the errors reported by events. Returns null when everything is accounted for.
    /// </summary>
    public FsErrorEvent? Reconcile(Ext4SysfsState state, List<string>? notes = null)
    {
        if (state.ErrorsCount is not { } now) { notes?.Add($"{Device}: errors_count unreadable, cannot reconcile"); return null; }
        ulong missed;
        string why;
        if (_accounted is not { } before)
        {
            missed = now;
            why = $"{now} error(s) recorded on {Device} before the watcher started";
        }
        else if (now < before)
        {
            notes?.Add($"{Device}: errors_count fell from {before} to {now} (e2fsck or a new filesystem); new baseline");
            _accounted = now; _reported = 0;
            return null;
        }
        else
        {
            ulong rise = now - before;
            missed = rise > _reported ? rise - _reported : 0;
            why = $"errors_count on {Device} rose from {before} to {now}, events reported {_reported}";
            // Events folded after the counter was read are carried over to the next round.
            _accounted = now; _reported = _reported > rise ? _reported - rise : 0;
            return missed == 0 ? null : MissedEvent(state, missed, why);
        }
        _accounted = now; _reported = 0;
        return missed == 0 ? null : MissedEvent(state, missed, why);
    }

    private FsErrorEvent MissedEvent(Ext4SysfsState state, ulong missed, string why)
    {
        var last = state.LastError;
        return new FsErrorEvent
        {
            Kind = FsErrorKind.Missed, Fsid = Fsid,
            FilesystemWide = last is null || last.Inode == 0 || last.Inode > uint.MaxValue,
            Inode = last is { Inode: > 0 and <= uint.MaxValue } ? (uint)last.Inode : null,
            HandleType = FileIdTypes.FILEID_INVALID,
            Error = last is null ? Text.Errno.EFSCORRUPTED : Ext4ErrorCodes.ToErrno(last.ErrCode),
            ErrorCount = (uint)Math.Min(missed, uint.MaxValue),
            Notes = last is null ? [why] : [why, $"last error: {last}"],
        };
    }
}
