using System.Collections.Concurrent;
using FsHealer.Healing;
using FsHealer.Healing.Live;

namespace FsHealer.Fanotify.Live;

/// <summary>
/// The daemon's one FAN_FS_ERROR group (<see cref="FsErrorWatcher"/>), owned by its <see cref="DaemonContext"/>: each
/// filesystem registers with a handler; reports are queued by the reader thread and handed to the handler of the
/// filesystem they belong to on a consumer thread of this group (a slow heal decision never stalls the reader).
/// </summary>
public sealed class FsErrorGroup : IDisposable
{
    private readonly FsErrorWatcher _watcher;
    private readonly BlockingCollection<FsErrorReport> _reports = new(new ConcurrentQueue<FsErrorReport>(), 65536);
    private readonly ConcurrentDictionary<WatchedFilesystem, Action<FsErrorReport>> _handlers = new();
    private readonly Thread _consumer;
    private readonly Action<string> _err;

    private FsErrorGroup(FsErrorWatcher watcher, Action<string> err)
    {
        _watcher = watcher;
        _err = err;
        _consumer = new Thread(Consume) { IsBackground = true, Name = "fshealer-fs-error-consumer" };
        _consumer.Start();
    }

    public static FsErrorGroup? Create(DaemonContext ctx, bool resolvePaths, out string? error)
    {
        void Err(string s) { try { ctx.Console.Err(s); } catch (Exception) { } }
        FsErrorGroup? group = null;
        var w = FsErrorWatcher.Create(r =>
        {
            if (group is null || !group._reports.TryAdd(r))
                Err($"{r.MountPoint ?? "?"}: error report queue full; the sysfs counters will account for it");
        }, d => Err($"fshealer: {d}"), resolvePaths, out error);
        if (w is null) return null;
        group = new FsErrorGroup(w, Err);
        w.Start();
        return group;
    }

    /// <summary>Watch <paramref name="fs"/>. 0, or errno with <paramref name="error"/>. <paramref name="pollOnly"/>: the
    /// kernel refused the fanotify mark, its sysfs error counters are polled instead.
    /// <paramref name="sysfsProblem"/>: why its sysfs error counters cannot be read (fanotify alone then).</summary>
    public int Add(WatchedFilesystem fs, Action<FsErrorReport> handler, out string? error, out bool pollOnly, out string? sysfsProblem)
    {
        _handlers[fs] = handler;
        sysfsProblem = null;
        int e = _watcher.Add(fs.Path, out error, out pollOnly, () => fs.Path, fs, allowPollOnly: fs.FsType == "ext4");
        if (e != 0 && !pollOnly) { _handlers.TryRemove(fs, out _); return e; }
        sysfsProblem = _watcher.SysfsProblemOf(fs);
        return 0;
    }

    public void Remove(WatchedFilesystem fs)
    {
        _watcher.RemoveTag(fs);
        _handlers.TryRemove(fs, out _);
    }

    private void Consume()
    {
        foreach (var r in _reports.GetConsumingEnumerable())
        {
            if (r.Tag is WatchedFilesystem fs && _handlers.TryGetValue(fs, out var h))
            {
                try { h(r); }
                catch (Exception e) { _err($"{fs.Path}: error report handler failed: {e.GetType().Name}: {e.Message}"); }
            }
            else if (r.Event.Kind == FsErrorKind.Overflow)
                foreach (var (_, handler) in _handlers)
                    try { handler(r); } catch (Exception e) { _err($"error report handler failed: {e.Message}"); }
            else _err($"{r.MountPoint ?? $"fsid {r.Event.Fsid}"}: error report for a filesystem that is no longer watched: {r}");
        }
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _reports.CompleteAdding();
        _consumer.Join(TimeSpan.FromSeconds(5));
        _reports.Dispose();
    }
}
