using FsHealer.Cli.Commands;
using System.Diagnostics;
using FsHealer.Mounts.Live;
using FsHealer.Btrfs;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Btrfs.Live;
using FsHealer.Interop;

namespace FsHealer.Kernel.Tests.Btrfs;

[Collection("btrfs-kernel")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BtrfsHealingTests
{
    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static DevStatCounters Counters(string mnt, ulong devid)
    {
        using var m = BtrfsMount.Open(mnt, out var err);
        Assert.NotNull(m);
        var c = m!.ReadCounters(devid, out var cerr);
        Assert.True(c is not null, cerr);
        return c!.Value;
    }

    /// <summary>Read a file in fresh processes (btrfs RAID1 picks the mirror by pid) until devid's corruption counter rises.</summary>
    private static bool ReadUntilRise(BtrfsLoopFs fs, string name, ulong devid, ulong before)
    {
        for (int i = 0; i < 40; i++)
        {
            BtrfsLoopFs.DropCaches();
            // RAID1 picks the mirror by pid parity; each iteration here spawns two processes, so burn one pid on odd
            // iterations or every read would go to the same mirror
            if (i % 2 == 1) BtrfsLoopFs.Sh("true", check: false);
            BtrfsLoopFs.Sh($"cat {Path.Combine(fs.Mnt, name)} > /dev/null", check: false);
            if (Counters(fs.Mnt, devid).CorruptionErrs > before) return true;
        }
        return false;
    }

    private static BtrfsScrubReport WaitReport(BtrfsHealer h, Func<BtrfsScrubReport, bool> pred, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            var r = h.Reports.FirstOrDefault(pred);
            if (r is not null) return r;
            Thread.Sleep(50);
        }
        Assert.Fail("no matching scrub report within " + timeout);
        return null!;
    }

    [Fact]
    public void Raid1_CorruptMirror_RiseDetected_DeviceScrubbed_Corrected_StatePersisted()
    {
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(2, 300L << 20, "-d raid1 -m raid1");
        var hashes = new Dictionary<string, string>();
        foreach (var (n, seed) in new[] { ("f1", 1), ("f2", 2), ("f3", 3), ("f4", 4) }) hashes[n] = fs.WriteRandomFile(n, 128 * 1024, seed);
        BtrfsLoopFs.Sh("sync");
        var phys = new Dictionary<string, ulong>();
        foreach (var n in hashes.Keys)
        {
            var p = fs.PhysicalOn(fs.LogicalOf(n), fs.Loops[0]);
            Assert.True(p is not null, $"no mirror of {n} on {fs.Loops[0]}");
            phys[n] = p!.Value;
        }
        string state = Path.Combine(fs.Dir, "state", "btrfs.json");
        var opts = new BtrfsHealerOptions { PollInterval = TimeSpan.FromMilliseconds(200), StateFile = state, ScrubProgressInterval = TimeSpan.FromMilliseconds(200) };
        ulong devid1;
        using (var m = BtrfsMount.Open(fs.Mnt, out _)) devid1 = m!.Devices(out _).Single(d => d.Path == fs.Loops[0]).Devid;

        // Daemon run A: baseline persisted, then stopped.
        var conA = new MemoryConsole();
        using (var a = new BtrfsHealer(fs.Mnt, opts, conA)) { Assert.True(a.Start()); a.Stop(); }
        Assert.True(File.Exists(state));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(state));
        ulong base1 = Counters(fs.Mnt, devid1).CorruptionErrs;

        // While the daemon is down: corrupt f1 and f2 on mirror devid1; reading f1 raises the counter (read-repair).
        BtrfsLoopFs.DropCaches();
        fs.Corrupt(0, phys["f1"]);
        fs.Corrupt(0, phys["f2"]);
        Assert.True(ReadUntilRise(fs, "f1", devid1, base1), "reading f1 never hit the corrupt mirror");

        // Daemon run B: the rise is reported at start and devid1 gets scrubbed; f2's bad copy is corrected.
        var conB = new MemoryConsole();
        using var b = new BtrfsHealer(fs.Mnt, opts, conB);
        var sw = Stopwatch.StartNew();
        Assert.True(b.Start());
        var whileDown = b.Events.FirstOrDefault(e => e.Kind == DevStatsEventKind.Rise && e.Devid == devid1 && e.WhileDown);
        Assert.NotNull(whileDown);
        Assert.Equal(DevStatKind.CorruptionErrs, whileDown!.Counter);
        var rep = WaitReport(b, r => r.Request.Devid == devid1, TimeSpan.FromSeconds(60));
        Log($"rise-at-start -> scrub result in {sw.ElapsedMilliseconds} ms: {rep.Outcome.Message}");
        Assert.Equal(ScrubOutcomeKind.Completed, rep.Outcome.Kind);
        Assert.True(rep.Outcome.Corrected > 0, rep.Outcome.Message);
        Assert.Equal(0UL, rep.Outcome.Uncorrectable);
        Assert.DoesNotContain(b.Reports, r => r.Request.Devid != devid1);

        // While running: corrupt f3 and f4; reading f3 raises the counter; the poller sees it and scrubs devid1 again.
        int before = b.Reports.Count;
        ulong c2 = Counters(fs.Mnt, devid1).CorruptionErrs;
        BtrfsLoopFs.DropCaches();
        fs.Corrupt(0, phys["f3"]);
        fs.Corrupt(0, phys["f4"]);
        sw.Restart();
        Assert.True(ReadUntilRise(fs, "f3", devid1, c2), "reading f3 never hit the corrupt mirror");
        var live = WaitReport(b, r => b.Reports.ToList().IndexOf(r) >= before && r.Outcome.Corrected > 0, TimeSpan.FromSeconds(60));
        Log($"live rise -> corrected scrub in {sw.ElapsedMilliseconds} ms: {live.Outcome.Message}");
        Assert.Contains(b.Events, e => e.Kind == DevStatsEventKind.Rise && e.Devid == devid1 && !e.WhileDown);
        Assert.Contains(conB.Stderr, l => l.Contains("corruption_errs rose", StringComparison.Ordinal) && l.Contains(fs.Loops[0], StringComparison.Ordinal));
        b.Stop();
        foreach (var l in conB.Interleaved) Log("healer: " + l);
        Log($"scrubs run by healer B: {b.Reports.Count}");
        Assert.DoesNotContain(conB.Stderr, l => l.Contains("btrfs state:", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(state)!, "*.tmp.*"));

        BtrfsLoopFs.DropCaches();
        foreach (var (n, h) in hashes) Assert.Equal(h, fs.Hash(n));

        var saved = DevStatsState.FromJson(File.ReadAllText(state), out var perr);
        Assert.Null(perr);
        var dev = saved!.Filesystems.Single().Devices.Single(d => d.Devid == devid1);
        var now = Counters(fs.Mnt, devid1);
        Assert.Equal(now.CorruptionErrs, dev.Counters[(int)DevStatKind.CorruptionErrs]);
        Assert.True(dev.Counters[(int)DevStatKind.CorruptionErrs] > base1);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(state));
        Log("state: " + File.ReadAllText(state).ReplaceLineEndings(" "));
    }

    [Fact]
    public void ReadOnlyMount_RepairScrubFallsBackToReadOnly()
    {
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(1, 256L << 20, "-d single");
        fs.WriteRandomFile("a", 64 * 1024, 3);
        BtrfsLoopFs.Sh($"mount -o remount,ro {fs.Mnt}");
        string fsid;
        using (var m = BtrfsMount.Open(fs.Mnt, out _)) fsid = m!.Fsid;
        using var r = new BtrfsScrubRunner(fs.Mnt, new FsHealer.Btrfs.ScrubRequest(fsid, 1, fs.Loops[0], ScrubReason.Manual, false, null, "test"));
        Assert.True(r.Start());
        Assert.True(r.Wait(TimeSpan.FromSeconds(30)));
        Log(r.Outcome!.Message);
        Assert.Equal(ScrubOutcomeKind.Completed, r.Outcome.Kind);
        Assert.Contains(r.Notes, n => n.Contains("EROFS", StringComparison.Ordinal));
        Assert.True(r.Outcome.Progress.DataBytesScrubbed >= 64 * 1024);
    }

    [Fact]
    public void Single_CorruptData_Scrub_Uncorrectable_NamesFile()
    {
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(1, 256L << 20, "-d single");
        fs.WriteRandomFile("victim", 64 * 1024, 7);
        Directory.CreateDirectory(Path.Combine(fs.Mnt, "dir"));
        fs.WriteRandomFile("dir/other", 64 * 1024, 8);
        BtrfsLoopFs.Sh("sync");
        ulong logical = fs.LogicalOf("victim");
        var phys = fs.PhysicalOn(logical, fs.Loops[0]);
        Assert.NotNull(phys);
        BtrfsLoopFs.DropCaches();
        fs.Corrupt(0, phys!.Value + 8192);

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = BtrfsCommand.Scrub(fs.Mnt, null, false, null, TimeSpan.FromSeconds(1), stdout, stderr, CancellationToken.None);
        Log(stdout.ToString());
        Log(stderr.ToString());
        Assert.Equal(3, rc);
        string o = stdout.ToString();
        Assert.Contains("1 uncorrectable", o);
        // The kernel's scrub log names the start of the bad stripe's extent, not the exact block (measured on 6.18).
        var dmg = o.Split('\n').Single(l => l.Contains("damaged: logical ", StringComparison.Ordinal));
        Assert.Contains(Path.Combine(fs.Mnt, "victim") + " (root 5 inode ", dmg);
        Assert.DoesNotContain("other", o);

        // The sysfs error_stats text agrees with GET_DEV_STATS.
        using (var m = BtrfsMount.Open(fs.Mnt, out _))
        {
            string text = File.ReadAllText(Path.Combine(m!.DevinfoDir(1), "error_stats"));
            Assert.True(BtrfsDecode.TryParseErrorStats(text, out var sysfs, out var perr), perr);
            Assert.Equal(0, BtrfsIoctl.GetDevStats(m.Fd, 1, out var viaIoctl));
            Assert.Equal(viaIoctl, sysfs);
            Assert.True(sysfs.CorruptionErrs > 0);
        }

        // status shows the device with its errors (exit 2).
        var so = new StringWriter();
        Assert.Equal(2, BtrfsCommand.Status(fs.Mnt, so, new StringWriter()));
        Log(so.ToString());
        Assert.Contains(fs.Loops[0], so.ToString());
        Assert.Contains("[ERRORS]", so.ToString());
    }

    [Fact]
    public void LongScrub_AlreadyRunningIsSuccess_CancelAndUnmount_NoHang_NoFdLeak()
    {
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(1, 512L << 20, "-d single");
        // 160 MiB of data at 2 MiB/s would take over a minute: long enough to cancel mid-scrub.
        using (var f = new FileStream(Path.Combine(fs.Mnt, "big"), FileMode.Create))
        {
            var chunk = new byte[1 << 20];
            new Random(5).NextBytes(chunk);
            for (int i = 0; i < 160; i++) { chunk[0] = (byte)i; f.Write(chunk); }
            f.Flush(true);
        }
        BtrfsLoopFs.Sh("sync");
        string fsid;
        using (var m = BtrfsMount.Open(fs.Mnt, out _)) fsid = m!.Fsid;
        string speed = $"/sys/fs/btrfs/{fsid}/devinfo/1/scrub_speed_max";
        if (!File.Exists(speed)) Assert.Skip($"{speed} absent");

        // 1. A scrub started by hand is running: our scrub of that device counts as success.
        File.WriteAllText(speed, (2 << 20).ToString());
        var bg = Process.Start(new ProcessStartInfo("btrfs", ["scrub", "start", "-B", "-d", fs.Mnt]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            var sw0 = Stopwatch.StartNew();
            using (var m = BtrfsMount.Open(fs.Mnt, out _))
                while (BtrfsIoctl.ScrubProgress(m!.Fd, 1, out _) != 0 && sw0.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            var req = new FsHealer.Btrfs.ScrubRequest(fsid, 1, fs.Loops[0], ScrubReason.Manual, false, null, "test");
            using var dup = new BtrfsScrubRunner(fs.Mnt, req);
            Assert.True(dup.Start());
            Assert.True(dup.Wait(TimeSpan.FromSeconds(10)));
            Log(dup.Outcome!.Message);
            Assert.Equal(ScrubOutcomeKind.AlreadyRunning, dup.Outcome.Kind);
            Assert.True(dup.Outcome.Success);
        }
        finally
        {
            BtrfsLoopFs.Sh($"btrfs scrub cancel {fs.Mnt}", check: false);
            if (!bg.WaitForExit(20000)) bg.Kill();
            bg.Dispose();
        }

        // 2. Our runner, bandwidth-limited via the knob, cancelled mid-scrub: returns promptly, no fd leaked, knob restored.
        File.WriteAllText(speed, "0");
        int fdsBefore = BtrfsLoopFs.OpenFdCount();
        var fdMap = BtrfsLoopFs.OpenFds();
        var progress = new List<ScrubProgress>();
        var req2 = new FsHealer.Btrfs.ScrubRequest(fsid, 1, fs.Loops[0], ScrubReason.Manual, true, 2UL << 20, "test");
        var runner = new BtrfsScrubRunner(fs.Mnt, req2, TimeSpan.FromMilliseconds(100), (_, p) => { lock (progress) progress.Add(p); });
        Assert.True(runner.Start());
        Thread.Sleep(1500);
        Assert.Equal((2 << 20).ToString(), File.ReadAllText(speed).Trim());
        Assert.False(runner.IsDone);
        // A second runner on the same device while the first one runs: already running = success.
        using (var second = new BtrfsScrubRunner(fs.Mnt, req2 with { LimitBytesPerSecond = null }))
        {
            Assert.True(second.Start());
            Assert.True(second.Wait(TimeSpan.FromSeconds(10)));
            Assert.Equal(ScrubOutcomeKind.AlreadyRunning, second.Outcome!.Kind);
            Assert.True(second.Outcome.Success);
        }
        Assert.False(runner.IsDone);
        var sw = Stopwatch.StartNew();
        Assert.True(runner.Cancel(TimeSpan.FromSeconds(20)));
        Log($"cancel took {sw.ElapsedMilliseconds} ms; progress samples {progress.Count}");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Equal(ScrubOutcomeKind.Cancelled, runner.Outcome!.Kind);
        lock (progress) Assert.NotEmpty(progress);
        runner.Dispose();
        Assert.Equal("0", File.ReadAllText(speed).Trim());
        Assert.Equal(fdsBefore, BtrfsLoopFs.OpenFdCount());

        // 2b. The CLI scrub, limited, interrupted (Ctrl+C = cancellation token): progress printed, exit 1, no fd leaked.
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1.5)))
        {
            var cliOut = new StringWriter();
            sw.Restart();
            int rc = BtrfsCommand.Scrub(fs.Mnt, 1, true, 2UL << 20, TimeSpan.FromMilliseconds(200), cliOut, new StringWriter(), cts.Token);
            Log(cliOut.ToString());
            Assert.Equal(1, rc);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15));
            Assert.Contains("devid 1 " + fs.Loops[0] + ": scrubbed ", cliOut.ToString());
            Assert.Contains("cancelled at physical", cliOut.ToString());
        }
        Assert.Equal("0", File.ReadAllText(speed).Trim());
        Assert.True(fdsBefore == BtrfsLoopFs.OpenFdCount(), "fds opened and not closed: " + BtrfsLoopFs.FdDiff(fdMap));

        // 3. Daemon with a scheduled full scrub; the filesystem is lazily unmounted mid-scrub; daemon stop does not hang.
        var con = new MemoryConsole();
        var healer = new BtrfsHealer(fs.Mnt, new BtrfsHealerOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(200),
            Scrub = new BtrfsScrubOptions { FullScrubInterval = TimeSpan.FromDays(7), LimitBytesPerSecond = 2UL << 20, ReadOnly = true },
        }, con);
        Assert.True(healer.Start());
        using (var m = BtrfsMount.Open(fs.Mnt, out _))
        {
            var sw1 = Stopwatch.StartNew();
            while (BtrfsIoctl.ScrubProgress(m!.Fd, 1, out _) != 0 && sw1.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            Assert.Equal(0, BtrfsIoctl.ScrubProgress(m.Fd, 1, out _));
        }
        fs.LazyUmount();
        sw.Restart();
        // The poller notices the mount is gone and cancels the scrub by itself.
        var gone = WaitReport(healer, r => r.Request.Reason == ScrubReason.Scheduled, TimeSpan.FromSeconds(15));
        Log($"scrub cancelled {sw.ElapsedMilliseconds} ms after lazy umount");
        Assert.Equal(ScrubOutcomeKind.Cancelled, gone.Outcome.Kind);
        sw.Restart();
        healer.Stop(TimeSpan.FromSeconds(20));
        healer.Dispose();
        Log($"stop after lazy umount took {sw.ElapsedMilliseconds} ms");
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15));
        Assert.Contains(healer.Reports, r => r.Request.Reason == ScrubReason.Scheduled && r.Outcome.Kind == ScrubOutcomeKind.Cancelled);
        foreach (var l in con.Interleaved) Log(l);
        Assert.True(fdsBefore == BtrfsLoopFs.OpenFdCount(), "fds opened and not closed: " + BtrfsLoopFs.FdDiff(fdMap));
    }
}
