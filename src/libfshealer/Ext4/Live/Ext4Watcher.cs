using FsHealer.Fanotify;
using FsHealer.Fanotify.Live;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;

namespace FsHealer.Ext4.Live;

/// <summary>
/// ext4 (and, from Linux 7.0, any filesystem that reports errors): a filesystem mark in the daemon's shared fanotify
/// FAN_FS_ERROR group, the sysfs error counters reconciled against the events (and polled alone when the kernel
/// refuses the mark — an ext4 with a null UUID has a zero fsid, ENODEV), and every error handed to the healing
/// pipeline, which applies the filesystem's policy (report / schedule a boot-time check / offline repair).
/// </summary>
public sealed class Ext4Watcher : IFsWatcher
{
    private readonly WatchedFilesystem _fs;
    private readonly DaemonContext _ctx;
    private readonly FsErrorGroup _group;
    public string How { get; }

    private Ext4Watcher(WatchedFilesystem fs, DaemonContext ctx, FsErrorGroup group, string how)
    {
        _fs = fs; _ctx = ctx; _group = group; How = how;
    }

    public static IFsWatcher? Create(WatchedFilesystem fs, DaemonContext ctx)
    {
        var group = ctx.AcquireErrorGroup(out var gerr);
        if (group is null)
        {
            ctx.Console.Err($"{fs.Path}: cannot watch filesystem errors: {gerr}");
            return null;
        }
        Ext4Watcher? w = null;
        int e = group.Add(fs, r => w?.OnReport(r), out var err, out bool pollOnly, out var sysfsProblem);
        if (e != 0)
        {
            ctx.ReleaseErrorGroup();
            ctx.Console.Err($"{fs.Path}: {err}");
            return null;
        }
        string policy = EffectivePolicyName(fs);
        string how = pollOnly
            ? $"sysfs error counters polled (fanotify refused the mark: {err}); policy {policy}"
            : sysfsProblem is null ? $"fanotify FAN_FS_ERROR + sysfs error counters; policy {policy}"
            : $"fanotify FAN_FS_ERROR only (sysfs error counters unreadable: {sysfsProblem}); policy {policy}";
        if (pollOnly) ctx.Console.Err($"{fs.Path}: fanotify cannot watch this filesystem ({err}); polling its sysfs error counters instead");
        else if (sysfsProblem is not null)
            ctx.Console.Err($"{fs.Path}: sysfs error counters unreadable ({sysfsProblem}): errors are seen through fanotify only; errors while nobody watched are not found");
        w = new Ext4Watcher(fs, ctx, group, how);
        return w;
    }

    private static string EffectivePolicyName(WatchedFilesystem fs) => FsHealer.Config.EffectivePolicy.Name(fs.Policy.Ext4);

    private void OnReport(FsErrorReport r)
    {
        string path = _fs.Path;
        _ctx.Console.Out(r.ToString());   // "<mount point>: ..." (the filesystem's current one)
        var cls = r.Event.Kind switch
        {
            FsErrorKind.Missed => EventClass.ErrorsMissed,
            FsErrorKind.Overflow => EventClass.EventsLost,
            _ => r.Event.Error == 5 ? EventClass.IoError : EventClass.MetadataCorrupt,
        };
        var e = _fs.Event(cls, Severity.Error, r.ToString()) with
        {
            Inode = r.Event.Inode, Path = r.Path, Errno = r.Event.Error, Count = r.Event.ErrorCount,
        };
        _ctx.Events.Publish(e);
        if (r.Event.Kind == FsErrorKind.Overflow) return;
        _ctx.Healing.Submit(_fs, $"{r.Event.ErrorName} reported");
    }

    public void Dispose()
    {
        _group.Remove(_fs);
        _ctx.ReleaseErrorGroup();
    }
}
