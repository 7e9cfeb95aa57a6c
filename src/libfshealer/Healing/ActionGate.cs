namespace FsHealer.Healing;

/// <summary>
/// The one rate limit of every healing action (full checks — xfs_scrub@ starts —, offline repairs, scheduled
/// checks): at most one start per window; a trigger inside a window is suppressed and doubles the next window (up to
/// <see cref="MaxInterval"/>, 16× by default), a quiet period of two windows resets it. Interval zero disables the
/// gate: every trigger starts (xfs_healer's behaviour for full checks, <c>full_check_interval_seconds: 0</c>).
/// xfs_healer starts a full check for every failed repair and every LOST event; an event storm would start it
/// thousands of times — hence the gate.
/// </summary>
public sealed class ActionGate(TimeSpan interval, TimeProvider time, TimeSpan? maxInterval = null)
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
