using FsHealer.Service;
using FsHealer.Xfs;
namespace FsHealer.Healing;

/// <summary>
/// Rate limit for full filesystem checks (xfs_scrub@ starts). xfs_healer starts one for every failed repair and
/// every LOST event; an event storm would start it thousands of times. The gate allows at most one start per
/// window; a trigger inside a window is suppressed and doubles the next window (up to <see cref="MaxInterval"/>),
/// a quiet period of two windows resets it. Interval zero disables the gate (xfs_healer behaviour).
/// </summary>
public sealed class FullCheckGate(TimeSpan interval, TimeProvider time, TimeSpan? maxInterval = null)
{
    private readonly object _lock = new();
    private DateTimeOffset? _last;
    private TimeSpan _current = interval;

    public TimeSpan Interval { get; } = interval;
    public TimeSpan MaxInterval { get; } = maxInterval ?? TimeSpan.FromTicks(Math.Max(interval.Ticks * 16, interval.Ticks));
    public long Started { get; private set; }
    public long Suppressed { get; private set; }

    /// <summary>True: start now. False: suppressed until <paramref name="nextAllowed"/>.</summary>
    public bool TryAcquire(out DateTimeOffset nextAllowed)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            nextAllowed = now;
            if (Interval <= TimeSpan.Zero || _last is null)
            {
                _last = now;
                Started++;
                return true;
            }
            var since = now - _last.Value;
            if (since >= _current)
            {
                _current = since < _current * 2 ? Min(_current * 2, MaxInterval) : Interval;
                _last = now;
                Started++;
                return true;
            }
            Suppressed++;
            nextAllowed = _last.Value + _current;
            return false;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
