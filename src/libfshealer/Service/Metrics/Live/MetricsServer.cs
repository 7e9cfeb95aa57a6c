using System.Net;
using System.Net.Sockets;
using System.Text;
using FsHealer.Interop;
using FsHealer.Service.Metrics;

namespace FsHealer.Service.Metrics.Live;

/// <summary>
/// Serves <see cref="MetricsSink.Render"/> at <c>/metrics</c>: over HTTP on a loopback address (HttpListener) and/or
/// over a unix socket (a minimal HTTP/1.0 responder), and writes a node_exporter textfile atomically.
/// </summary>
public sealed class MetricsServer : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";
    private readonly MetricsSink _metrics;
    private readonly Action<string> _log;
    private HttpListener? _http;
    private Socket? _unix;
    private string? _unixPath;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Thread> _threads = [];

    public MetricsServer(MetricsSink metrics, Action<string>? log = null) { _metrics = metrics; _log = log ?? (_ => { }); }

    /// <summary>Starts every endpoint the settings enable; problems are logged (the daemon keeps running without
    /// metrics rather than failing). Returns null when metrics are off.</summary>
    public static MetricsServer? Start(MetricsSettings settings, MetricsSink metrics, Action<string> log)
    {
        if (!settings.Enabled) return null;
        var s = new MetricsServer(metrics, log);
        if (settings.Listen is { } l && s.StartHttp(l, out _) is { } e1) log(e1);
        if (settings.Socket is { } u && s.StartUnix(u) is { } e2) log(e2);
        if (settings.Textfile is { } t) s.StartTextfile(t, settings.TextfileInterval);
        return s;
    }

    /// <summary>Listens on http://HOST:PORT/metrics. Only loopback addresses are accepted (no TLS, no auth).</summary>
    public string? StartHttp(string hostPort, out int port)
    {
        if (!MetricsSettings.TryParseListen(hostPort, out var host, out port, out var error)) return $"metrics listen address {error}";
        var ip = IPAddress.Parse(host);
        try
        {
            var l = new HttpListener();
            l.Prefixes.Add($"http://{(ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString())}:{port}/");
            l.Start();
            _http = l;
        }
        catch (Exception ex) when (ex is HttpListenerException or SocketException or InvalidOperationException)
        {
            return $"metrics: cannot listen on {hostPort}: {ex.Message}";
        }
        Spawn(HttpLoop, "fshealer-metrics-http");
        return null;
    }

    private void HttpLoop()
    {
        while (!_cts.IsCancellationRequested && _http is { IsListening: true } l)
        {
            HttpListenerContext ctx;
            try { ctx = l.GetContext(); }
            catch (Exception ex) when (ex is HttpListenerException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                // a stopped listener ends the loop; anything a client did must not end it
                if (_cts.IsCancellationRequested || !l.IsListening) return;
                ClientFailure("http request", ex);
                continue;
            }
            try
            {
                var (status, ctype, body) = Respond(ctx.Request.HttpMethod, ctx.Request.Url?.AbsolutePath ?? "/");
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = ctype;
                ctx.Response.ContentLength64 = body.Length;
                ctx.Response.OutputStream.Write(body);
                ctx.Response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                // the client went away (reset, timeout) or sent something unusable: its problem, not the daemon's
                ClientFailure("http response", ex);
                try { ctx.Response.Abort(); } catch (Exception) { }
            }
        }
    }

    public (int Status, string ContentType, byte[] Body) Respond(string method, string path)
    {
        if (method != "GET" && method != "HEAD") return (405, "text/plain", "method not allowed\n"u8.ToArray());
        if (path == "/metrics") return (200, ContentType, Encoding.UTF8.GetBytes(_metrics.Render()));
        if (path == "/") return (200, "text/plain", "fshealer metrics: /metrics\n"u8.ToArray());
        return (404, "text/plain", "not found\n"u8.ToArray());
    }

    /// <summary>Listens on a unix socket (mode 0660). A stale socket file is replaced; another file is not.</summary>
    public string? StartUnix(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                if (Statx.Get(path, out var st) == 0 && st.FileType != Statx.S_IFSOCK)
                    return $"metrics socket {path}: exists and is not a socket (not replacing it)";
                File.Delete(path);
            }
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            s.Listen(16);
            _unix = s;
            _unixPath = path;
        }
        catch (Exception ex) when (ex is SocketException or IOException or UnauthorizedAccessException)
        {
            return $"metrics socket {path}: {ex.Message}";
        }
        Spawn(UnixLoop, "fshealer-metrics-unix");
        return null;
    }

    private void UnixLoop()
    {
        while (!_cts.IsCancellationRequested && _unix is { } s)
        {
            Socket c;
            try { c = s.Accept(); }
            catch (Exception) { return; }
            using (c)
            {
                try
                {
                    c.ReceiveTimeout = 5000;
                    c.SendTimeout = 5000;
                    var req = ReadHead(c);
                    var parts = req.Split(' ', 3);
                    var (status, ctype, body) = parts.Length >= 2 ? Respond(parts[0], parts[1].Split('?')[0]) : (400, "text/plain", "bad request\n"u8.ToArray());
                    var head = $"HTTP/1.0 {status} {(status == 200 ? "OK" : status == 404 ? "Not Found" : status == 405 ? "Method Not Allowed" : "Bad Request")}\r\nContent-Type: {ctype}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                    c.Send(Encoding.ASCII.GetBytes(head));
                    if (parts[0] != "HEAD") c.Send(body);
                    c.Shutdown(SocketShutdown.Both);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException) { ClientFailure("unix socket request", ex); }
            }
        }
    }

    private readonly Lock _failLock = new();
    private DateTime _lastFailureLog = DateTime.MinValue;
    private long _failuresSinceLog;

    /// <summary>Failures caused by clients (resets, timeouts, malformed requests). A client decides how many there are,
    /// so they are logged at most once per <see cref="ClientFailureLogInterval"/>, with a count, and as one escaped,
    /// bounded line: a client cannot flood, split or forge the daemon's log.</summary>
    private void ClientFailure(string what, Exception ex)
    {
        string? line = null;
        lock (_failLock)
        {
            _failuresSinceLog++;
            ClientFailures++;
            if (DateTime.UtcNow - _lastFailureLog >= ClientFailureLogInterval)
            {
                line = $"metrics: {_failuresSinceLog} failed client request(s) since the last report; latest: {what}: {FsHealer.Text.LogText.OneLine(ex.Message)}";
                _failuresSinceLog = 0;
                _lastFailureLog = DateTime.UtcNow;
            }
        }
        if (line is not null) _log(line);
    }

    /// <summary>Failed client requests so far (tests).</summary>
    public long ClientFailures { get; private set; }

    public static TimeSpan ClientFailureLogInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Reads up to the end of the request head (8 KiB at most); returns the request line.</summary>
    private static string ReadHead(Socket c)
    {
        var buf = new byte[8192];
        int n = 0;
        while (n < buf.Length)
        {
            int r = c.Receive(buf, n, buf.Length - n, SocketFlags.None);
            if (r <= 0) break;
            n += r;
            if (buf.AsSpan(0, n).IndexOf("\r\n\r\n"u8) >= 0 || buf.AsSpan(0, n).IndexOf("\n\n"u8) >= 0) break;
        }
        var text = Encoding.ASCII.GetString(buf, 0, n);
        int eol = text.IndexOf('\n');
        return (eol < 0 ? text : text[..eol]).TrimEnd('\r');
    }

    /// <summary>node_exporter textfile collector: write to a temp file in the same directory, fsync, rename.</summary>
    public static string? WriteTextfile(MetricsSink metrics, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(Encoding.UTF8.GetBytes(metrics.Render()));
                fs.Flush(flushToDisk: true);
            }
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.Move(tmp, path, overwrite: true);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (Exception) { }
            return $"metrics textfile {path}: {ex.Message}";
        }
    }

    /// <summary>Rewrites the textfile every <paramref name="interval"/> until disposed.</summary>
    public void StartTextfile(string path, TimeSpan interval)
    {
        Spawn(() =>
        {
            do
            {
                if (WriteTextfile(_metrics, path) is { } err) _log(err);
            } while (!_cts.Token.WaitHandle.WaitOne(interval));
        }, "fshealer-metrics-textfile");
    }

    private void Spawn(ThreadStart f, string name)
    {
        var t = new Thread(f) { IsBackground = true, Name = name };
        _threads.Add(t);
        t.Start();
    }

    public void Dispose()
    {
        if (_cts.IsCancellationRequested) return;
        _cts.Cancel();
        try { _http?.Stop(); _http?.Close(); } catch (Exception) { }
        _unix?.Dispose();
        if (_unixPath is not null) try { File.Delete(_unixPath); } catch (Exception) { }
        foreach (var t in _threads) t.Join(2000);
    }
}
