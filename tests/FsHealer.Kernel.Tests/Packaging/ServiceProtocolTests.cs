using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Kernel.Tests.Journal;

namespace FsHealer.Kernel.Tests.Packaging;

/// <summary>What the daemon tells systemd and the journal, against the real daemon: READY=1/STATUS= (kept current:
/// filesystems watched, last problem), RELOADING=1 with MONOTONIC_USEC= then READY=1 around SIGHUP (a fake
/// NOTIFY_SOCKET); the /dev/kmsg failure named when CAP_SYSLOG is missing; one journal record per event.</summary>
public class ServiceProtocolTests
{
    private static long MonotonicUsec() => (long)(Stopwatch.GetTimestamp() * (1_000_000.0 / Stopwatch.Frequency));

    [Fact]
    public void Notify_socket_gets_ready_current_status_and_reload_messages()
    {
        Sh.RequireRoot();
        using var fs = ScratchFs.Create("ext4", sizeMiB: 32, tag: "notify");
        var sock = Path.Combine(fs.Dir, "notify.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(sock));
        listener.ReceiveTimeout = 20_000;
        var got = new List<string>();
        var buf = new byte[8192];
        string Next(Func<string, bool> match, string what)
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(20))
            {
                string m;
                try { m = Encoding.UTF8.GetString(buf, 0, listener.Receive(buf)); }
                catch (SocketException) { break; }
                got.Add(m);
                if (match(m)) return m;
            }
            Assert.Fail($"no {what} among:\n{string.Join("\n---\n", got)}");
            return "";
        }
        using var daemon = new DaemonProcess(["run", "--state-dir", Path.Combine(fs.Dir, "state"), "--poll-interval", "1", "--duration", "60"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = sock });
        var ready = Next(m => m.StartsWith("READY=1\n", StringComparison.Ordinal), "READY=1");
        Assert.Matches(@"^READY=1\nSTATUS=watching [1-9]\d* filesystem\(s\) \(", ready);
        daemon.WaitFor(() => daemon.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the ext4 attach");

        // a problem: STATUS= names it
        File.WriteAllText($"/sys/fs/ext4/{fs.DevName}/trigger_fs_error", "notify test");
        var problem = Next(m => m.StartsWith("STATUS=", StringComparison.Ordinal) && m.Contains("last problem", StringComparison.Ordinal), "STATUS= with the last problem");
        Assert.Contains(fs.Mnt, problem);
        Assert.DoesNotContain('\n', problem);

        // SIGHUP: RELOADING=1 with the monotonic clock of that moment, then READY=1 (with the status)
        long before = MonotonicUsec();
        Assert.Equal(0, Sh.Run("kill", "-HUP", daemon.Pid.ToString()).Code);
        var reloading = Next(m => m.StartsWith("RELOADING=1", StringComparison.Ordinal), "RELOADING=1");
        var usec = System.Text.RegularExpressions.Regex.Match(reloading, @"^RELOADING=1\nMONOTONIC_USEC=(\d+)$");
        Assert.True(usec.Success, reloading);
        long t = long.Parse(usec.Groups[1].Value);
        Assert.InRange(t, before, MonotonicUsec());
        var again = Next(m => m.StartsWith("READY=1", StringComparison.Ordinal), "READY=1 after the reload");
        Assert.Contains("STATUS=watching ", again);
        Assert.True(got.IndexOf(reloading) < got.IndexOf(again));
        daemon.WaitFor(() => daemon.HasLine(l => l.Contains("configuration reloaded", StringComparison.Ordinal)), "the reload line");
    }

    [Fact]
    public void Without_CAP_SYSLOG_the_daemon_says_the_kernel_log_is_not_watched()
    {
        Sh.RequireRoot();
        Sh.RequireTools("setpriv");
        XfsPoll.XfsPristine.RequireEnvironment();
        if (File.ReadAllText("/proc/sys/kernel/dmesg_restrict").Trim() != "1")
            Assert.Skip("kernel.dmesg_restrict is 0: /dev/kmsg is readable without CAP_SYSLOG, the refusal cannot be provoked");
        using var fs = new XfsPoll.XfsScratch(XfsPoll.XfsPristine.Image);
        var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        string state = Path.Combine(fs.Dir, "state");
        // fshealer.service before CAP_SYSLOG was added: the kernel-log trigger fails, and now it says so
        var without = Sh.Run("setpriv", "--bounding-set=-syslog", "--inh-caps=-syslog", "dotnet", dll, "run", "--state-dir", state, "--duration", "3");
        var all = without.Out + without.Err;
        Assert.Contains($"{fs.Mount}: xfs filesystem attached", all);
        Assert.Contains($"{fs.Mount}: kernel log not watched (open /dev/kmsg: EPERM", all);
        Assert.Contains("needs CAP_SYSLOG", all);
        Assert.Single(all.Split('\n'), l => l.StartsWith($"{fs.Mount}: kernel log not watched", StringComparison.Ordinal));
        var with = Sh.Run("dotnet", dll, "run", "--state-dir", state, "--duration", "3");
        Assert.Contains($"{fs.Mount}: xfs filesystem attached", with.Out + with.Err);
        Assert.DoesNotContain("kernel log not watched", with.Out + with.Err);
    }
}

/// <summary>Under systemd the daemon's stdout and stderr are journal streams and its events go to the journal
/// natively: each event must be ONE record (the native one, with MESSAGE_ID), and every other line a record with a
/// priority. Emulated with a standalone journald and systemd-cat (which connects stdout/stderr to the journal as
/// systemd does for a service), JOURNAL_STREAM set as systemd sets it.</summary>
[Collection("journald")]
public class JournalOneRecordTests
{
    [Fact]
    public void Each_event_is_one_journal_record_and_every_line_has_a_priority()
    {
        Sh.RequireRoot();
        Sh.RequireTools("systemd-cat", "journalctl");
        using var fs = ScratchFs.Create("ext4", sizeMiB: 32, tag: "journal1");
        using var jd = StandaloneJournald.Start();
        var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        var ident = "fshealer";
        var psi = new ProcessStartInfo("systemd-cat") { UseShellExecute = false };
        foreach (var a in new[] { "-t", ident, "--level-prefix=true", "env", "JOURNAL_STREAM=0:0", "dotnet", dll, "run", "--state-dir", Path.Combine(fs.Dir, "state"), "--poll-interval", "1", "--duration", "6" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        int pid = p.Id;
        Thread.Sleep(2500);
        File.WriteAllText($"/sys/fs/ext4/{fs.DevName}/trigger_fs_error", "journal test");
        Assert.True(p.WaitForExit(30_000), "the daemon did not stop");
        Assert.Equal(0, p.ExitCode);

        List<JsonElement> records = [];
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            var r = Sh.Run("journalctl", "-D", StandaloneJournald.LogDir, "-o", "json", "--no-pager", $"_PID={pid}");
            records = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
            if (records.Any(e => e.TryGetProperty("FSHEALER_CLASS", out var c) && c.GetString() == "detached" || records.Count > 0 && sw.Elapsed > TimeSpan.FromSeconds(3))) break;
            Thread.Sleep(200);
        }
        string S(JsonElement e, string k) => e.TryGetProperty(k, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString()! : v.ToString() : "";
        var dump = string.Join("\n", records.Select(e => $"{S(e, "_TRANSPORT")} p{S(e, "PRIORITY")} {S(e, "FSHEALER_CLASS")} {S(e, "MESSAGE")}"));
        TestContext.Current.TestOutputHelper?.WriteLine(dump);
        var events = records.Where(e => S(e, "MESSAGE_ID").Length > 0).ToList();
        var lines = records.Where(e => S(e, "MESSAGE_ID").Length == 0).ToList();
        // the filesystem's attach and its error are there as event records
        Assert.Contains(events, e => S(e, "FSHEALER_CLASS") == "attached" && S(e, "MOUNT") == fs.Mnt);
        Assert.Contains(events, e => S(e, "MOUNT") == fs.Mnt && int.Parse(S(e, "PRIORITY")) <= 4);
        // one record per event: no other record says the same thing
        foreach (var e in events)
        {
            var msg = S(e, "MESSAGE");
            var twins = lines.Where(l => S(l, "MESSAGE").StartsWith(msg, StringComparison.Ordinal) || msg.Length > 0 && S(l, "MESSAGE").EndsWith(msg, StringComparison.Ordinal)).ToList();
            Assert.True(twins.Count == 0, $"event \"{msg}\" also reached the journal as: {string.Join(" | ", twins.Select(t => $"{S(t, "_TRANSPORT")}: {S(t, "MESSAGE")}"))}\n{dump}");
        }
        Assert.Equal(events.Count, events.Select(e => S(e, "MESSAGE") + S(e, "FSHEALER_CLASS")).Distinct().Count());
        // every record has a priority; the daemon's own lines come natively with one (info for stdout, warning for stderr)
        Assert.All(records, r => Assert.Matches("^[0-7]$", S(r, "PRIORITY")));
        Assert.Contains(lines, l => S(l, "MESSAGE").StartsWith("fshealer: watching ", StringComparison.Ordinal) && S(l, "PRIORITY") == "6");
        Assert.DoesNotContain(records, r => S(r, "_TRANSPORT") == "stdout" && S(r, "MESSAGE").StartsWith(fs.Mnt, StringComparison.Ordinal));
    }
}
