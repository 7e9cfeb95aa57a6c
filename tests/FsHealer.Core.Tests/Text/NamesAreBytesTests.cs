using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using FsHealer.Cli.Commands;
using FsHealer.Core.Tests.Mounts;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Service;
using FsHealer.Service.Journal;
using FsHealer.Service.Metrics;
using FsHealer.Service.Notify;
using FsHealer.Text;
using static FsHealer.Mounts.StatmountAbi;

namespace FsHealer.Core.Tests.Text;

/// <summary>
/// A mount point whose name is not UTF-8 (<c>x\xff</c>) next to its U+FFFD twin (<c>x\uFFFD</c> = EF BF BD), and names
/// with a newline or an escape sequence: every decoder keeps them apart, every text output shows them on one line,
/// every JSON output keeps them exact.
/// </summary>
public class NamesAreBytesTests
{
    private const string Ff = "/mnt/x\uDCFF", Fffd = "/mnt/x\uFFFD", Nl = "/mnt/new\nline", Esc = "/mnt/\u001b[31mred";

    private static byte[] Line(params object[] parts)
    {
        var ms = new MemoryStream();
        foreach (var p in parts)
            if (p is string s) ms.Write(Encoding.ASCII.GetBytes(s)); else ms.Write((byte[])p);
        return ms.ToArray();
    }

    [Fact]
    public void Mountinfo_is_parsed_as_bytes()
    {
        // the kernel escapes only space, tab, newline and backslash (octal); other bytes come as they are
        var text = Line(
            "43 22 7:1 / /mnt/x", new byte[] { 0xFF }, " rw - ext4 /dev/loop1 rw\n",
            "44 22 7:2 / /mnt/x", new byte[] { 0xEF, 0xBF, 0xBD }, " rw - ext4 /dev/loop2 rw\n",
            "45 22 7:3 / /mnt/new\\012line rw - ext4 /dev/loop3 rw\n",
            "46 22 7:4 / /mnt/", new byte[] { 0x1B }, "[31mred rw - ext4 /dev/", new byte[] { 0xFE }, " rw\n",
            "47 22 7:5 / /mnt/oct\\377 rw - ext4 /dev/loop5 rw\n");
        var d = new List<string>();
        var all = MountInfoParser.ParseAll(text, d);
        Assert.Empty(d);
        Assert.Equal([Ff, Fffd, Nl, Esc, "/mnt/oct\uDCFF"], all.Select(e => e.MountPoint));
        Assert.Equal("/dev/\uDCFE", all[3].Source);
        Assert.Equal("7:1", MountInfoParser.FindTopmost(all, Ff)!.Dev);
        Assert.Equal("7:2", MountInfoParser.FindTopmost(all, Fffd)!.Dev);
        // the string API (tests, callers holding decoded names) is the same parser over the names' bytes
        Assert.Equal(Ff, MountInfoParser.ParseLine(PathBytes.Decode(Line("43 22 7:1 / /mnt/x", new byte[] { 0xFF }, " rw - ext4 /dev/loop1 rw")), out _)!.MountPoint);
        Assert.Equal("/a\uDCFF b", MountInfoParser.Unescape(@"/a\377\040b"));
    }

    [Fact]
    public void Statmount_strings_are_decoded_byte_exactly()
    {
        var b = new StatmountBuilder();
        b.Mask |= SB_BASIC | MNT_BASIC;
        b.Str(OffMntPoint, MNT_POINT, Ff).Str(OffSbSource, SB_SOURCE, "/dev/\uDCFE").Str(OffMntRoot, MNT_ROOT, "/").Str(OffFsType, FS_TYPE, "ext4");
        var raw = b.Build();
        Assert.Contains((byte)0xFF, raw); // the builder wrote the byte itself
        var info = StatmountDecoder.Decode(raw, [])!;
        Assert.Equal(Ff, info.MntPoint);
        Assert.Equal("/dev/\uDCFE", info.SbSource);
    }

    [Fact]
    public void Command_line_bytes_are_restored_from_proc_cmdline()
    {
        // what .NET made of argv (U+FFFD for the byte that is not UTF-8) and what /proc/self/cmdline holds
        string[] args = ["status", "--fs", "/mnt/x\uFFFD", "/mnt/y\uFFFD"];
        var cmdline = Line("/usr/bin/dotnet\0fshealer.dll\0status\0--fs\0/mnt/x", new byte[] { 0xFF }, "\0/mnt/y", new byte[] { 0xEF, 0xBF, 0xBD }, "\0");
        var restored = CommandLineBytes.Restore(args, cmdline);
        Assert.Equal(["status", "--fs", Ff, "/mnt/y\uFFFD"], restored);
        // nothing to restore: the same array; a command line that does not match: unchanged
        string[] plain = ["status"];
        Assert.Same(plain, CommandLineBytes.Restore(plain, cmdline));
        Assert.Equal(args, CommandLineBytes.Restore(args, Line("a\0b\0c\0d\0")));
        Assert.Equal(args, CommandLineBytes.Restore(args, Line("short\0")));
    }

    [Fact]
    public void Json_keeps_lone_surrogates_exact_and_reads_them_back()
    {
        var table = MountInfoParser.ParseAll(Line(
            "43 22 7:1 / /mnt/x", new byte[] { 0xFF }, " rw - ext4 /dev/loop1 rw\n",
            "44 22 7:2 / /mnt/x", new byte[] { 0xEF, 0xBF, 0xBD }, " rw - ext4 /dev/loop2 rw\n",
            "45 22 7:3 / /mnt/new\\012line rw - ext4 /dev/loop3 rw\n"), []);
        var report = MountsReport.Build(table, "mountinfo", all: true);
        var json = JsonSerializer.Serialize(report, MountsJsonContext.Default.MountsReportDto);
        Assert.Contains("\"/mnt/x\\uDCFF\"", json);
        Assert.Contains("\"/mnt/x\\uFFFD\"", json);
        Assert.Contains("\"/mnt/new\\nline\"", json);
        using (var doc = JsonDocument.Parse(json)) Assert.Equal(3, doc.RootElement.GetProperty("mounts").GetArrayLength()); // valid JSON
        var back = JsonSerializer.Deserialize(json, MountsJsonContext.Default.MountsReportDto)!;
        Assert.Equal([Ff, Fffd, Nl], back.Mounts.Select(m => m.MountPoint));
        Assert.Equal([Ff, Fffd, Nl], back.Targets.Select(t => t.Path));
        // strings without lone surrogates are written as System.Text.Json always wrote them
        Assert.Equal(JsonSerializer.Serialize("é<\"\n"), ExactStringJsonConverter.Quote("é<\"\n"));
    }

    [Fact]
    public void The_mounts_table_shows_every_name_on_one_line()
    {
        var table = MountInfoParser.ParseAll(Line(
            "43 22 7:1 / /mnt/x", new byte[] { 0xFF }, " rw - ext4 /dev/loop1 rw\n",
            "44 22 7:2 / /mnt/x", new byte[] { 0xEF, 0xBF, 0xBD }, " rw - ext4 /dev/loop2 rw\n",
            "45 22 7:3 / /mnt/new\\012line rw - ext4 /dev/loop3 rw\n",
            "46 22 7:4 / /mnt/", new byte[] { 0x1B }, "[31mred rw - ext4 /dev/loop4 rw\n"), []);
        var text = MountsReport.FormatTable(MountsReport.Build(table, "mountinfo", all: false));
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(1 + 4 + 1 + 4, lines.Length); // header, 4 rows, summary, 4 targets: no extra line
        Assert.DoesNotContain('\u001b', text);
        Assert.Contains(lines, l => l.Contains(@"/mnt/x\xff "));
        Assert.Contains(lines, l => l.Contains("/mnt/x\uFFFD "));
        Assert.Contains(lines, l => l.Contains(@"/mnt/new\nline "));
        Assert.Contains(lines, l => l.Contains(@"/mnt/\x1b[31mred "));
    }

    private static FsEvent Event(string mount, string? path = null) => new()
    {
        Class = EventClass.IoError, Severity = Severity.Error, Mount = mount, FsType = "ext4", Device = "/dev/loop1",
        Path = path, Message = $"{mount}: EIO (Input/output error) x1 on inode 12", Time = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000),
    };

    [Fact]
    public void Journal_message_is_shown_and_the_other_fields_are_exact_bytes()
    {
        var e = Event(Nl + "\uDCFF", path: Esc);
        var fields = JournalFormat.Fields(e);
        Assert.Equal(@"/mnt/new\nline\xff: EIO (Input/output error) x1 on inode 12", fields.Single(f => f.Key == "MESSAGE").Value);
        var datagram = JournalFormat.Encode(fields);
        // MESSAGE is one KEY=VALUE line; MOUNT holds a newline, so it is sent length-prefixed with its exact bytes
        var asText = Encoding.Latin1.GetString(datagram);
        Assert.Contains("MESSAGE=/mnt/new\\nline\\xff: EIO", asText);
        var mountValue = Line("/mnt/new\nline", new byte[] { 0xFF });
        int at = datagram.AsSpan().IndexOf(Line("MOUNT\n"));
        Assert.True(at >= 0);
        ulong len = BinaryPrimitives.ReadUInt64LittleEndian(datagram.AsSpan(at + 6));
        Assert.Equal((ulong)mountValue.Length, len);
        Assert.True(datagram.AsSpan(at + 14, mountValue.Length).SequenceEqual(mountValue));
        Assert.DoesNotContain('\u001b', JournalFormat.PlainLine(e));
        Assert.Single(JournalFormat.PlainLine(e).Split('\n'));
        Assert.Equal(@"<3>fshealer: /mnt/\x1b[31mred attached", JournalFormat.PlainLine(Severity.Error, Esc + " attached"));
        Assert.Equal(@"/mnt/\x1b[31mred", JournalFormat.LogFields(Severity.Info, Esc).Single(f => f.Key == "MESSAGE").Value);
    }

    [Fact]
    public void The_daemon_console_shows_each_line_and_the_drop_in_console_writes_the_bytes()
    {
        var o = new StringWriter();
        var err = new StringWriter();
        var con = new TextWriterConsole(o, err);
        con.Out($"{Ff}: ext4 filesystem attached");
        con.Out($"{Fffd}: ext4 filesystem attached");
        con.Err($"{Nl}: ext4 filesystem attached");
        con.Err($"{Esc}: ext4 filesystem attached");
        Assert.Equal($"/mnt/x\\xff: ext4 filesystem attached\n/mnt/x\uFFFD: ext4 filesystem attached\n", o.ToString());
        Assert.Equal("/mnt/new\\nline: ext4 filesystem attached\n/mnt/\\x1b[31mred: ext4 filesystem attached\n", err.ToString());

        var so = new MemoryStream();
        var se = new MemoryStream();
        var raw = new RawBytesConsole(so, se);
        raw.Out($"{Ff}: Automatically repairing per autofsck directive.");
        raw.Err($"{Nl}\\x: XFS health monitoring not supported.");
        Assert.Equal(Line("/mnt/x", new byte[] { 0xFF }, ": Automatically repairing per autofsck directive.\n"), so.ToArray());
        Assert.Equal(Line("/mnt/new\\nline\\x: XFS health monitoring not supported.\n"), se.ToArray());
    }

    [Fact]
    public void Notification_text_shows_names_and_hook_variables_cannot_merge_the_twins()
    {
        var a = Event(Ff, path: Ff + "/f\nile");
        var subject = NotificationPolicy.Subject(a, "h");
        var body = NotificationPolicy.Body(a, "h");
        Assert.Equal(@"[fshealer] h: error: io_error on /mnt/x\xff", subject);
        Assert.NotEqual(subject, NotificationPolicy.Subject(Event(Fffd), "h"));
        Assert.Contains("mount:    /mnt/x\\xff\n", body);
        Assert.Contains("path:     /mnt/x\\xff/f\\nile\n", body);
        Assert.DoesNotContain(body.Split('\n'), l => l == "ile"); // the newline in the path did not start a line
        var msg = new NotifyMessage(NotifyKind.Event, a.Severity, subject, body, a.Time) { Event = a, Mount = a.Mount };
        var env = FsHealer.Service.Notify.Live.HookDestination.Environment(msg, 1);
        Assert.Equal(@"/mnt/x\xff", env["FSHEALER_MOUNT"]);
        Assert.Equal(@"/mnt/x\xff/f\nile", env["FSHEALER_PATH"]);
        Assert.Equal(@"/mnt/x\xff: EIO (Input/output error) x1 on inode 12", env["FSHEALER_MESSAGE"]);
    }

    [Fact]
    public void Metrics_labels_keep_the_twins_apart_and_on_one_line()
    {
        Assert.Equal(@"/mnt/x\\xff", MetricsSink.EscapeLabel(Ff));
        Assert.Equal("/mnt/x\uFFFD", MetricsSink.EscapeLabel(Fffd));
        Assert.Equal(@"/mnt/new\\nline", MetricsSink.EscapeLabel(Nl));
        Assert.Equal(@"/mnt/\\x1b[31mred", MetricsSink.EscapeLabel(Esc));
        var m = new MetricsSink();
        m.Publish(Event(Ff));
        m.Publish(Event(Fffd));
        var text = m.Render();
        Assert.Contains("mount=\"/mnt/x\\\\xff\"", text);
        Assert.Contains("mount=\"/mnt/x\uFFFD\"", text);
        Assert.DoesNotContain(text, c => char.IsSurrogate(c));
    }
}
