using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Service.Journal.Live;

/// <summary>
/// Under systemd (<c>$JOURNAL_STREAM</c> set) the daemon's console and its events go to the journal through one
/// writer, so each event is one record: the event's native record (MESSAGE_ID, MOUNT, DEVICE, ...). The console line
/// the daemon prints for the same event (its text is the event's message or headline, possibly with more after it) is
/// dropped (also when it is the event's text after a "MOUNT: " prefix). Every other line becomes a native record too, with a priority (stdout: info, stderr: warning), instead of
/// an unprioritised stdout line. A line printed just before its event is held back for up to <see cref="Hold"/>,
/// waiting for the event; a line printed after its event is recognised among the events of the last
/// <see cref="Recent"/>.
/// </summary>
public sealed class JournalConsole : IHealerConsole, IEventSink, IDisposable
{
    /// <summary>A line waits this long for its event: the daemon may do slow work between the two (the attach line, then
    /// the block-device walk, then the event: 100 ms was not enough on a loaded machine). Lines reach the journal at
    /// most this late; their order among themselves is kept.</summary>
    public static readonly TimeSpan Hold = TimeSpan.FromSeconds(1), Recent = TimeSpan.FromSeconds(2);
    private const int MaxRecent = 256, MinMatch = 8;
    private readonly JournalSink _sink;
    private readonly Lock _lock = new();
    private readonly List<(string Line, Severity Severity, DateTime At)> _pending = [];
    private readonly LinkedList<(string Headline, string Message, DateTime At)> _recent = new();
    private readonly Timer _timer;

    private readonly bool _ownsSink;

    public JournalConsole(JournalSink sink, bool ownsSink = false)
    {
        _sink = sink;
        _ownsSink = ownsSink;
        _timer = new Timer(_ => Flush(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Lines dropped because their event's record says the same (tests).</summary>
    public long Merged { get; private set; }

    public void Out(ReadOnlySpan<char> line) => Line(line.ToString(), Severity.Info);
    public void Err(ReadOnlySpan<char> line) => Line(line.ToString(), Severity.Warning);

    private static bool Matches(string line, string headline, string message) =>
        Prefix(line, headline) || Prefix(line, message) || Suffix(line, headline) || Suffix(line, message);

    /// <summary>"MOUNT: " + the event's text (some watchers print the mount point before a message that names it).</summary>
    private static bool Suffix(string line, string text) =>
        text.Length >= 2 * MinMatch && line.Length > text.Length && line.EndsWith(text, StringComparison.Ordinal) && line[^(text.Length + 1)] == ' ';

    private static bool Prefix(string line, string text) =>
        text.Length >= MinMatch && line.StartsWith(text, StringComparison.Ordinal)
        && (line.Length == text.Length || line[text.Length] is ';' or ' ' or ':' or ',' or '.' or '(');

    private void Line(string line, Severity severity)
    {
        lock (_lock)
        {
            Prune(DateTime.UtcNow);
            foreach (var r in _recent)
                if (Matches(line, r.Headline, r.Message)) { Merged++; return; }
            _pending.Add((line, severity, DateTime.UtcNow));
            if (_pending.Count == 1) _timer.Change(Hold, Timeout.InfiniteTimeSpan);
        }
    }

    public void Publish(FsEvent e)
    {
        var headline = e.Headline;
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            Prune(now);
            int before = _pending.Count;
            _pending.RemoveAll(p => Matches(p.Line, headline, e.Message));
            Merged += before - _pending.Count;
            _recent.AddLast((headline, e.Message, now));
            if (_recent.Count > MaxRecent) _recent.RemoveFirst();
            // the lines before this event keep their place: send them first
            SendPending();
            _sink.Publish(e);
        }
    }

    private void Prune(DateTime now)
    {
        while (_recent.First is { } f && now - f.Value.At > Recent) _recent.RemoveFirst();
    }

    private void SendPending()
    {
        foreach (var (line, severity, _) in _pending) _sink.Log(severity, line);
        _pending.Clear();
    }

    /// <summary>Send the held lines now (the timer does this <see cref="Hold"/> after the first one; the xfs_healer engine
    /// when it has nothing left to do or is about to start systemctl, by which time a line's event has been published).</summary>
    public void Flush()
    {
        lock (_lock) SendPending();
    }

    public void Dispose()
    {
        _timer.Dispose();
        Flush();
        if (_ownsSink) _sink.Dispose();
    }
}
