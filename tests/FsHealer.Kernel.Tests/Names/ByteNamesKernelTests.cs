using System.Runtime.InteropServices;
using System.Text.Json;
using FsHealer.Cli.Commands;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Kernel.Tests.Mounts;
using FsHealer.Text;

namespace FsHealer.Kernel.Tests.Names;

/// <summary>
/// Four ext4 filesystems on loop devices, mounted (in a private tmpfs) at names that used to break fshealer: a name
/// that is not UTF-8 (<c>x\xff</c>), its U+FFFD twin (<c>x\uFFFD</c>, bytes EF BF BD), a name with a newline and one
/// with an escape sequence. Directories and mounts are made with byte-exact system calls (not through fshealer).
/// </summary>
internal sealed class TwinMounts : IDisposable
{
    [DllImport("libc", SetLastError = true)] private static extern int mkdir(byte[] path, uint mode);
    [DllImport("libc", SetLastError = true)] private static extern int mount(byte[] source, byte[] target, byte[] fstype, ulong flags, IntPtr data);

    private readonly MountScratch _s = new();
    public string Mnt => _s.Mnt;
    public string Ff => Mnt + "/x\uDCFF";
    public string Fffd => Mnt + "/x\uFFFD";
    public string Nl => Mnt + "/new\nline";
    public string Esc => Mnt + "/\u001b[31mred";
    public string[] All => [Ff, Fffd, Nl, Esc];
    /// <summary>Loop device per mount point.</summary>
    public Dictionary<string, string> Loop { get; } = new(StringComparer.Ordinal);

    private static byte[] Z(string s) => [.. PathBytes.Encode(s), 0];

    public TwinMounts()
    {
        try
        {
            int i = 0;
            foreach (var p in All)
            {
                var loop = _s.Losetup(_s.MakeImage("ext4", $"twin{i++}", 32));
                if (mkdir(Z(p), 0x1ed) != 0) throw new IOException($"mkdir {PathBytes.Show(p)}: errno {Marshal.GetLastPInvokeError()}");
                if (mount(Z(loop), Z(p), Z("ext4"), 0, IntPtr.Zero) != 0) throw new IOException($"mount {loop} {PathBytes.Show(p)}: errno {Marshal.GetLastPInvokeError()}");
                Loop[p] = loop;
            }
        }
        catch { _s.Dispose(); throw; }
    }

    public string DevName(string mountPoint) => Path.GetFileName(Loop[mountPoint]);

    public void TriggerError(string mountPoint) => File.WriteAllText($"/sys/fs/ext4/{DevName(mountPoint)}/trigger_fs_error", "fshealer names test");

    public void Dispose() => _s.Dispose();
}

/// <summary>Names are identities, not text (issue 14, defect 5): the mount table, the daemon, the history and status
/// keep <c>x\xff</c> and <c>x\uFFFD</c> apart and show every name on one line without terminal escapes.</summary>
public sealed class ByteNamesKernelTests
{
    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static void RequireExt4()
    {
        ScratchFs.Require("ext4");
        if (!Directory.Exists("/sys/fs/ext4")) Assert.Skip("ext4 not available (/sys/fs/ext4 missing)");
    }

    /// <summary>No extra line, no escape character, no lone surrogate or replacement that merges the twins.</summary>
    private static void AssertOneLineEach(string output, TwinMounts t)
    {
        Assert.DoesNotContain('\u001b', output);
        var lines = output.Split('\n');
        Assert.DoesNotContain(lines, l => l.StartsWith("line", StringComparison.Ordinal)); // the rest of "new\nline"
        Assert.DoesNotContain(lines, l => l.StartsWith("[31mred", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(PathBytes.Show(t.Nl), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(PathBytes.Show(t.Esc), StringComparison.Ordinal));
    }

    [Fact]
    public void Mounts_lists_both_twins_distinguishably_and_json_is_exact()
    {
        RequireExt4();
        using var t = new TwinMounts();
        var r = Sh.Fshealer("mounts");
        Log(r.Out + r.Err);
        Assert.Equal(0, r.Code);
        var lines = r.Out.Split('\n');
        Assert.Single(lines, l => l.Contains($"{t.Mnt}/x\\xff ", StringComparison.Ordinal) && l.Contains(t.Loop[t.Ff]) && l.EndsWith("yes"));
        Assert.Single(lines, l => l.Contains($"{t.Mnt}/x\uFFFD ", StringComparison.Ordinal) && l.Contains(t.Loop[t.Fffd]) && l.EndsWith("yes"));
        AssertOneLineEach(r.Out, t);

        r = Sh.Fshealer("mounts", "--json");
        Assert.Equal(0, r.Code);
        Assert.Contains($"\"{t.Mnt}/x\\uDCFF\"", r.Out);
        var report = JsonSerializer.Deserialize(r.Out, MountsJsonContext.Default.MountsReportDto)!;
        foreach (var p in t.All)
        {
            var row = Assert.Single(report.Mounts, m => m.MountPoint == p);
            Assert.Equal(t.Loop[p], row.Source);
            Assert.Contains(report.Targets, x => x.Path == p);
        }
    }

    [Fact]
    public void The_daemon_attaches_both_twins_and_attributes_each_error_to_the_right_one()
    {
        RequireExt4();
        using var t = new TwinMounts();
        string state = Path.Combine("/tmp", $"fshealer-names-{Guid.NewGuid():N}");
        try
        {
            using (var d = DaemonProcess.Run("--state-dir", state, "--duration", "60", "--poll-interval", "1"))
            {
                foreach (var p in t.All)
                    d.WaitFor(() => d.HasLine(l => l.StartsWith($"{PathBytes.Show(p)}: ext4 filesystem attached (dev ", StringComparison.Ordinal)), $"the attach line of {PathBytes.Show(p)}");
                // the error line names the filesystem it happened on: "MOUNT: ... EUCLEAN (Structure needs cleaning) ..."
                bool ErrorLine(string l, string p) => l.StartsWith($"{PathBytes.Show(p)}: ", StringComparison.Ordinal) && l.Contains("EUCLEAN (Structure needs cleaning)", StringComparison.Ordinal);
                t.TriggerError(t.Ff);
                d.WaitFor(() => d.HasLine(l => ErrorLine(l, t.Ff)), "the error on x\\xff");
                Assert.False(d.HasLine(l => ErrorLine(l, t.Fffd)), "x\\uFFFD has no error yet");
                t.TriggerError(t.Fffd);
                d.WaitFor(() => d.HasLine(l => ErrorLine(l, t.Fffd)), "the error on x\\uFFFD");
                t.TriggerError(t.Nl);
                t.TriggerError(t.Esc);
                d.WaitFor(() => d.HasLine(l => ErrorLine(l, t.Esc)) && d.HasLine(l => ErrorLine(l, t.Nl)), "the errors on the newline and escape names");
                d.WaitFor(() => History(state).Count(e => e.Class == "metadata_corrupt" && e.Mount.StartsWith(t.Mnt, StringComparison.Ordinal)) >= 4, "four errors in the history");
                d.Kill();
                Log(d.Output);
                Assert.Equal(1, d.Lines.Count(l => ErrorLine(l, t.Ff)));
                AssertOneLineEach(d.Output, t);
            }

            // history: each error on the filesystem it happened on (its own loop device), exactly named
            var events = History(state).Where(e => e.Class == "metadata_corrupt" && e.Mount.StartsWith(t.Mnt, StringComparison.Ordinal)).ToList();
            foreach (var p in t.All)
            {
                var e = Assert.Single(events, x => x.Mount == p);
                Assert.Equal(t.Loop[p], e.Device);
            }
            var text = Sh.Fshealer("history", "--state-dir", state, "--class", "MetadataCorrupt");
            Log(text.Out);
            Assert.Single(text.Out.Split('\n'), l => l.Contains($" {t.Mnt}/x\\xff: ", StringComparison.Ordinal));
            Assert.Single(text.Out.Split('\n'), l => l.Contains($" {t.Mnt}/x\uFFFD: ", StringComparison.Ordinal));
            AssertOneLineEach(text.Out, t);

            // status: both degraded (their own error counters), shown apart; --fs with the raw byte as argument
            var st = Sh.Fshealer("status", "--state-dir", state);
            Log(st.Out + st.Err);
            var stLines = st.Out.Split('\n');
            Assert.Single(stLines, l => l.StartsWith($"{t.Mnt}/x\\xff  ext4  {t.Loop[t.Ff]}  ", StringComparison.Ordinal) && !l.EndsWith("HEALTHY"));
            Assert.Single(stLines, l => l.StartsWith($"{t.Mnt}/x\uFFFD  ext4  {t.Loop[t.Fffd]}  ", StringComparison.Ordinal) && !l.EndsWith("HEALTHY"));
            AssertOneLineEach(st.Out, t);
            var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
            var one = Sh.Run("sh", "-c", $"exec dotnet '{dll}' status --json --state-dir '{state}' --fs \"$(printf '{t.Mnt}/x\\377')\"");
            Log(one.Out + one.Err);
            using var doc = JsonDocument.Parse(one.Out);
            var fs = Assert.Single(doc.RootElement.GetProperty("filesystems").EnumerateArray());
            Assert.Equal(t.Loop[t.Ff], fs.GetProperty("device").GetString());
            Assert.Contains($"\"mount_point\": \"{t.Mnt}/x\\uDCFF\"", one.Out);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(state, true); } catch (IOException) { }
        }
    }

    private static List<HistoryEventDto> History(string state)
    {
        var r = Sh.Fshealer("history", "--state-dir", state, "--json", "--limit", "1000");
        return r.Code == 0 && r.Out.TrimStart().StartsWith('[') ? JsonSerializer.Deserialize(r.Out, HistoryJsonContext.Default.ListHistoryEventDto)! : [];
    }
}
