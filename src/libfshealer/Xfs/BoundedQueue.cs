using FsHealer.Healing;
using FsHealer.Service;
namespace FsHealer.Xfs;

/// <summary>
/// A fixed-capacity blocking FIFO over one preallocated ring: Add waits while full, Take waits while empty,
/// Complete lets consumers drain and then stop. No allocation per item — unlike BlockingCollection over
/// ConcurrentQueue (segments grow to a million entries) or a bounded Channel used synchronously (a Task per wait),
/// which both grew the daemon's memory with the length of an event storm (measured in bench/README.md).
/// </summary>
public sealed class BoundedQueue<T>(int capacity)
{
    private readonly T[] _ring = new T[Math.Max(1, capacity)];
    private readonly object _lock = new();
    private int _head, _count;
    private bool _completed;

    public int Capacity => _ring.Length;
    public int Count { get { lock (_lock) return _count; } }

    /// <summary>Add without waiting; false when full (or completed).</summary>
    public bool TryAdd(T item)
    {
        lock (_lock)
        {
            if (_completed || _count == _ring.Length) return false;
            Put(item);
            return true;
        }
    }

    /// <summary>Add, waiting while the queue is full. False if the queue was completed.</summary>
    public bool Add(T item)
    {
        lock (_lock)
        {
            while (_count == _ring.Length && !_completed) Monitor.Wait(_lock);
            if (_completed) return false;
            Put(item);
            return true;
        }
    }

    private void Put(T item)
    {
        _ring[(_head + _count) % _ring.Length] = item;
        if (_count++ == 0) Monitor.PulseAll(_lock);
    }

    /// <summary>Take up to batch.Length items, waiting while empty. 0 = completed and drained.</summary>
    public int Take(Span<T> batch)
    {
        lock (_lock)
        {
            while (_count == 0)
            {
                if (_completed) return 0;
                Monitor.Wait(_lock);
            }
            bool wasFull = _count == _ring.Length;
            int n = Math.Min(batch.Length, _count);
            for (int i = 0; i < n; i++)
            {
                batch[i] = _ring[_head];
                _ring[_head] = default!;
                _head = (_head + 1) % _ring.Length;
            }
            _count -= n;
            if (wasFull || _completed) Monitor.PulseAll(_lock);
            return n;
        }
    }

    /// <summary>No more items: consumers drain what is queued, then Take returns 0.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            Monitor.PulseAll(_lock);
        }
    }
}
