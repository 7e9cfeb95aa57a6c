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

    /// <summary>
    /// Add every item in order, waiting while the queue is full (a batch larger than the free space goes in as space
    /// frees up). One lock and at most one wake-up of the consumers per call, not per item. Returns whether it had to
    /// wait, and the depth after the last item; (false, -1) if the queue was completed. <paramref name="onFull"/> runs
    /// (under the queue's lock: keep it to a counter) each time the caller is about to wait for room.
    /// </summary>
    public (bool Blocked, int Depth) AddRange(ReadOnlySpan<T> items, Action? onFull = null)
    {
        bool blocked = false;
        lock (_lock)
        {
            while (!items.IsEmpty)
            {
                while (_count == _ring.Length && !_completed)
                {
                    blocked = true;
                    onFull?.Invoke();
                    Monitor.Wait(_lock);
                }
                if (_completed) return (blocked, -1);
                bool wasEmpty = _count == 0;
                int n = Math.Min(items.Length, _ring.Length - _count);
                int tail = (_head + _count) % _ring.Length;
                int first = Math.Min(n, _ring.Length - tail);
                items[..first].CopyTo(_ring.AsSpan(tail));
                items[first..n].CopyTo(_ring.AsSpan(0));
                _count += n;
                items = items[n..];
                if (wasEmpty) Monitor.PulseAll(_lock);
            }
            return (blocked, _count);
        }
    }

    private void Put(T item)
    {
        _ring[(_head + _count) % _ring.Length] = item;
        if (_count++ == 0) Monitor.PulseAll(_lock);
    }

    /// <summary>Take up to batch.Length items, waiting while empty. 0 = completed and drained.</summary>
    public int Take(Span<T> batch) => Take(batch, wait: true);

    /// <summary>Take up to batch.Length items without waiting; 0 when nothing is queued.</summary>
    public int TryTake(Span<T> batch) => Take(batch, wait: false);

    private int Take(Span<T> batch, bool wait)
    {
        lock (_lock)
        {
            while (_count == 0)
            {
                if (_completed || !wait) return 0;
                Monitor.Wait(_lock);
            }
            bool wasFull = _count == _ring.Length;
            int n = Math.Min(batch.Length, _count);
            int first = Math.Min(n, _ring.Length - _head);
            _ring.AsSpan(_head, first).CopyTo(batch);
            _ring.AsSpan(0, n - first).CopyTo(batch[first..]);
            if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                // let the GC have what was taken
                _ring.AsSpan(_head, first).Clear();
                _ring.AsSpan(0, n - first).Clear();
            }
            _head = (_head + n) % _ring.Length;
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
