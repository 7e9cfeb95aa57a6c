using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;

namespace FsHealer.Xfs;

/// <summary>
/// A model of the Linux 7.0 XFS health monitor's kernel side (read from fs/xfs/xfs_healthmon.c; the record
/// layout is struct xfs_health_monitor_event in fs/xfs/libxfs/xfs_fs.h): RUNNING queued first; a bounded event queue (the kernel's ~32 KiB of internal event
/// objects) where overflow counts lost events and a LOST record goes in before the next event that fits (or adds
/// to a LOST at the tail); merging into the tail event by the documented rules; non-verbose delta filtering of
/// CORRUPT/HEALTHY against the in-core sick state; UNMOUNT inserted at the head, then detach and EOF after the
/// queue drains; read() returns whole 64-byte records only and blocks while nothing is pending.
/// It backs the simulated kernel of the scenario tests, the benchmarks and demos.
/// </summary>
public sealed class KernelHealthMonitorModel
{
    private readonly LinkedList<HealthMonitorEvent> _queue = new();
    private readonly object _lock = new();
    private readonly Dictionary<(HealthDomain, ulong, uint), uint> _sick = [];
    private ulong _lostPending;
    private bool _detached;
    private readonly Func<ulong> _clock;

    /// <summary>Max queued events (the kernel caps internal objects at 32 KiB; a few hundred events).</summary>
    public int Capacity { get; }
    public bool Verbose { get; set; }
    public long EventsQueued { get; private set; }
    public long EventsLost { get; private set; }
    public bool Detached { get { lock (_lock) return _detached; } }
    public int Pending { get { lock (_lock) return _queue.Count; } }

    public KernelHealthMonitorModel(bool verbose = false, int capacity = 32768 / 96, Func<ulong>? clock = null)
    {
        Verbose = verbose;
        Capacity = capacity;
        _clock = clock ?? (() => (ulong)DateTime.UtcNow.Subtract(DateTime.UnixEpoch).Ticks * 100);
        Enqueue(HealthMonitorEvent.Running(_clock()));
    }

    /// <summary>A metadata health transition (SICK by runtime code, CORRUPT by scrub, HEALTHY by scrub/repair).</summary>
    public void ReportMetadata(HealthDomain domain, HealthEventType type, uint mask, uint gno = 0, ulong ino = 0, uint gen = 0)
    {
        lock (_lock)
        {
            if (_detached) return;
            var key = (domain, domain == HealthDomain.Inode ? ino : gno, domain == HealthDomain.Inode ? gen : 0u);
            _sick.TryGetValue(key, out var old);
            uint reported = type switch
            {
                _ when Verbose => mask,
                HealthEventType.Sick => mask,
                HealthEventType.Corrupt => mask & ~old,
                HealthEventType.Healthy => mask & old,
                _ => mask,
            };
            _sick[key] = type == HealthEventType.Healthy ? old & ~mask : old | mask;
            if (reported == 0) return;
            var t = _clock();
            EnqueueLocked(domain switch
            {
                HealthDomain.Fs => HealthMonitorEvent.Fs(type, reported, t),
                HealthDomain.Inode => HealthMonitorEvent.Inode(type, ino, gen, reported, t),
                _ => HealthMonitorEvent.Group(domain, type, gno, reported, t),
            });
        }
    }

    public void ReportShutdown(uint reasons) => Enqueue(HealthMonitorEvent.Shutdown(reasons, _clock()));
    public void ReportMedia(HealthDomain device, ulong daddr, ulong bbcount) => Enqueue(HealthMonitorEvent.Media(device, daddr, bbcount, _clock()));
    public void ReportFileIo(HealthEventType type, ulong ino, uint gen, ulong pos, ulong len, uint error) =>
        Enqueue(HealthMonitorEvent.FileRange(type, ino, gen, pos, len, error, _clock()));

    /// <summary>Queue any raw record (including ones no kernel would send: unknown domains/types).</summary>
    public void Enqueue(HealthMonitorEvent e)
    {
        lock (_lock)
        {
            if (_detached) return;
            EnqueueLocked(e);
        }
    }

    /// <summary>Unmount: UNMOUNT goes to the head of the queue, the monitor detaches, read() hits EOF once drained.</summary>
    public void Unmount()
    {
        lock (_lock)
        {
            if (_detached) return;
            _queue.AddFirst(HealthMonitorEvent.Unmount(_clock()));
            _detached = true;
            Monitor.PulseAll(_lock);
        }
    }

    private void EnqueueLocked(HealthMonitorEvent e)
    {
        if (_queue.Count >= Capacity)
        {
            _lostPending++;
            EventsLost++;
            return;
        }
        if (_lostPending > 0)
        {
            if (_queue.Last is { } tail && tail.Value.Domain == HealthDomain.Mount && tail.Value.Type == HealthEventType.Lost)
                tail.Value = tail.Value with { W0 = tail.Value.LostCount + _lostPending };
            else
                _queue.AddLast(HealthMonitorEvent.Lost(_lostPending, e.TimeNs));
            _lostPending = 0;
        }
        if (_queue.Last is { } last && TryMerge(last.Value, e, out var merged))
            last.Value = merged;
        else
            _queue.AddLast(e);
        EventsQueued++;
        Monitor.PulseAll(_lock);
    }

    /// <summary>The kernel's merge rules (tail only, same domain and type).</summary>
    public static bool TryMerge(HealthMonitorEvent tail, HealthMonitorEvent e, out HealthMonitorEvent merged)
    {
        merged = tail;
        if (tail.Domain != e.Domain || tail.Type != e.Type) return false;
        switch (e.Type)
        {
            case HealthEventType.Running:
            case HealthEventType.Unmount:
                return false;
            case HealthEventType.Lost:
                merged = tail with { W0 = tail.LostCount + e.LostCount };
                return true;
            case HealthEventType.Shutdown:
                merged = tail with { W0 = tail.ShutdownReasons | e.ShutdownReasons };
                return true;
            case HealthEventType.Sick or HealthEventType.Corrupt or HealthEventType.Healthy:
                switch (e.Domain)
                {
                    case HealthDomain.Fs:
                        merged = tail with { W0 = tail.Mask | e.Mask };
                        return true;
                    case HealthDomain.Ag or HealthDomain.RtGroup when tail.GroupNumber == e.GroupNumber:
                        merged = tail with { W0 = (tail.Mask | e.Mask) | ((ulong)e.GroupNumber << 32) };
                        return true;
                    case HealthDomain.Inode when tail.InodeIno == e.InodeIno && tail.InodeGen == e.InodeGen:
                        merged = tail with { W0 = (tail.Mask | e.Mask) | ((ulong)e.InodeGen << 32) };
                        return true;
                }
                return false;
            case HealthEventType.MediaError:
                if (tail.MediaDaddr + tail.MediaBbCount == e.MediaDaddr)
                { merged = tail with { W1 = tail.MediaBbCount + e.MediaBbCount }; return true; }
                if (e.MediaDaddr + e.MediaBbCount == tail.MediaDaddr)
                { merged = tail with { W0 = e.MediaDaddr, W1 = tail.MediaBbCount + e.MediaBbCount }; return true; }
                return false;
            case >= HealthEventType.BufRead and <= HealthEventType.DataLost:
                if (tail.FileIno != e.FileIno || tail.FileGen != e.FileGen) return false;
                if (tail.FilePos + tail.FileLen == e.FilePos)
                { merged = tail with { W1 = tail.FileLen + e.FileLen }; return true; }
                if (e.FilePos + e.FileLen == tail.FilePos)
                { merged = tail with { W0 = e.FilePos, W1 = tail.FileLen + e.FileLen }; return true; }
                return false;
            default:
                return false;
        }
    }

    /// <summary>read(2) on the monitor fd: whole records only; blocks until events or detach; 0 = EOF.</summary>
    public int Read(Span<byte> buffer, int timeoutMs = Timeout.Infinite)
    {
        if (buffer.Length < HealthMonitorEvent.Size) return -Errno.EINVAL; // buffer must fit one record
        lock (_lock)
        {
            while (_queue.Count == 0)
            {
                if (_detached) return 0;
                if (!Monitor.Wait(_lock, timeoutMs)) return -Errno.EAGAIN;
            }
            int n = 0;
            while (_queue.First is { } first && buffer.Length - n >= HealthMonitorEvent.Size)
            {
                first.Value.Encode(buffer[n..]);
                _queue.RemoveFirst();
                n += HealthMonitorEvent.Size;
            }
            return n;
        }
    }
}
