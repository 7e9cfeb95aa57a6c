using System.Net.Sockets;
using System.Text;

namespace FsHealer.Service.Live;

/// <summary>sd_notify(3): datagrams to $NOTIFY_SOCKET ("@" = abstract namespace). A no-op outside systemd.</summary>
public sealed class SdNotify : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _ep;

    public SdNotify(string? socketPath = null)
    {
        socketPath ??= Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(socketPath)) return;
        if (socketPath[0] == '@') socketPath = "\0" + socketPath[1..];
        _ep = new UnixDomainSocketEndPoint(socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public bool Enabled => _socket is not null;

    /// <summary>Watchdog interval from $WATCHDOG_USEC (for this pid), or null.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString()) return null;
        return ulong.TryParse(usec, out var u) && u > 0 ? TimeSpan.FromMicroseconds(u) : null;
    }

    /// <summary>CLOCK_MONOTONIC in microseconds (MONOTONIC_USEC= of a RELOADING=1 message). Stopwatch's timestamp is
    /// CLOCK_MONOTONIC on Linux.</summary>
    public static long MonotonicMicroseconds() =>
        (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    public bool Send(string state)
    {
        if (_socket is null) return false;
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _ep!);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose() => _socket?.Dispose();
}
