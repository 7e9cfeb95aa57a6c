using System.Net;
using System.Net.Sockets;
using System.Text;
using FsHealer.Service.Metrics;
using FsHealer.Model;
using FsHealer.Service.Metrics.Live;

namespace FsHealer.Scenario.Tests.Metrics;

public class MetricsServerTests
{
    private static MetricsSink Sample()
    {
        var m = new MetricsSink();
        m.SetUp(true, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));
        m.SetWatched(1);
        m.Publish(new FsEvent { Class = EventClass.MetadataSick, Severity = Severity.Error, Mount = "/srv", FsType = "xfs", Message = "x" });
        return m;
    }

    private static int FreePort()
    {
        var p = new TcpListener(IPAddress.Loopback, 0);
        p.Start();
        int port = ((IPEndPoint)p.LocalEndpoint).Port;
        p.Stop();
        return port;
    }

    [Fact]
    public async Task Http_scrape_on_loopback()
    {
        var m = Sample();
        using var s = new MetricsServer(m);
        string? err = null;
        int port = 0;
        for (int i = 0; i < 5; i++) { err = s.StartHttp($"127.0.0.1:{FreePort()}", out port); if (err is null) break; }
        Assert.Null(err);
        using var http = new HttpClient();
        var resp = await http.GetAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", resp.Content.Headers.ContentType!.ToString());
        var body = await resp.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(m.Render(), body);
        Assert.Contains("fshealer_events_total{mount=\"/srv\",fstype=\"xfs\",class=\"metadatasick\"} 1", body);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"http://127.0.0.1:{port}/nope", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Theory]
    [InlineData("0.0.0.0:9100", "not a loopback address")]
    [InlineData("192.168.1.1:9100", "not a loopback address")]
    [InlineData("127.0.0.1", "is not HOST:PORT")]
    [InlineData("127.0.0.1:99999", "is not HOST:PORT")]
    public void Non_loopback_or_malformed_listen_addresses_are_refused(string addr, string why)
    {
        using var s = new MetricsServer(new MetricsSink());
        Assert.Contains(why, s.StartHttp(addr, out _));
    }

    [Fact]
    public void Unix_socket_scrape()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-metrics-").FullName;
        try
        {
            var path = Path.Combine(dir, "metrics.sock");
            var m = Sample();
            using (var s = new MetricsServer(m))
            {
                Assert.Null(s.StartUnix(path));
                using var c = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                c.Connect(new UnixDomainSocketEndPoint(path));
                c.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"u8);
                var ms = new MemoryStream();
                var buf = new byte[4096];
                int n;
                while ((n = c.Receive(buf)) > 0) ms.Write(buf, 0, n);
                var resp = Encoding.UTF8.GetString(ms.ToArray());
                Assert.StartsWith("HTTP/1.0 200 OK\r\n", resp);
                Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n", resp);
                var body = resp[(resp.IndexOf("\r\n\r\n") + 4)..];
                Assert.Equal(m.Render(), body);
                Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", resp);
            }
            Assert.False(File.Exists(path));   // removed on dispose
            // A regular file in the way is not replaced.
            File.WriteAllText(path, "data");
            using var s2 = new MetricsServer(new MetricsSink());
            Assert.Contains("exists and is not a socket", s2.StartUnix(path));
            Assert.Equal("data", File.ReadAllText(path));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Textfile_is_written_atomically()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-textfile-").FullName;
        try
        {
            var path = Path.Combine(dir, "fshealer.prom");
            var m = Sample();
            Assert.Null(MetricsServer.WriteTextfile(m, path));
            Assert.Equal(m.Render(), File.ReadAllText(path));
            m.SetWatched(5);
            Assert.Null(MetricsServer.WriteTextfile(m, path));
            Assert.Contains("fshealer_watched_filesystems 5\n", File.ReadAllText(path));
            Assert.Equal(["fshealer.prom"], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temp file left
            Assert.Contains("fshealer-textfile-", MetricsServer.WriteTextfile(m, Path.Combine(dir, "missing", "x.prom")) ?? "");
            // Readers never see a partial file: rewrite concurrently while reading.
            var stop = false;
            var writer = new Thread(() => { while (!Volatile.Read(ref stop)) MetricsServer.WriteTextfile(m, path); });
            writer.Start();
            var expected = m.Render();
            for (int i = 0; i < 300; i++) Assert.Equal(expected, File.ReadAllText(path));
            Volatile.Write(ref stop, true);
            writer.Join();
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Clients that reset, or send garbage with line breaks and terminal escapes: the endpoint keeps serving,
    /// and the daemon's log gets at most one line per interval, escaped, never a line a client wrote.</summary>
    [Fact]
    public async Task Bad_clients_neither_stop_the_endpoint_nor_flood_or_forge_the_log()
    {
        var m = Sample();
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var s = new MetricsServer(m, log.Enqueue);
        string? err = "not started";
        int port = 0;
        for (int i = 0; i < 5 && err is not null; i++) err = s.StartHttp($"127.0.0.1:{FreePort()}", out port);
        Assert.Null(err);
        var sock = Path.Combine(Path.GetTempPath(), $"fshealer-metrics-{Guid.NewGuid():N}.sock");
        Assert.Null(s.StartUnix(sock));
        var ct = TestContext.Current.CancellationToken;
        byte[][] garbage =
        [
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray(),
            "GARBAGE\r\n\r\n"u8.ToArray(),
            "GET /\u0001\nfshealer: forged line HTTP/1.1\r\n\r\n"u8.ToArray(),
            "GET /\u001b[31mred HTTP/1.1\r\nHost: a\nb\r\n\r\n"u8.ToArray(),
            [.. "GET /"u8, .. Enumerable.Repeat((byte)'A', 20000), .. " HTTP/1.1\r\n\r\n"u8],
        ];
        for (int i = 0; i < 40; i++)
        {
            // a scrape, then a reset before the response is read (the write fails on the server side)
            using var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await c.ConnectAsync(IPAddress.Loopback, port, ct);
            await c.SendAsync(i % 8 == 0 ? garbage[i / 8 % garbage.Length] : Encoding.ASCII.GetBytes($"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"), ct);
            c.LingerState = new LingerOption(true, 0);
            c.Close();
            using var u = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await u.ConnectAsync(new UnixDomainSocketEndPoint(sock), ct);
            await u.SendAsync(garbage[i % garbage.Length], ct);
            u.LingerState = new LingerOption(true, 0);
            u.Close();
        }
        await Task.Delay(300, ct);
        using var http = new HttpClient();
        var body = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics", ct);
        Assert.Contains("fshealer_up 1", body);
        var lines = log.ToArray();
        Assert.True(s.ClientFailures > 0, "no client failure happened: the test did not test anything");
        Assert.True(lines.Length <= 1, $"{lines.Length} log lines for bad clients:\n{string.Join("\n", lines)}");
        foreach (var l in lines)
        {
            Assert.DoesNotContain('\n', l);
            Assert.DoesNotContain('\u001b', l);
            Assert.StartsWith("metrics: ", l);
        }
        File.Delete(sock);
    }
}
