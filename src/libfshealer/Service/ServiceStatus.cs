using FsHealer.Model;
using Text_ = FsHealer.Text.LogText;

namespace FsHealer.Service;

/// <summary>
/// The daemon's one-line STATUS= for systemd (<c>systemctl status fshealer</c>): how many filesystems it watches and
/// the last problem it saw, e.g. "watching 3 filesystem(s) (fanotify mount events); last problem 2026-12-05T19:00:03Z:
/// /srv: inode 133 bmapbtd sick". Learns problems as an event sink; <see cref="Version"/> changes with every new one,
/// so the daemon sends STATUS= only when the text would change.
/// </summary>
public sealed class ServiceStatus : IEventSink
{
    private readonly Lock _lock = new();
    private FsEvent? _lastProblem;
    private int _version;

    /// <summary>Problems: warnings and worse, except the daemon's own diagnostics.</summary>
    public static bool IsProblem(FsEvent e) => e.Severity >= Severity.Warning && e.Class != EventClass.Diagnostic;

    public void Publish(FsEvent e)
    {
        if (!IsProblem(e)) return;
        lock (_lock) { _lastProblem = e; _version++; }
    }

    public int Version { get { lock (_lock) return _version; } }

    /// <summary>The STATUS= text (one line, bounded: systemd shows it in `systemctl status`).</summary>
    public string Text(int watched, string how)
    {
        FsEvent? p;
        lock (_lock) p = _lastProblem;
        var s = $"watching {watched} filesystem(s) ({how})";
        if (p is not null) s += $"; last problem {p.Time.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}: {Text_.OneLine(p.Headline, 160)}";
        return s;
    }
}
