using System.Net.Sockets;
using System.Text;
using FsHealer.Service.Live;

namespace FsHealer.Scenario.Tests.Systemd;

/// <summary>sd_notify against a real AF_UNIX datagram socket, as systemd's NOTIFY_SOCKET (path and abstract).</summary>
public class SdNotifyTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ready_Status_Watchdog_Stopping_ArriveAsDatagrams(bool abstractNamespace)
    {
        var name = $"fshealer-notify-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var path = abstractNamespace ? "\0" + name : Path.Combine(Path.GetTempPath(), name);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.ReceiveTimeout = 5000;
        try
        {
            using var n = new SdNotify(abstractNamespace ? "@" + name : path);
            Assert.True(n.Enabled);
            Assert.True(n.Send("READY=1\nSTATUS=watching 3 filesystem(s)"));
            Assert.True(n.Send("WATCHDOG=1"));
            Assert.True(n.Send("STOPPING=1"));
            var buf = new byte[4096];
            string Next() => Encoding.UTF8.GetString(buf, 0, listener.Receive(buf));
            Assert.Equal("READY=1\nSTATUS=watching 3 filesystem(s)", Next());
            Assert.Equal("WATCHDOG=1", Next());
            Assert.Equal("STOPPING=1", Next());
        }
        finally
        {
            if (!abstractNamespace) File.Delete(path);
        }
    }

    [Fact]
    public void WithoutNotifySocket_IsANoOp()
    {
        using var n = new SdNotify("");
        Assert.False(n.Enabled);
        Assert.False(n.Send("READY=1"));
    }

    [Fact]
    public void SocketGone_SendFailsQuietly()
    {
        using var n = new SdNotify(Path.Combine(Path.GetTempPath(), $"fshealer-nonexistent-{Guid.NewGuid():N}"));
        Assert.False(n.Send("READY=1"));
    }
}
