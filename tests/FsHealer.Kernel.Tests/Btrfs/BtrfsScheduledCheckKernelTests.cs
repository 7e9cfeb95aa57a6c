using FsHealer.Btrfs.Live;
using FsHealer.Interop;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Btrfs;

/// <summary>
/// The scheduled check of btrfs on the real kernel (issue 17, latent damage): the daemon (a real process) finds the
/// filesystem overdue (max_check_age_seconds) and idle, scrubs every device — a bad mirror nobody read is rewritten from
/// the good one — and, with btrfs.offline_check, unmounts it for btrfs check --readonly (repair only with
/// btrfs.offline_repair) and mounts it again; the result is a verified check or a problem.
/// </summary>
[Collection("btrfs-kernel")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BtrfsScheduledCheckKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    /// <summary>The btrfs-progs fsck-test images restored by the corpus builder (bench/corpus), when this machine has them.</summary>
    private const string Corpus = "/var/cache/fshealer/corpus/images";

    /// <summary>btrfs logged to a file before the real one runs (which btrfs subcommands the daemon ran).</summary>
    private sealed class BtrfsWrapper : IDisposable
    {
        public string Bin { get; } = Directory.CreateTempSubdirectory("fshealer-btrfs-tools-").FullName;
        private string Log => Path.Combine(Bin, "calls.log");
        public BtrfsWrapper()
        {
            string real = Sh.Run("sh", "-c", "command -v btrfs").Out.Trim();
            File.WriteAllText(Path.Combine(Bin, "btrfs"), $"#!/bin/sh\necho \"btrfs $*\" >> {Log}\nexec {real} \"$@\"\n");
            File.SetUnixFileMode(Path.Combine(Bin, "btrfs"), (UnixFileMode)0b111_101_101);
        }
        public IReadOnlyDictionary<string, string> Env => new Dictionary<string, string>
        {
            ["PATH"] = $"{Bin}:{Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}",
        };
        public string[] Calls => File.Exists(Log) ? File.ReadAllLines(Log) : [];
        public void Dispose() { try { Directory.Delete(Bin, true); } catch (IOException) { } }
    }

    private static string Config(string dir, string name, string mnt, string btrfs, int maxAge, int maxDuration = 300)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, $$"""
            { "rules": [ { "name": "victim", "match": { "mount_point": "{{mnt}}" }, "max_check_age_seconds": {{maxAge}},
                           "scheduled_check": { "enabled": {{(maxAge < 60 ? "true" : "false")}}, "max_duration_seconds": {{maxDuration}} },
                           "btrfs": { {{btrfs}} } } ] }
            """);
        return path;
    }

    private static void Stop(DaemonProcess d)
    {
        Assert.Equal(0, Libc.Kill(d.Pid, Libc.SIGTERM));
        Assert.True(d.WaitForExit(90), "the daemon stops\n" + d.Output);
        Out(d.Output);
    }

    /// <summary>status of the one filesystem, judged with a long freshness limit (the test's 4 s would make it overdue).</summary>
    private static Sh.Result Status(string dir, string state, string mnt)
    {
        string cfg = Config(dir, "status.json", mnt, "", 3600);
        var st = Sh.Fshealer("status", "--state-dir", state, "--config", cfg, "--fs", mnt);
        Out($"status exit {st.Code}:\n{st.Out}{st.Err}");
        return st;
    }

    /// <summary>The health status gives the filesystem (its own line; the overall verdict also counts the stopped daemon).</summary>
    private static string HealthOf(Sh.Result st, string mnt) =>
        st.Out.Split('\n').FirstOrDefault(l => l.StartsWith(mnt + " ", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last() ?? "(not listed)";

    private static string History(string state) => Sh.Fshealer("history", "--state-dir", state, "--json", "--limit", "5000").Out;

    private static string Prefix(string mnt) => $"{mnt}: scheduled check: ";

    [Fact]
    public void Raid1_a_bad_mirror_nobody_read_is_rewritten_by_the_scheduled_scrub_and_the_check_counts()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        using var fs = new BtrfsLoopFs(2, 300L << 20, "-d raid1 -m raid1");
        string hash = fs.WriteRandomFile("cold", 256 * 1024, 17);
        BtrfsLoopFs.Sh("sync");
        var phys = fs.PhysicalOn(fs.LogicalOf("cold"), fs.Loops[0]);
        Assert.True(phys is not null, $"no mirror of the file on {fs.Loops[0]}");
        fs.Umount();
        fs.Corrupt(0, phys!.Value + 8192);            // one 4 KiB block of one copy; nobody reads it
        fs.Mount();
        ulong devid;
        using (var m = BtrfsMount.Open(fs.Mnt, out _)) devid = m!.Devices(out _).Single(d => d.Path == fs.Loops[0]).Devid;
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, "fshealer.json", fs.Mnt, "", 4);
        using var tools = new BtrfsWrapper();
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt) + "scrubbed online: full scrub of 2 device(s)")), "the scheduled scrub", 120);
        Stop(d);
        string line = d.Lines.First(l => l.StartsWith(Prefix(fs.Mnt) + "scrubbed online:"));
        Assert.Contains("error(s) found and corrected from good copies", line);
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: check overdue:"));
        Assert.Contains(d.Lines, l => l.Contains("[idle I/O class]") && l.Contains(fs.Loops[0]));
        // the scrub is the kernel's (ioctl): no btrfs program, nothing unmounted without the offline policy
        Assert.Empty(tools.Calls);
        Assert.DoesNotContain(d.Lines, l => l.Contains("unmount " + fs.Mnt));
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        // the kernel's own counters agree: the bad copy was found (and counted) on that device
        ulong corrupt;
        using (var m = BtrfsMount.Open(fs.Mnt, out _)) corrupt = m!.ReadCounters(devid, out _)!.Value.CorruptionErrs;
        Assert.True(corrupt > 0, "corruption_errs of the damaged device");
        var stats = System.Text.RegularExpressions.Regex.Match(BtrfsLoopFs.Sh($"btrfs device stats {fs.Loops[0]}"), @"corruption_errs\s+(\d+)");
        Assert.True(stats.Success);
        Assert.Equal(corrupt.ToString(System.Globalization.CultureInfo.InvariantCulture), stats.Groups[1].Value);
        // recorded as a verified check: freshness restarted, the counters it moved are the new baseline: healthy
        string h = History(state);
        Assert.Contains("corrected from good copies", h);
        var st = Status(fs.Dir, state, fs.Mnt);
        Assert.Equal("HEALTHY", HealthOf(st, fs.Mnt));
        Assert.Contains("counted before the last clean check", st.Out);   // the corrected error is the new baseline
        Assert.Contains("last good check/repair:", st.Out);
        // an independent read-only scrub finds nothing left; the file reads back intact
        var again = BtrfsLoopFs.Sh($"btrfs scrub start -B -r {fs.Mnt}");
        Assert.Contains("no errors found", again);
        BtrfsLoopFs.DropCaches();
        Assert.Equal(hash, fs.Hash("cold"));
    }

    [Fact]
    public void A_clean_btrfs_is_scrubbed_and_verified_and_nothing_else_happens()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        using var fs = new BtrfsLoopFs(1, 300L << 20, "");
        fs.WriteRandomFile("a", 64 * 1024, 1);
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, "fshealer.json", fs.Mnt, "", 4);
        using var tools = new BtrfsWrapper();
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt) + "scrubbed online:")), "the scheduled scrub", 90);
        Stop(d);
        Assert.Contains(d.Lines, l => l.StartsWith(Prefix(fs.Mnt) + "scrubbed online: full scrub of 1 device(s)") && l.EndsWith(": no errors"));
        Assert.Empty(tools.Calls);
        Assert.DoesNotContain(d.Lines, l => l.Contains("latent damage") || l.Contains("UNCORRECTABLE"));
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        var st = Status(fs.Dir, state, fs.Mnt);
        Assert.Equal("HEALTHY", HealthOf(st, fs.Mnt));
        Assert.Contains("last good check/repair:", st.Out);
    }

    [Fact]
    public void With_offline_check_a_clean_btrfs_is_unmounted_checked_readonly_and_mounted_again()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        using var fs = new BtrfsLoopFs(1, 300L << 20, "");
        string hash = fs.WriteRandomFile("a", 64 * 1024, 2);
        string opts = MountOptions(fs.Mnt);
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, "fshealer.json", fs.Mnt, "\"offline_check\": true", 4);
        using var tools = new BtrfsWrapper();
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt)) && (l.Contains("mounted again") || l.Contains("FAILED") || l.Contains("NOT"))), "the scheduled check", 120);
        Stop(d);
        Assert.Contains(d.Lines, l => l.StartsWith(Prefix(fs.Mnt) + "full scrub of 1 device(s)") && l.EndsWith(": no errors; then checked: no damage found, mounted again"));
        Assert.Equal([$"btrfs check --readonly {fs.Loops[0]}"], tools.Calls.Where(c => c.StartsWith("btrfs check")));
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        Assert.Equal(opts, MountOptions(fs.Mnt));   // mounted again with the same options
        Assert.Equal(hash, fs.Hash("a"));
        Assert.Equal("HEALTHY", HealthOf(Status(fs.Dir, state, fs.Mnt), fs.Mnt));
    }

    private static string MountOptions(string mnt) =>
        File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Last(f => f[4] == mnt) is var f ? $"{f[5]} {f[^1]}" : "";

    /// <summary>A btrfs-progs fsck-test image on a loop device, mounted (skips when this machine has no corpus).</summary>
    private static ScratchFs CorpusImage(string id)
    {
        string img = Path.Combine(Corpus, id, "disk.img");
        if (!File.Exists(img)) Assert.Skip($"{img} is absent (the corpus of bench/corpus is built on this machine only)");
        var s = new ScratchFs("btrfs-corpus");
        try
        {
            s.Attach(s.CopyImage(img, "disk.img"));
            s.Mount(s.Loop, s.Mnt, "-t", "btrfs");
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    [Fact]
    public void Damage_only_btrfs_check_sees_is_reported_and_the_filesystem_mounted_again()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        // 034-bad-inode-flags: mounts, scrubs clean (the checksums are right), btrfs check finds "odd inode flags"
        using var fs = CorpusImage("btrfs-fsck-034-default_case");
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, "fshealer.json", fs.Mnt, "\"offline_check\": true", 4);
        using var tools = new BtrfsWrapper();
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt)) && l.Contains("DAMAGE FOUND, not repaired; mounted again")), "the scheduled check", 120);
        Stop(d);
        Assert.Contains(d.Lines, l => l.StartsWith(Prefix(fs.Mnt) + "full scrub of 1 device(s)") && l.Contains(": no errors; then"));
        Assert.Contains(d.Lines, l => l.Contains("scheduled check found latent damage") && l.Contains("btrfs exit 1"));
        Assert.Equal([$"btrfs check --readonly {fs.Loop}"], tools.Calls.Where(c => c.StartsWith("btrfs check")));   // never --repair
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        Assert.Contains("scheduled check found latent damage", History(state));
        var st = Status(fs.Dir, state, fs.Mnt);
        Assert.Equal("DEGRADED", HealthOf(st, fs.Mnt));   // the damage is still there
        Assert.Contains("metadata_corrupt", st.Out);
    }

    [Fact]
    public void With_offline_repair_the_damage_is_repaired_verified_and_mounted_again()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        // 004-no-dir-index: a missing dir index; btrfs check --repair (btrfs-progs 6.2) fixes it
        using var fs = CorpusImage("btrfs-fsck-004-default_case");
        string state = Path.Combine(fs.Dir, "state");
        string cfg = Config(fs.Dir, "fshealer.json", fs.Mnt, "\"offline_check\": true, \"offline_repair\": true", 4);
        using var tools = new BtrfsWrapper();
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt)) && (l.Contains("mounted again") || l.Contains("FAILED"))), "the scheduled check", 180);
        Stop(d);
        Assert.Contains(d.Lines, l => l.StartsWith(Prefix(fs.Mnt)) && l.EndsWith("then latent damage found, repaired, verified clean, mounted again"));
        Assert.Equal([$"btrfs check --readonly {fs.Loop}", $"btrfs check --repair {fs.Loop}", $"btrfs check --readonly {fs.Loop}"],
            tools.Calls.Where(c => c.StartsWith("btrfs check")));
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
        var st = Status(fs.Dir, state, fs.Mnt);
        Assert.Equal("HEALTHY", HealthOf(st, fs.Mnt));   // repaired and verified after the problem
        fs.Umount();
        var r = Sh.Run("btrfs", "check", "--readonly", fs.Loop);
        Assert.True(r.Code == 0, r.Out + r.Err);
    }

    /// <summary>No scrub runs on any device of the btrfs at <paramref name="mnt"/> (SCRUB_PROGRESS says ENOTCONN).</summary>
    private static bool NoScrubRunning(string mnt)
    {
        using var m = BtrfsMount.Open(mnt, out var err);
        Assert.True(m is not null, err);
        return m!.Devices(out _).All(d => FsHealer.Interop.BtrfsIoctl.ScrubProgress(m.Fd, d.Devid, out _) == FsHealer.Text.Errno.ENOTCONN);
    }

    [Fact]
    public void A_scrub_over_its_budget_or_at_a_stop_request_is_cancelled_and_never_left_running()
    {
        BtrfsLoopFs.RequireTools();
        Sh.RequireTools("setsid", "setpriv");
        using var fs = new BtrfsLoopFs(1, 300L << 20, "");
        fs.WriteRandomFile("big", 48 << 20, 3);
        BtrfsLoopFs.Sh("sync");
        string state = Path.Combine(fs.Dir, "state");
        // 1 MiB/s per device: the scrub of 48 MiB would take most of a minute
        string slow = "\"scrub_speed_limit\": 1048576";

        // over the budget (3 s): cancelled, recorded as no check
        string cfg = Config(fs.Dir, "budget.json", fs.Mnt, slow, 4, maxDuration: 3);
        using (var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]))
        {
            d.WaitFor(() => d.HasLine(l => l.StartsWith(Prefix(fs.Mnt) + "the check ran longer than its budget: the scrub was cancelled")), "the budget", 90);
            Assert.True(NoScrubRunning(fs.Mnt), "the scrub was cancelled");
            Stop(d);
            Assert.DoesNotContain(d.Lines, l => l.StartsWith(Prefix(fs.Mnt) + "scrubbed online:"));
        }

        // a stop request while scrubbing: cancelled at once (nothing unmounted: no grace to wait for)
        cfg = Config(fs.Dir, "stop.json", fs.Mnt, slow, 4);
        using (var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]))
        {
            d.WaitFor(() => d.HasLine(l => l.StartsWith("btrfs: scrubbing ") && l.Contains("scheduled check")), "the scheduled scrub", 90);
            Thread.Sleep(1000);
            Assert.False(NoScrubRunning(fs.Mnt), "the scrub runs");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(0, Libc.Kill(d.Pid, Libc.SIGTERM));
            Assert.True(d.WaitForExit(30), "the daemon stops without waiting out the grace\n" + d.Output);
            Out(d.Output);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30));
            Assert.Contains(d.Lines, l => l == Prefix(fs.Mnt) + "the scrub was cancelled by a stop request; nothing verified");
            Assert.True(NoScrubRunning(fs.Mnt), "no scrub is left running after the daemon exits");
        }
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
    }
}
