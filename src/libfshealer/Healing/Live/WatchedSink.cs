using FsHealer.Model;

namespace FsHealer.Healing.Live;

/// <summary>
/// Events from a filesystem's engine (the xfs_healer engine, the btrfs healer) on their way to the daemon's hub: each
/// is stamped with the filesystem's identity and current mount point, and problems that online repair could not fix
/// (a failed repair, an unreadable inode) are handed to the healing pipeline.
/// </summary>
public sealed class WatchedSink(WatchedFilesystem fs, DaemonContext ctx, Func<FsEvent, string?>? escalate = null) : IEventSink
{
    public void Publish(FsEvent e)
    {
        var stamped = e.FsId is null ? e with { FsId = fs.Identity.Id, Device = e.Device ?? fs.Source } : e;
        ctx.Events.Publish(stamped);
        if (escalate?.Invoke(stamped) is { } reason) ctx.Healing.Submit(fs, reason);
    }
}
