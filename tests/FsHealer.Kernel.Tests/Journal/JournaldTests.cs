using System.Diagnostics;
using System.Text.Json;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Service.Journal.Live;
using FsHealer.Text;

namespace FsHealer.Kernel.Tests.Journal;

/// <summary>Runs a standalone systemd-journald for the test and removes what it created.</summary>
internal sealed class StandaloneJournald : IDisposable
{
    public const string Exe = "/lib/systemd/systemd-journald";
    public const string RunDir = "/run/systemd/journal", LogDir = "/run/log/journal";
    private readonly Process _p;
    private readonly bool _ownRunDir, _ownLogDir;

    private StandaloneJournald(Process p, bool ownRun, bool ownLog) { _p = p; _ownRunDir = ownRun; _ownLogDir = ownLog; }

    public static StandaloneJournald Start()
    {
        if (!FsHealer.Interop.Libc.IsRoot) Assert.Skip("needs root to run systemd-journald");
        if (!File.Exists(Exe)) Assert.Skip($"{Exe} is not installed");
        if (!File.Exists("/usr/bin/journalctl") && !File.Exists("/bin/journalctl")) Assert.Skip("journalctl is not installed");
        if (File.Exists(JournalSink.DefaultSocket)) Assert.Skip($"{JournalSink.DefaultSocket} exists: a journald is already running here (not starting a second one)");
        bool ownRun = !Directory.Exists(RunDir), ownLog = !Directory.Exists(LogDir);
        var psi = new ProcessStartInfo(Exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var p = Process.Start(psi)!;
        var j = new StandaloneJournald(p, ownRun, ownLog);
        var sw = Stopwatch.StartNew();
        while (!File.Exists(JournalSink.DefaultSocket))
        {
            if (p.HasExited || sw.Elapsed > TimeSpan.FromSeconds(10))
            {
                var err = p.HasExited ? p.StandardError.ReadToEnd() : "no socket after 10 s";
                j.Dispose();
                Assert.Skip($"systemd-journald could not start standalone: {err.Trim()}");
            }
            Thread.Sleep(20);
        }
        return j;
    }

    /// <summary>Entries with SYSLOG_IDENTIFIER=fshealer and the given correlation id, as JSON objects.</summary>
    public static List<JsonElement> Read(string correlationId, int expect)
    {
        var sw = Stopwatch.StartNew();
        List<JsonElement> found = [];
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            var psi = new ProcessStartInfo("journalctl") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-D", LogDir, "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=fshealer", $"CORRELATION_ID={correlationId}" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            found = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
            if (found.Count >= expect) break;
            Thread.Sleep(100);
        }
        return found;
    }

    public void Dispose()
    {
        try { if (!_p.HasExited) { _p.Kill(); _p.WaitForExit(5000); } } catch (InvalidOperationException) { }
        _p.Dispose();
        if (_ownRunDir) try { Directory.Delete(RunDir, true); } catch (IOException) { }
        if (_ownLogDir) try { Directory.Delete(LogDir, true); } catch (IOException) { }
    }
}

[Collection("journald")]
public class JournaldTests
{
    [Fact]
    public void Events_arrive_in_a_real_journal_with_structured_fields()
    {
        using var jd = StandaloneJournald.Start();
        var id = Guid.NewGuid().ToString("N");
        var err = new StringWriter();
        using var sink = JournalSink.Create(err, journalStream: "");
        Assert.True(sink.UsesJournal);
        sink.Publish(new FsEvent
        {
            Class = EventClass.MetadataSick, Severity = Severity.Error, Mount = "/mnt/scratch", FsType = "xfs", Device = "/dev/loop7",
            Inode = 133, Errno = 117, Structure = "bmapbtd", Message = "inode 133 bmapbtd sick", CorrelationId = id,
        });
        sink.Publish(new FsEvent
        {
            Class = EventClass.RepairFailed, Severity = Severity.Critical, Mount = "/mnt/scratch", FsType = "xfs",
            Message = "repair failed:\nline two\nline three", CorrelationId = id,
        });
        Assert.Equal(2, sink.Sent);
        Assert.Equal("", err.ToString());
        var entries = StandaloneJournald.Read(id, 2);
        Assert.Equal(2, entries.Count);
        var sick = entries.Single(e => e.GetProperty("FSHEALER_CLASS").GetString() == "metadata_sick");
        Assert.Equal("inode 133 bmapbtd sick", sick.GetProperty("MESSAGE").GetString());
        Assert.Equal("3", sick.GetProperty("PRIORITY").GetString());
        Assert.Equal(JournalFormat.MessageIds[EventClass.MetadataSick], sick.GetProperty("MESSAGE_ID").GetString());
        Assert.Equal("/mnt/scratch", sick.GetProperty("MOUNT").GetString());
        Assert.Equal("/dev/loop7", sick.GetProperty("DEVICE").GetString());
        Assert.Equal("133", sick.GetProperty("INODE").GetString());
        Assert.Equal("xfs", sick.GetProperty("FSTYPE").GetString());
        Assert.Equal("117", sick.GetProperty("ERRNO").GetString());
        Assert.Equal("journal", sick.GetProperty("_TRANSPORT").GetString());
        var failed = entries.Single(e => e.GetProperty("FSHEALER_CLASS").GetString() == "repair_failed");
        // MESSAGE is what journalctl prints as the line: one line, the line breaks shown as \n (PathBytes.Show)
        Assert.Equal(@"repair failed:\nline two\nline three", failed.GetProperty("MESSAGE").GetString());
        Assert.Equal("2", failed.GetProperty("PRIORITY").GetString());
    }

    [Fact]
    public void Names_that_are_not_utf8_or_hold_controls_give_one_line_messages_and_exact_fields()
    {
        using var jd = StandaloneJournald.Start();
        var id = Guid.NewGuid().ToString("N");
        var err = new StringWriter();
        using var sink = JournalSink.Create(err, journalStream: "");
        string ff = "/mnt/x\uDCFF", esc = "/mnt/\u001b[31mred\nline";
        sink.Publish(new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = ff, FsType = "ext4", Message = $"{ff}: EIO", CorrelationId = id });
        sink.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = esc, FsType = "ext4", Message = $"{esc}: attached", CorrelationId = id });
        sink.Log(Severity.Info, $"{ff}: a console line", new KeyValuePair<string, string>("CORRELATION_ID", id));
        Assert.Equal(3, sink.Sent);
        var entries = StandaloneJournald.Read(id, 3);
        Assert.Equal(3, entries.Count);
        var io = entries.Single(e => e.TryGetProperty("FSHEALER_CLASS", out var c) && c.GetString() == "io_error");
        Assert.Equal(@"/mnt/x\xff: EIO", io.GetProperty("MESSAGE").GetString());
        // journalctl -o json gives a value that is not UTF-8 as its bytes (an array of numbers): exact
        Assert.Equal(JsonValueKind.Array, io.GetProperty("MOUNT").ValueKind);
        Assert.Equal(PathBytes.Encode(ff), io.GetProperty("MOUNT").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray());
        var at = entries.Single(e => e.TryGetProperty("FSHEALER_CLASS", out var c) && c.GetString() == "attached");
        Assert.Equal(@"/mnt/\x1b[31mred\nline: attached", at.GetProperty("MESSAGE").GetString());
        var line = entries.Single(e => !e.TryGetProperty("FSHEALER_CLASS", out _));
        Assert.Equal(@"/mnt/x\xff: a console line", line.GetProperty("MESSAGE").GetString());
    }
}
