using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Scenario.Tests.Xfs;

/// <summary>The fstests selfhealing group (xfs/1878–1903), replayed on the simulated kernel.</summary>
public class FstestsScenarios
{
    private const string Mnt = "/mnt/scratch";
    private const ulong VictimIno = 131;
    private const uint VictimGen = 0x3a2b;

    private static string[] Victim(IEnumerable<string> lines) =>
        lines.Select(l => l.Replace($"{Mnt}/some/victimdir", "VICTIM").Replace($"{Mnt} ino {VictimIno} gen 0x{VictimGen:x}", "VICTIM")).ToArray();

    [Fact]
    public void Xfs1879_RuntimeSickThenScrubCorrupt()
    {
        // run 1: runtime corruption found by `touch a/farts`
        using (var k = new SimKernel(verbose: true))
        {
            var (engine, con, _, _) = Sim.Engine();
            Assert.Equal(0, Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: VictimIno, gen: VictimGen)));
            Assert.Equal(["VICTIM directory: sick"], Victim(con.Stdout.Where(l => l.Contains("sick") || l.Contains("corrupt"))).Distinct());
            Assert.Equal($"{Mnt}: monitoring started", con.Stdout[0]);
            Assert.Equal($"{Mnt}: filesystem unmounted", con.Stdout[^1]);
        }
        // run 2: xfs_scrub -n finds the directory and its parent pointers corrupt
        using (var k = new SimKernel(verbose: true))
        {
            var (engine, con, _, _) = Sim.Engine();
            Sim.RunToEnd(engine, k, m =>
            {
                m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: VictimIno, gen: VictimGen);
                m.ReportMetadata(HealthDomain.Inode, HealthEventType.Corrupt, 0x10, ino: VictimIno, gen: VictimGen);
                m.ReportMetadata(HealthDomain.Inode, HealthEventType.Corrupt, 0x80, ino: VictimIno, gen: VictimGen);
            });
            var set = Victim(con.Stdout.Where(l => l.Contains("sick") || l.Contains("corrupt")))
                .SelectMany(l => l.Split(": ") is [var who, var st] ? who.Replace("VICTIM ", "").Split(", ").Select(s => $"VICTIM {s}: {st}") : [l])
                .Distinct().Order().ToArray();
            Assert.Equal(["VICTIM directory: corrupt", "VICTIM directory: sick", "VICTIM parent: corrupt"], set);
        }
    }

    [Fact]
    public void Xfs1882_StormOfEveryEventType_WithEverything_NoCrashNoHang_AllAccounted()
    {
        using var k = new SimKernel(verbose: true, capacity: 64);
        var (engine, con, _, units) = Sim.Engine(repair: true, everything: true, setup: t => t.HasParentPointers = true, debug: true);
        var rnd = new Random(1882);
        int exit = Sim.RunToEnd(engine, k, m =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                switch (i % 12)
                {
                    case 0: m.ReportMetadata(HealthDomain.Fs, (HealthEventType)rnd.Next(3, 6), (uint)rnd.Next(1, 0x400)); break;
                    case 1: m.ReportMetadata(HealthDomain.Ag, (HealthEventType)rnd.Next(3, 6), (uint)rnd.Next(1, 0x800), gno: (uint)rnd.Next(0, 4)); break;
                    case 2: m.ReportMetadata(HealthDomain.RtGroup, (HealthEventType)rnd.Next(3, 6), (uint)rnd.Next(1, 0x20), gno: (uint)rnd.Next(0, 4)); break;
                    case 3: m.ReportMetadata(HealthDomain.Inode, (HealthEventType)rnd.Next(3, 6), (uint)rnd.Next(1, 0x200), ino: (ulong)rnd.Next(128, 4096), gen: 1); break;
                    case 4: m.ReportMedia((HealthDomain)rnd.Next(5, 8), (ulong)rnd.Next(), 8); break;
                    case 5: m.ReportFileIo((HealthEventType)rnd.Next(8, 13), (ulong)rnd.Next(128, 4096), 1, (ulong)rnd.Next() * 4096UL, 4096, 5); break;
                    case 6: m.ReportShutdown(0); break; // reasons 0: prints, harmless
                    case 7: m.Enqueue(new HealthMonitorEvent((HealthDomain)rnd.Next(9, 100), (HealthEventType)rnd.Next(0, 50), 0, 1, 2, 3, 4, 0, 0)); break;
                    case 8: m.Enqueue(new HealthMonitorEvent(HealthDomain.Mount, (HealthEventType)rnd.Next(13, 50), 0, 0, 0, 0, 0, 0, 0)); break;
                    default: m.ReportMetadata(HealthDomain.Inode, HealthEventType.Healthy, 0x10, ino: 200, gen: 1); break;
                }
            }
        });
        Assert.Equal(0, exit);
        Assert.Equal(engine.Stats.RecordsRead, engine.Stats.EventsHandled);
        Assert.True(engine.Stats.RecordsRead > 100);
        // every record the kernel queued reached user space, and the kernel's own losses were reported as LOST
        Assert.Equal(k.Model.EventsQueued + (k.Model.EventsLost > 0 ? 1 : 0), engine.Stats.RecordsRead, tolerance: (int)Math.Max(1, engine.Stats.KernelLostEvents));
        Assert.True(engine.Stats.UnknownEvents > 0);
        Assert.Contains(con.Stderr, l => l.Contains("unrecognised health event"));   // --debug
        // --everything turns off the LOST → full scrub reaction
        Assert.True(engine.Stats.KernelLostEvents > 0);
        Assert.Equal(0, engine.Stats.FullChecksRequested[(int)FullCheckReason.EventsLost]);
        Assert.True(units.Started.Count <= 1);   // the rate limit (fshealer's deliberate difference)
    }

    [Fact]
    public void Xfs1884_AutofsckRepair_HealsSickDirectory()
    {
        var o = ParseReplay("--autofsck", "repair", "--mount", Mnt, "f");
        using var k = new SimKernel();
        var con = new MemoryConsole();
        var platform = new SimulatedXfsPlatform(o, () => k.Source);
        var session = new XfsHealerSession(con);
        var run = Task.Run(() => session.Run(["--autofsck", "repair", Mnt], _ => platform, allowReplayOptions: true, serviceMode: () => false));
        WaitFor(() => con.Stdout.Any(l => l.EndsWith("monitoring started")));
        platform.Target!.Paths[VictimIno] = $"{Mnt}/some/victimdir";
        k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: VictimIno, gen: VictimGen);
        WaitFor(() => con.Stdout.Any(l => l.Contains("Repairs successful")));
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, run.Result);
        Assert.Equal([
            $"{Mnt}: Automatically repairing per autofsck directive.",
            $"{Mnt}: monitoring started",
            $"{Mnt}/some/victimdir directory: sick",
            $"{Mnt}/some/victimdir directory: Repairs successful.",
            $"{Mnt}: filesystem unmounted"], con.Stdout);
        var call = Assert.Single(platform.Target.Calls);
        Assert.Equal((ScrubType.Dir, ScrubFlags.IFlagRepair, VictimIno, VictimGen, 0u), (call.Type, call.Flags & 1, call.Ino, call.Gen, call.Agno));
        // the rmapbt/parent warnings are only printed when missing
        Assert.Empty(con.Stderr);
    }

    [Fact]
    public void Xfs1899_SpotRepairFails_ExactlyOneFullCheck()
    {
        using var k = new SimKernel();
        var (engine, con, target, units) = Sim.Engine(repair: true, mnt: "/mnt/scratch-1", setup: t => { });
        var sim = new SimulatedXfsTarget("/mnt/scratch-1", new Dictionary<string, string> { ["directory"] = "fail", ["parent"] = "fail" });
        var (e2, con2, _, units2) = (new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/scratch-1", WantRepair = true }, sim, units, con), con, sim, units);
        Sim.RunToEnd(e2, k, m =>
        {
            // `ls` retried 50 times: the directory is reported sick again and again (xfs/1899 retry loop)
            for (int i = 0; i < 50; i++)
            {
                m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10 | 0x80, ino: VictimIno, gen: VictimGen);
                m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x80); // interleave so nothing merges
            }
        });
        Assert.Equal(["xfs_scrub@mnt-scratch\\x2d1.service"], units.Started);
        Assert.Single(con.Stdout, l => l == "/mnt/scratch-1: Full repairs in progress.");
        // first failure stops that event's remaining bits: directory fails, parent is never attempted
        Assert.DoesNotContain(sim.Calls, c => c.Type == ScrubType.Parent);
        Assert.Contains("/mnt/scratch-1 ino 131 gen 0x3a2b directory: Repair unsuccessful; offline repair required.", con.Stdout);
        Assert.True(e2.Stats.FullChecksSuppressed >= 49);
        Assert.Single(con.Stderr, l => l.Contains("full check already started recently"));
    }

    [Fact]
    public void Xfs1898_Shutdown_ReasonsLogged_RepairsLatchedOff()
    {
        using var k = new SimKernel();
        var (engine, con, target, units) = Sim.Engine(repair: true);
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportShutdown(0x4);
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x10, gno: 1);
            m.Enqueue(HealthMonitorEvent.Lost(3));
        });
        Assert.Contains($"{Mnt}: filesystem shut down due to forced unmount", con.Stdout);
        Assert.Contains($"{Mnt} agno 0x1 bnobt: sick", con.Stdout);
        Assert.Empty(target.Calls);
        Assert.Empty(units.Started);
        Assert.Single(con.Stderr, l => l.Contains("has shut down; no further repairs"));
    }

    [Fact]
    public void Xfs1878_1896_FileIoErrorLines_InOrder()
    {
        using var k = new SimKernel();
        var (engine, con, _, _) = Sim.Engine(setup: t => { t.HasParentPointers = true; t.Paths[77] = $"{Mnt}/a"; });
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportFileIo(HealthEventType.DioWrite, 77, 1, 12288, 16384, 5);
            m.ReportFileIo(HealthEventType.DioRead, 77, 1, 10UL << 30, 16384, 5);
            m.ReportFileIo(HealthEventType.BufRead, 77, 1, 12288, 4096, 5);
            m.ReportFileIo(HealthEventType.BufWrite, 77, 1, 20UL << 30, 16384, 5);
        });
        var io = con.Stdout.Where(l => l.Contains("buffered") || l.Contains("directio")).ToArray();
        Assert.Equal([
            $"{Mnt}/a pos 12288 len 16384: directio_write: Input/output error",
            $"{Mnt}/a pos 10737418240 len 16384: directio_read: Input/output error",
            $"{Mnt}/a pos 12288 len 4096: buffered_read: Input/output error",
            $"{Mnt}/a pos 21474836480 len 16384: buffered_write: Input/output error"], io);
    }

    [Fact]
    public void Xfs1897_MediaErrorAndDataLost()
    {
        using var k = new SimKernel();
        var (engine, con, _, _) = Sim.Engine();
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportMedia(HealthDomain.DataDev, 0x2400, 8);
            m.ReportFileIo(HealthEventType.DataLost, 77, 1, 8192, 4096, 5);
        });
        Assert.Contains($"{Mnt} datadev daddr 0x2400 bbcount 0x8: media error", con.Stdout);
        Assert.Contains($"{Mnt} ino 77 gen 0x1 pos 8192 len 4096: media failed", con.Stdout);
    }

    [Fact]
    public void KernelMerge_AdjacentMediaAndFileRangesCoalesce()
    {
        using var k = new SimKernel(autoStart: false);
        var (engine, con, _, _) = Sim.Engine();
        // write everything before the engine runs so nothing is read in between
        k.Model.ReportMedia(HealthDomain.DataDev, 0x10, 8);
        k.Model.ReportMedia(HealthDomain.DataDev, 0x18, 8);
        k.Model.ReportFileIo(HealthEventType.BufRead, 5, 1, 0, 4096, 5);
        k.Model.ReportFileIo(HealthEventType.BufRead, 5, 1, 4096, 4096, 5);
        Sim.RunToEnd(engine, k, _ => { });
        Assert.Contains($"{Mnt} datadev daddr 0x10 bbcount 0x10: media error", con.Stdout);
        Assert.Contains($"{Mnt} ino 5 gen 0x1 pos 0 len 8192: buffered_read: Input/output error", con.Stdout);
    }

    [Theory]
    [InlineData(true, false, 1)]   // repair mode, not --everything: LOST → full check
    [InlineData(true, true, 0)]    // --everything turns it off
    [InlineData(false, false, 0)]  // log-only never starts one
    public void Lost_StartsFullCheck_OnlyInRepairModeWithoutEverything(bool repair, bool everything, int expected)
    {
        using var k = new SimKernel();
        var (engine, con, _, units) = Sim.Engine(repair: repair, everything: everything);
        Sim.RunToEnd(engine, k, m => m.Enqueue(HealthMonitorEvent.Lost(32)));
        Assert.Contains($"{Mnt}: 32 events lost", con.Stdout);
        Assert.Equal(expected, units.Started.Count);
        Assert.Equal(32, engine.Stats.KernelLostEvents);
    }

    [Fact]
    public void KernelQueueOverflow_BecomesLostRecord_AndFullCheck()
    {
        using var k = new SimKernel(capacity: 8, autoStart: false);
        var (engine, con, _, units) = Sim.Engine(repair: true);
        // queue 50 distinct events while nobody reads: the kernel keeps 8 and counts the rest as lost
        for (int i = 0; i < 50; i++) k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Corrupt, 0x10, ino: (ulong)(1000 + i), gen: 1);
        Assert.Equal(43, k.Model.EventsLost); // RUNNING + 7 fit
        // the kernel emits LOST just before the next event that fits, once the reader made room
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x1); // may itself be lost while the queue is still full
            k.Start();
            Sim.Drain(engine, k);
            m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x80);
        });
        Assert.True(k.Model.EventsLost >= 43);
        Assert.Contains(con.Stdout, l => l.EndsWith(" events lost"));
        Assert.Equal(k.Model.EventsLost, engine.Stats.KernelLostEvents);
        Assert.Single(units.Started);
    }

    [Fact]
    public void UnmountFirst_WithBacklog_ExitsPromptly_AndDrainsUserSpaceQueue()
    {
        using var k = new SimKernel(capacity: 100_000);
        var release = new ManualResetEventSlim();
        var (engine, con, target, _) = Sim.Engine(repair: true, queueCapacity: 100, setup: t => t.BeforeScrub = _ => release.Wait(TimeSpan.FromSeconds(20)));
        var run = Sim.RunAsync(engine, k);
        for (int i = 0; i < 2000; i++) k.Model.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x10, gno: (uint)(i % 2));
        WaitFor(() => engine.Stats.ReaderBlocked > 0); // user-space queue full, a backlog waits in the kernel
        Assert.True(k.Model.Pending > 1000);
        k.Model.Unmount(); // goes to the head of the kernel queue
        release.Set();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, run.Result);
        Assert.True(engine.Stats.UnmountSeen);
        long read = engine.Stats.RecordsRead;
        // the reader stopped at UNMOUNT without reading the kernel backlog, and drained what it had read
        Assert.True(read < 400, $"read {read}");
        Assert.Equal(read, engine.Stats.EventsHandled);
        Assert.Equal(read - 2, target.Calls.Count); // minus RUNNING and UNMOUNT
        Assert.Equal($"{Mnt}: filesystem unmounted", con.Stdout[^1]);
    }

    [Fact]
    public void QueueFull_ReaderBlocks_NothingDroppedInUserSpace()
    {
        const int N = 20_000;
        using var k = new SimKernel(capacity: N + 10);
        var release = new ManualResetEventSlim();
        var (engine, con, target, _) = Sim.Engine(repair: true, queueCapacity: 16384, setup: t => t.BeforeScrub = _ => release.Wait(TimeSpan.FromSeconds(60)));
        for (int i = 0; i < N; i++) k.Model.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x10, gno: (uint)(i % 2));
        var run = Sim.RunAsync(engine, k);
        WaitFor(() => engine.Stats.ReaderBlocked > 0);
        Assert.Equal(16384, engine.Stats.MaxQueueDepth, tolerance: 1);
        release.Set();
        Sim.Drain(engine, k);
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, k.Model.EventsLost);
        Assert.Equal(N + 2, engine.Stats.RecordsRead);
        Assert.Equal(N + 2, engine.Stats.EventsHandled);
        Assert.Equal(N, target.Calls.Count);
    }

    [Fact]
    public void RateLimit_ZeroInterval_IsXfsHealerBehaviour_OneStartPerFailure()
    {
        using var k = new SimKernel();
        var con = new MemoryConsole();
        var units = new RecordingUnitManager();
        var sim = new SimulatedXfsTarget(Mnt, defaultOutcome: "fail");
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = Mnt, WantRepair = true, FullCheckInterval = TimeSpan.Zero }, sim, units, con);
        Sim.RunToEnd(engine, k, m => { for (int i = 0; i < 5; i++) m.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x10, gno: (uint)i); });
        Assert.Equal(5, units.Started.Count);
    }

    [Fact]
    public void Xfs1901_WrongFilesystem_StaleHandle_NoRepairNoFullCheck()
    {
        using var k = new SimKernel();
        var (engine, con, target, units) = Sim.Engine(repair: true, setup: t => t.ReopenErrno = 116);
        Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: VictimIno, gen: VictimGen));
        Assert.Contains($"{Mnt}: cannot open filesystem to repair: Stale file handle", con.Stderr);
        Assert.Empty(target.Calls);
        Assert.Empty(units.Started);
    }

    [Fact]
    public void CorruptAndHealthy_AreNeverRepaired()
    {
        using var k = new SimKernel(verbose: true);
        var (engine, con, target, _) = Sim.Engine(repair: true);
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Corrupt, 0x10, gno: 0);
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Healthy, 0x10, gno: 0);
        });
        Assert.Empty(target.Calls);
        Assert.Contains($"{Mnt} agno 0x0 bnobt: corrupt", con.Stdout);
        Assert.Contains($"{Mnt} agno 0x0 bnobt: healthy", con.Stdout);
    }

    [Fact]
    public void NonVerbose_DeltaFiltering_SuppressesRepeatCorruptAndUnneededHealthy()
    {
        using var k = new SimKernel(verbose: false);
        var (engine, con, _, _) = Sim.Engine();
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Healthy, 0x10, gno: 0);   // was not bad: suppressed
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Corrupt, 0x10, gno: 0);
            m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x1);
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Corrupt, 0x10, gno: 0);   // already bad: suppressed
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Healthy, 0x10, gno: 0);   // fixed: reported
        });
        Assert.Equal([$"{Mnt} agno 0x0 bnobt: corrupt", $"{Mnt} fscounters: sick", $"{Mnt} agno 0x0 bnobt: healthy"],
            con.Stdout.Where(l => l.Contains("agno") || l.Contains("fscounters")));
    }

    [Fact]
    public void Quiet_SuppressesActionableLines_ButNotOutcomesOrStatus()
    {
        using var k = new SimKernel();
        var (engine, con, _, _) = Sim.Engine(repair: true, log: false);
        Sim.RunToEnd(engine, k, m =>
        {
            m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x1);
            m.ReportFileIo(HealthEventType.BufRead, 5, 1, 0, 4096, 5);
            m.Enqueue(HealthMonitorEvent.Lost(2));
        });
        Assert.Equal([$"{Mnt}: monitoring started", $"{Mnt} fscounters: Repairs successful.", $"{Mnt}: 2 events lost",
            $"{Mnt}: Full repairs in progress.", $"{Mnt}: filesystem unmounted"], con.Stdout);
    }

    [Fact]
    public void ForegroundWorkers_HandleEveryEventOnce()
    {
        using var k = new SimKernel(capacity: 100_000);
        var (engine, con, target, _) = Sim.Engine(repair: true, workers: 4);
        Sim.RunToEnd(engine, k, m => { for (int i = 0; i < 5000; i++) m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x1, ino: (ulong)i, gen: 1); });
        Assert.Equal(5000, target.Calls.Count);
        Assert.Equal(5000, target.Calls.Select(c => c.Ino).Distinct().Count());
        Assert.Equal(5000, con.Stdout.Count(l => l.EndsWith("core: Repairs successful.")));
    }

    [Fact]
    public void PartialReads_AndTruncatedTail_AreHandled()
    {
        var events = Enumerable.Range(0, 100).Select(i => HealthMonitorEvent.Fs(HealthEventType.Corrupt, 1u << (i % 8))).ToList();
        var bytes = events.SelectMany(e => e.ToBytes()).Concat(new byte[13]).ToArray();
        var (engine, con, _, _) = Sim.Engine();
        Assert.Equal(0, engine.Run(new MemoryRecordSource(bytes, chunk: 7)));
        Assert.Equal(100, engine.Stats.EventsHandled);
        Assert.Equal(13, engine.Stats.TrailingBytes);
        Assert.Empty(con.Stderr);   // xfs_healer says nothing about a truncated tail; fshealer only with --debug
        var (debugEngine, debugCon, _, _) = Sim.Engine(debug: true);
        Assert.Equal(0, debugEngine.Run(new MemoryRecordSource(bytes, chunk: 7)));
        Assert.Equal(13, debugEngine.Stats.TrailingBytes);
        Assert.Contains(debugCon.Stderr, l => l.Contains("13 bytes of a truncated event record"));
    }

    [Fact]
    public void ReadError_IsReported_Exit1()
    {
        var (engine, con, _, _) = Sim.Engine();
        Assert.Equal(1, engine.Run(new FailingSource()));
        Assert.Contains($"{Mnt}: error reading event file: Input/output error", con.Stderr);
    }

    private sealed class FailingSource : IRecordSource { public int Read(Span<byte> b) => -5; }

    internal static XfsHealerOptions ParseReplay(params string[] a)
    {
        Assert.True(XfsHealerArgs.TryParse(a, "t", true, out var o, out var err), err);
        return o;
    }

    internal static void WaitFor(Func<bool> cond, int seconds = 30)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail("condition not reached in time");
            Thread.Sleep(5);
        }
    }
}
