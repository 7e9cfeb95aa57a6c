using FsHealer.Service.Journal;
using FsHealer.Model;

namespace FsHealer.Service.Notify;

/// <summary>Result of one delivery attempt to one destination.</summary>
public readonly record struct DeliveryResult(bool Ok, string Detail)
{
    public static DeliveryResult Success(string detail) => new(true, detail);
    public static DeliveryResult Failure(string detail) => new(false, detail);
}

/// <summary>A place messages go to (hook directory, sendmail, webhook). Must not throw; must redact secrets in
/// <see cref="Name"/> and in the detail it returns.</summary>
public interface INotifyDestination
{
    string Name { get; }
    DeliveryResult Send(NotifyMessage message);
}

/// <summary>
/// <see cref="IEventSink"/> that runs the <see cref="NotificationPolicy"/> and delivers its messages to every
/// destination on a background thread (Publish never blocks on a slow hook or webhook). A timer ticks the policy
/// for digests, resolved messages and heartbeats. The queue is bounded: when full, events are counted into the
/// policy anyway (they are cheap) and only delivery waits.
/// </summary>
public sealed class NotifyDispatcher : IEventSink, IDisposable
{
    private readonly NotificationPolicy _policy;
    private readonly IReadOnlyList<INotifyDestination> _destinations;
    private readonly Action<string> _log;
    private readonly Queue<NotifyMessage> _outbox = new();
    private readonly object _lock = new();
    private readonly Thread _worker;
    private readonly ITimer _timer;
    private bool _stopping;

    public NotifyDispatcher(NotificationPolicy policy, IReadOnlyList<INotifyDestination> destinations, TimeProvider time,
        Action<string> log, TimeSpan? tick = null)
    {
        _policy = policy;
        _destinations = destinations;
        _log = log;
        _worker = new Thread(Work) { IsBackground = true, Name = "fshealer-notify" };
        _worker.Start();
        var t = tick ?? TimeSpan.FromSeconds(10);
        _timer = time.CreateTimer(_ => Tick(), null, t, t);
    }

    public long Delivered { get; private set; }
    public long Failed { get; private set; }
    public int WatchedFilesystems { set { lock (_lock) _policy.WatchedFilesystems = value; } }

    public void Publish(FsEvent e)
    {
        lock (_lock)
        {
            foreach (var m in _policy.Offer(e)) Enqueue(m);
        }
    }

    /// <summary>When set, the heartbeat's filesystem count is read from it at every tick (e.g. <c>() => daemon.Watched</c>).</summary>
    public Func<int>? WatchedSource { get; set; }

    public void Tick()
    {
        int? watched = null;
        try { watched = WatchedSource?.Invoke(); } catch (Exception) { }
        lock (_lock)
        {
            if (watched is { } w) _policy.WatchedFilesystems = w;
            foreach (var m in _policy.Tick()) Enqueue(m);
        }
    }

    private void Enqueue(NotifyMessage m)
    {
        if (_outbox.Count >= 1000) { _log("notify: outbox full, dropping a message (destinations too slow)"); return; }
        _outbox.Enqueue(m);
        Monitor.PulseAll(_lock);
    }

    /// <summary>Waits until every queued message was delivered (tests, shutdown).</summary>
    public bool Drain(TimeSpan timeout)
    {
        var end = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (_outbox.Count > 0 || _busy)
            {
                var left = end - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(_lock, left);
            }
        }
        return true;
    }

    private bool _busy;

    private void Work()
    {
        while (true)
        {
            NotifyMessage m;
            lock (_lock)
            {
                while (_outbox.Count == 0 && !_stopping) Monitor.Wait(_lock);
                if (_outbox.Count == 0) return;
                m = _outbox.Dequeue();
                _busy = true;
            }
            foreach (var d in _destinations)
            {
                DeliveryResult r;
                try { r = d.Send(m); }
                catch (Exception ex) { r = DeliveryResult.Failure($"{ex.GetType().Name}: {ex.Message}"); }
                if (r.Ok) Delivered++;
                else { Failed++; _log($"notify: {d.Name}: {m.Kind} \"{m.Subject}\" failed: {r.Detail}"); }
            }
            lock (_lock) { _busy = false; Monitor.PulseAll(_lock); }
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            if (_policy.FlushDigest() is { } d) Enqueue(d);
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
        _worker.Join(TimeSpan.FromSeconds(30));
    }
}
