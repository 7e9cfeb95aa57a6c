using System.Net.Sockets;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Journal.Live;

namespace FsHealer.Scenario.Tests.Notify;

public class JournalFallbackTests
{
    private static FsEvent Ev() => new() { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/srv", FsType = "ext4", Message = "EIO reading inode 12" };

    [Fact]
    public void Without_a_journal_socket_plain_lines_are_written()
    {
        var w = new StringWriter();
        using var s = JournalSink.Create(w, "/nonexistent-" + Guid.NewGuid() + "/socket", journalStream: "");
        Assert.False(s.UsesJournal);
        s.Publish(Ev());
        Assert.Equal("<3>fshealer: error: /srv: EIO reading inode 12\n", w.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Datagrams_on_a_fake_journal_socket_decode_to_the_fields_and_a_vanished_socket_falls_back()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-journal-").FullName;
        try
        {
            var path = Path.Combine(dir, "socket");
            var rx = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            rx.Bind(new UnixDomainSocketEndPoint(path));
            var w = new StringWriter();
            using var s = JournalSink.Create(w, path, journalStream: "");
            Assert.True(s.UsesJournal);
            var e = Ev() with { Message = "two\nlines" };
            s.Publish(e);
            var buf = new byte[65536];
            int n = rx.Receive(buf);
            Assert.Equal(JournalFormat.Encode(JournalFormat.Fields(e)), buf[..n]);
            rx.Dispose();
            File.Delete(path);
            s.Publish(Ev());
            Assert.Equal(1, s.FellBack);
            Assert.Contains("journal socket:", w.ToString());
            Assert.Contains("<3>fshealer: error: /srv: EIO reading inode 12", w.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }
}
