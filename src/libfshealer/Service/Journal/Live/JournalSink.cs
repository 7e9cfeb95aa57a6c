using System.Net.Sockets;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Service.Journal.Live;

/// <summary>
/// Logs events to the systemd journal through its native protocol (one datagram per entry on
/// /run/systemd/journal/socket) with structured fields: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=fshealer, MESSAGE_ID
/// (per event class), MOUNT, DEVICE, INODE, FSTYPE, ERRNO, ... When no journal is there, or a send fails, the
/// entry is written as a plain line (<c>&lt;prio&gt;fshealer: ...</c>) to the fallback writer (stderr).
/// </summary>
public sealed class JournalSink : IEventSink, IDisposable
{
    public const string DefaultSocket = "/run/systemd/journal/socket";
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly TextWriter _fallback;
    private readonly object _lock = new();
    private bool _reportedFailure;

    public bool UsesJournal => _socket is not null;
    public long Sent { get; private set; }
    public long FellBack { get; private set; }

    private JournalSink(string? socketPath, TextWriter fallback)
    {
        _fallback = fallback;
        if (socketPath is null) return;
        try
        {
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            _socket.SendBufferSize = 8 * 1024 * 1024;
            _endpoint = new UnixDomainSocketEndPoint(socketPath);
        }
        catch (SocketException) { _socket?.Dispose(); _socket = null; }
    }

    /// <summary>Journal when <c>$JOURNAL_STREAM</c> is set or the socket exists; plain lines otherwise.</summary>
    public static JournalSink Create(TextWriter fallback, string socketPath = DefaultSocket, string? journalStream = null)
    {
        journalStream ??= Environment.GetEnvironmentVariable("JOURNAL_STREAM");
        bool use = File.Exists(socketPath) || (!string.IsNullOrEmpty(journalStream) && Directory.Exists(Path.GetDirectoryName(socketPath)));
        return new JournalSink(use ? socketPath : null, fallback);
    }

    public void Publish(FsEvent e) => Send(JournalFormat.Fields(e), JournalFormat.PlainLine(e));

    /// <summary>Sends arbitrary fields (the daemon's own log lines).</summary>
    public void Log(Severity severity, string message, params KeyValuePair<string, string>[] extra)
    {
        var fields = JournalFormat.LogFields(severity, message);
        fields.AddRange(extra);
        Send(fields, JournalFormat.PlainLine(severity, message));
    }

    private void Send(List<KeyValuePair<string, string>> fields, string plain)
    {
        lock (_lock)
        {
            if (_socket is not null)
            {
                try
                {
                    _socket.SendTo(JournalFormat.Encode(fields), _endpoint!);
                    Sent++;
                    return;
                }
                catch (SocketException ex)
                {
                    // EMSGSIZE (huge entry) or the journal went away: fall back to a plain line for this entry.
                    if (!_reportedFailure) { _reportedFailure = true; _fallback.WriteLine($"fshealer: journal socket: {ex.SocketErrorCode}: {ex.Message}; using plain lines"); }
                }
            }
            FellBack++;
            _fallback.WriteLine(plain);
            _fallback.Flush();
        }
    }

    public void Dispose() => _socket?.Dispose();
}
