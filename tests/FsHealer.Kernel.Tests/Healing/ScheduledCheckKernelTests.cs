using System.Diagnostics;
using FsHealer.Interop;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>
/// The scheduled full check on the real kernel (issue 17, latent damage): damage that no read of a file surfaces,
/// made with debugfs/xfs_db on an unmounted filesystem, found by the daemon once the last successful check is older
/// than max_check_age_seconds and the filesystem is idle, repaired offline through the ladder, mounted again and
/// recorded as a verified check; two filesystems on one disk are not checked at once; a busy one waits until idle.
/// </summary>
[Collection("ext4-kernel")]
public class ScheduledCheckKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string Config(string dir, string body)
    {
        string path = Path.Combine(dir, "fshealer.json");
        File.WriteAllText(path, body);
        return path;
    }

    private static string Rule(string name, string mnt, string policy, int maxAge) => $$"""
        { "name": "{{name}}", "match": { "mount_point": "{{mnt}}" }, {{policy}}, "max_check_age_seconds": {{maxAge}},
          "scheduled_check": { "enabled": true, "max_duration_seconds": 120 } }
        """;

    private static void Stop(DaemonProcess d)
    {
        Assert.Equal(0, Libc.Kill(d.Pid, Libc.SIGTERM));
        Assert.True(d.WaitForExit(90), "the daemon stops\n" + d.Output);
        Out(d.Output);
    }

    private static string History(string state) => Sh.Fshealer("history", "--state-dir", state, "--json", "--limit", "5000").Out;

    [Fact]
    public void Ext4_latent_damage_is_found_by_the_scheduled_check_repaired_and_recorded_as_a_verified_check()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv", "ionice");
        // a deletion time on a live inode (an inode flag field): the kernel neither checks nor reports it, reads work.
        // (A wrong free-blocks count in a group descriptor is not latent on 6.x: the mount-time block bitmap prefetch
        // builds the buddy cache and reports it, ext4_mb_generate_buddy.)
        using var fs = new Ext4Loop(["sif /d1/f1 dtime 12345"]);
        Assert.Equal(4, Sh.Run("sh", "-c", $"umount {fs.Mnt} && e2fsck -fn {fs.Device} >/dev/null 2>&1; rc=$?; mount -o errors=continue {fs.Device} {fs.Mnt}; exit $rc").Code);
        Assert.Equal(0, fs.CatInChild("d1/f1").Exit);   // reading the file surfaces nothing
        Thread.Sleep(1000);
        Assert.Equal("0", File.ReadAllText(Path.Combine(fs.SysDir, "errors_count")).Trim());
        using var tools = new ToolWrappers(0);
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, $$"""{ "rules": [ {{Rule("victim", fs.Mnt, "\"ext4\": { \"policy\": \"offline-repair\" }", 4)}} ] }""");
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l == $"{fs.Mnt}: scheduled check: latent damage found, repaired, verified clean, mounted again"), "the scheduled check", 90);
        Stop(d);
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: check overdue:"));
        Assert.Contains(d.Lines, l => l.Contains("scheduled check found latent damage") && l.Contains("e2fsck exit 4"));
        Assert.True(fs.IsMounted());
        // survey read-only first, then repair, then verify: each on the unmounted device, in the idle I/O class
        var calls = tools.Calls.Where(c => c.StartsWith("e2fsck")).ToList();
        Assert.Equal([$"e2fsck -f -n {fs.Device}", $"e2fsck -f -y {fs.Device}", $"e2fsck -f -n {fs.Device}"], calls.Take(3));
        Assert.Contains(d.Lines, l => l.Contains("idle I/O class"));
        // recorded: the problem, then a verified check that restarts freshness
        var h = History(state);
        Assert.Contains("scheduled check found latent damage", h);
        Assert.Contains("latent damage found, repaired, verified clean, mounted again", h);
        var st = Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", fs.Mnt);
        Out(st.Out);
        Assert.DoesNotContain("never recorded", st.Out);
        Assert.Contains("last good check/repair:", st.Out);
        // and the filesystem is clean by the independent check
        Sh.Check("umount", fs.Mnt);
        var e = Sh.Run("e2fsck", "-fn", fs.Device);
        Assert.True(e.Code == 0, e.Out + e.Err);
    }

    [Fact]
    public void Xfs_latent_damage_is_found_by_xfs_repair_n_and_repaired()
    {
        ScratchFs.Require("xfs", "xfs_db", "xfs_repair", "setsid", "setpriv", "ionice");
        using var fs = ScratchFs.Create("xfs", 300, tag: "xfs-latent");
        // this test is the offline rule; a kernel with online scrub takes the xfs_scrub -n path (tier 2)
        if (FsHealer.Healing.Live.LiveHealHost.XfsOnlineScrub(fs.Mnt)) Assert.Skip("the kernel scrubs XFS online: the scheduled check would not unmount it");
        File.WriteAllText(Path.Combine(fs.Mnt, "hello"), "hello");
        fs.Umount();
        // AG 2's free inode count: read only when inodes are allocated in AG 2
        Sh.Check("xfs_db", "-x", "-c", "agi 2", "-c", "write -d freecount 7", fs.Loop);
        Assert.Equal(1, Sh.Run("xfs_repair", "-n", fs.Loop).Code);
        fs.Mount();
        Assert.Equal("hello", File.ReadAllText(Path.Combine(fs.Mnt, "hello")));
        using var tools = new ToolWrappers(0);
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, $$"""{ "rules": [ {{Rule("victim", fs.Mnt, "\"xfs\": { \"offline_repair\": true }", 4)}} ] }""");
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l == $"{fs.Mnt}: scheduled check: latent damage found, repaired, verified clean, mounted again"), "the scheduled check", 120);
        Stop(d);
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        var calls = tools.Calls.Where(c => c.StartsWith("xfs_repair")).ToList();
        Assert.Equal([$"xfs_repair -n {fs.Loop}", $"xfs_repair {fs.Loop}", $"xfs_repair -n {fs.Loop}"], calls.Take(3));
        Assert.Contains("latent damage found, repaired, verified clean, mounted again", History(state));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(fs.Mnt, "hello")));
        fs.Umount();
        var r = Sh.Run("xfs_repair", "-n", fs.Loop);
        Assert.True(r.Code == 0, r.Out + r.Err);
    }

    [Fact]
    public void Two_filesystems_on_one_disk_are_not_checked_at_once()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv");
        // two loop devices whose images sit on the same host disk: they share it
        using var a = new Ext4Loop();
        using var b = new Ext4Loop();
        using var tools = new ToolWrappers(2);   // each e2fsck -y would take 2 s more; the survey is what overlaps
        string state = Path.Combine(a.Dir, "state");
        string cfg = Config(a.Dir, $$"""
            { "rules": [ {{Rule("a", a.Mnt, "\"ext4\": { \"policy\": \"offline-repair\" }", 3)}},
                         {{Rule("b", b.Mnt, "\"ext4\": { \"policy\": \"offline-repair\" }", 3)}} ] }
            """);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        string Done(string mnt) => $"{mnt}: scheduled check: checked: no damage found, mounted again";
        d.WaitFor(() => d.HasLine(l => l == Done(a.Mnt)) && d.HasLine(l => l == Done(b.Mnt)), "both scheduled checks", 120);
        Stop(d);
        var lines = d.Lines.ToList();
        int StartOf(string mnt) => lines.FindIndex(l => l.StartsWith($"{mnt}: scheduled check:") && l.EndsWith("checking it"));
        int DoneOf(string mnt) => lines.FindIndex(l => l == Done(mnt));
        var (first, second) = StartOf(a.Mnt) < StartOf(b.Mnt) ? (a.Mnt, b.Mnt) : (b.Mnt, a.Mnt);
        Assert.True(StartOf(first) >= 0 && StartOf(second) >= 0);
        // the second starts only after the first is done, and said why it waited
        Assert.True(DoneOf(first) < StartOf(second), string.Join("\n", lines));
        Assert.Contains(lines, l => l.StartsWith($"{second}: scheduled check: check overdue; waiting: another check is reading"));
        Assert.True(a.IsMounted() && b.IsMounted());
    }

    [Fact]
    public void A_busy_filesystem_is_not_checked_until_it_is_idle()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv");
        using var fs = new Ext4Loop();
        using var tools = new ToolWrappers(0);
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, $$"""{ "rules": [ {{Rule("victim", fs.Mnt, "\"ext4\": { \"policy\": \"offline-repair\" }", 2)}} ] }""");
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached")), "the attach", 60);
        // a writer: 4 MiB written and synced, over and over (well above the 1 MiB/s idle threshold), until told to stop
        string stopFile = Path.Combine(fs.Dir, "stop-writer");
        var writer = Process.Start(new ProcessStartInfo("sh", ["-c",
            $"while [ ! -e {stopFile} ]; do dd if=/dev/zero of={fs.Mnt}/busy bs=1M count=4 conv=fsync 2>/dev/null; done"])
            { WorkingDirectory = "/" })!;
        try
        {
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: scheduled check: check overdue; waiting until it is idle (")), "the wait for idle", 60);
            Thread.Sleep(8000);   // more sampling intervals while busy
            Assert.False(writer.HasExited, "the writer still runs while the check waits");
            Assert.DoesNotContain(d.Lines, l => l.StartsWith($"{fs.Mnt}: scheduled check:") && l.EndsWith("checking it"));
            Assert.Empty(tools.Calls);
            File.WriteAllText(stopFile, "");
            Assert.True(writer.WaitForExit(30_000));
            d.WaitFor(() => d.HasLine(l => l == $"{fs.Mnt}: scheduled check: checked: no damage found, mounted again"), "the check once idle", 60);
            Stop(d);
            Assert.Contains(tools.Calls, c => c == $"e2fsck -f -n {fs.Device}");
            Assert.True(fs.IsMounted());
        }
        finally { if (!writer.HasExited) writer.Kill(); }
    }
}
