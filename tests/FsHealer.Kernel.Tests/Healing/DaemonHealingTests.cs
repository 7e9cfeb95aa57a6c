using System.Diagnostics;
using FsHealer.Interop;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>A directory of tool wrappers put first in the daemon's PATH: each logs its arguments, e2fsck's repair run
/// sleeps first (a slow repair to stop the daemon in the middle of), then the real tool runs.</summary>
internal sealed class ToolWrappers : IDisposable
{
    public string Bin { get; }
    public string Log => Path.Combine(Bin, "calls.log");

    public ToolWrappers(double repairSeconds, params string[] moreTools)
    {
        Bin = Directory.CreateTempSubdirectory("fshealer-tools-").FullName;
        foreach (var tool in (string[])["e2fsck", "tune2fs", "xfs_repair", .. moreTools])
        {
            string real = Sh.Run("sh", "-c", $"command -v {tool}").Out.Trim();
            string slow = tool == "e2fsck" ? $"case \" $* \" in *' -y '*) sleep {repairSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)};; esac\n" : "";
            File.WriteAllText(Path.Combine(Bin, tool), $"#!/bin/sh\necho \"{tool} $*\" >> {Log}\n{slow}exec {real} \"$@\"\n");
            File.SetUnixFileMode(Path.Combine(Bin, tool), (UnixFileMode)0b111_101_101);
        }
    }

    public IReadOnlyDictionary<string, string> Env => new Dictionary<string, string>
    {
        ["PATH"] = $"{Bin}:{Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}",
    };

    public string[] Calls => File.Exists(Log) ? File.ReadAllLines(Log) : [];

    public void Dispose() { try { Directory.Delete(Bin, true); } catch (IOException) { } }
}

/// <summary>
/// The daemon (a real process) healing real ext4 with the offline ladder, under the conditions issue 14 names: a stop
/// request (SIGTERM, --duration) in the middle of a slow e2fsck, the daemon killed outright, a full or closed stdout, a
/// history store that cannot record the start of an action, a corrupt history database.
/// </summary>
[Collection("ext4-kernel")]
public class DaemonHealingTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string Config(string dir, string mnt, string extra = "")
    {
        string path = Path.Combine(dir, "fshealer.json");
        File.WriteAllText(path, $$"""
            { "rules": [ { "name": "victim", "match": { "mount_point": "{{mnt}}" }, "ext4": { "policy": "offline-repair" }{{extra}} } ] }
            """);
        return path;
    }

    private static List<int> RepairProcesses(string device) =>
        Sh.Run("pgrep", "-f", $"e2fsck -f -y {device}").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();

    /// <summary>Start a daemon on a damaged ext4 whose repair takes <paramref name="repairSeconds"/>; returns once e2fsck runs.</summary>
    private static (Ext4Loop Fs, ToolWrappers Tools, DaemonProcess D, string State) StartRepair(double repairSeconds, params string[] extraArgs)
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv", "pgrep");
        var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        var tools = new ToolWrappers(repairSeconds);
        string state = Path.Combine(fs.Dir, "state");
        var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state, .. extraArgs], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        fs.CatInChild("d1/f3");
        d.WaitFor(() => RepairProcesses(fs.Device).Count > 0, "e2fsck -y to start", 30);
        return (fs, tools, d, state);
    }

    [Fact]
    public void Sigterm_during_a_slow_e2fsck_lets_it_finish_and_the_filesystem_is_mounted_again()
    {
        var (fs, tools, d, _) = StartRepair(6, "--stop-timeout", "40");
        using var _fs = fs; using var _t = tools; using var _d = d;
        Thread.Sleep(1000);
        Assert.Equal(0, Libc.Kill(d.Pid, Libc.SIGTERM));
        Assert.True(d.WaitForExit(60), "the daemon exits after the repair\n" + d.Output);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l.Contains("stop requested during a healing action"));
        Assert.Contains(d.Lines, l => l.Contains("the healing action finished before the daemon stopped"));
        Assert.Contains(d.Lines, l => l == $"{fs.Mnt}: heal OfflineRepair: repaired, verified clean, mounted again");
        Assert.True(fs.IsMounted());
        Assert.Empty(RepairProcesses(fs.Device));
        Assert.Equal(0, d.Process.ExitCode);
    }

    [Fact]
    public void Duration_ending_during_a_slow_e2fsck_behaves_the_same()
    {
        Ext4Loop.SkipUnlessPossible();
        var (fs, tools, d, _) = StartRepair(6, "--duration", "3", "--stop-timeout", "40");
        using var _fs = fs; using var _t = tools; using var _d = d;
        Assert.True(d.WaitForExit(60), d.Output);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l.Contains("the healing action finished before the daemon stopped"));
        Assert.True(fs.IsMounted());
        Assert.Empty(RepairProcesses(fs.Device));
    }

    [Fact]
    public void A_repair_outliving_the_stop_timeout_is_killed_and_rolled_back()
    {
        var (fs, tools, d, _) = StartRepair(30, "--stop-timeout", "1");
        using var _fs = fs; using var _t = tools; using var _d = d;
        Thread.Sleep(500);
        Assert.Equal(0, Libc.Kill(d.Pid, Libc.SIGTERM));
        Assert.True(d.WaitForExit(60), d.Output);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l.Contains("did not finish within 1 s: killing its tool and mounting the filesystem again"));
        Assert.Contains(d.Lines, l => l.Contains("aborted and rolled back"));
        Assert.Contains(d.Lines, l => l.Contains("aborted by a stop request: the repair tool was killed; mounted again unrepaired"));
        Assert.True(fs.IsMounted());
        Assert.Empty(RepairProcesses(fs.Device));
        Assert.Contains(tools.Calls, c => c == $"tune2fs -E force_fsck {fs.Device}");   // the next boot-time check repairs it
    }

    [Fact]
    public void A_killed_daemon_takes_its_repair_tool_with_it_and_the_next_start_reports_the_interrupted_action()
    {
        var (fs, tools, d, state) = StartRepair(30);
        using var _fs = fs; using var _t = tools; using var _d = d;
        d.Kill();   // SIGKILL: nothing of ours runs
        var sw = Stopwatch.StartNew();
        while (RepairProcesses(fs.Device).Count > 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(100);
        Assert.Empty(RepairProcesses(fs.Device));   // the parent-death signal killed e2fsck
        using var again = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state, "--duration", "2"], tools.Env);
        Assert.True(again.WaitForExit(60), again.Output);
        Out(again.Output);
        Assert.Contains("INTERRUPTED", again.Err);
        Assert.Contains("offline repair of", again.Err);
    }

    /// <summary>stdout on a full filesystem (/dev/full) or closed: the repair completes and remounts; the daemon keeps running.</summary>
    [Theory]
    [InlineData(">/dev/full")]
    [InlineData(">&-")]
    public void A_full_or_closed_stdout_interrupts_nothing(string redirect)
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        string state = Path.Combine(fs.Dir, "state");
        string dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        var psi = new ProcessStartInfo("sh", ["-c", $"exec dotnet {dll} run --config {Config(fs.Dir, fs.Mnt)} --state-dir {state} {redirect}"])
            { RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var err = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) err.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        try
        {
            var sw = Stopwatch.StartNew();
            string History() => Sh.Fshealer("history", "--state-dir", state, "--json").Out;
            while (!History().Contains($"{fs.Mnt}: ext4 filesystem attached") && sw.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(200);
            fs.CatInChild("d1/f3");
            while (!History().Contains("repaired, verified clean, mounted again") && sw.Elapsed < TimeSpan.FromSeconds(90)) Thread.Sleep(300);
            Out(err.ToString());
            Assert.Contains("repaired, verified clean, mounted again", History());
            Assert.True(fs.IsMounted());
            Assert.False(p.HasExited, "the daemon keeps running");
            // said once on stderr: a full stdout when a line fails, a closed one at start
            lock (err) Assert.Contains(redirect == ">&-" ? "standard output is closed; its lines are dropped" : "cannot write to standard output", err.ToString());
        }
        finally { if (!p.HasExited) { p.Kill(); p.WaitForExit(); } }
    }

    /// <summary>The start of an offline repair cannot be recorded (read-only state directory): no offline repair runs,
    /// a boot-time check is scheduled instead, and status is degraded saying why.</summary>
    [Fact]
    public void Unwritable_history_means_no_offline_repair_and_a_degraded_status()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        using var tools = new ToolWrappers(0);
        string state = Path.Combine(fs.Dir, "state");
        Directory.CreateDirectory(state);
        Assert.Equal(0, Sh.Run("mount", "-t", "tmpfs", "-o", "size=1m,ro,mode=0700", "tmpfs", state).Code);
        try
        {
            using var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state], tools.Env);
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 30);
            fs.CatInChild("d1/f3");
            d.WaitFor(() => d.HasLine(l => l.Contains("no offline action runs")), "the refusal to act offline", 30);
            d.WaitFor(() => d.HasLine(l => l.Contains("heal Schedule:")), "the scheduled check", 30);
            Out(d.Output);
            Assert.DoesNotContain(tools.Calls, c => c.StartsWith("e2fsck"));
            Assert.Contains(tools.Calls, c => c == $"tune2fs -E force_fsck {fs.Device}");
            Assert.True(fs.IsMounted());
            var st = Sh.Fshealer("status", "--state-dir", state, "--fs", fs.Mnt);
            Out(st.Out + st.Err);
            Assert.Equal(1, st.Code);
            Assert.Contains("history store:", st.Out);
            Assert.Contains("read-only", st.Out);
        }
        finally { Sh.Run("umount", state); }
    }

    [Fact]
    public void A_corrupt_history_database_is_moved_aside_and_a_new_one_started()
    {
        Sh.RequireRoot();
        string dir = Directory.CreateTempSubdirectory("fshealer-corrupt-").FullName;
        try
        {
            string state = Path.Combine(dir, "state");
            Directory.CreateDirectory(state);
            var garbage = new byte[8192];
            new Random(7).NextBytes(garbage);
            File.WriteAllBytes(Path.Combine(state, "history.db"), garbage);
            using var d = new DaemonProcess(["run", "--state-dir", state, "--duration", "2"]);
            Assert.True(d.WaitForExit(60), d.Output);
            Out(d.Output);
            Assert.Contains("HISTORY DATABASE CORRUPT", d.Err);
            var aside = Directory.GetFiles(state, "history.db.corrupt-*").Where(f => !f.EndsWith("-wal") && !f.EndsWith("-shm")).ToList();
            Assert.Single(aside);
            Assert.Equal(garbage, File.ReadAllBytes(aside[0]));   // kept as it was
            var h = Sh.Fshealer("history", "--state-dir", state, "--json");
            Assert.Equal(0, h.Code);
            Assert.Contains("history database corrupt", h.Out);
        }
        finally { Directory.Delete(dir, true); }
    }
}
