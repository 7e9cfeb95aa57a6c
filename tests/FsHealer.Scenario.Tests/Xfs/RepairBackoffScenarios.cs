using FsHealer.Healing;
using FsHealer.Scenario.Tests.Notify;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Scenario.Tests.Xfs;

/// <summary>
/// The repair loop found on Linux 7.2 (tier 4, scenario 40): on a filesystem without parent pointers a failed
/// directory repair re-reads the directory, which the kernel reports sick again — another SICK event, another
/// repair, for as long as it is mounted. Here the simulated kernel does the same: every repair of the inode fails and
/// queues a new SICK event for it. The daemon's engine (<see cref="XfsEngineSettings.FailedRepairBackoff"/>) repairs
/// it once per backoff window; the xfs_healer drop-in (no backoff) keeps xfs_healer's behaviour.
/// </summary>
public class RepairBackoffScenarios
{
    /// <summary>A directory whose repair always fails (CORRUPT still set) and whose every repair attempt makes the
    /// kernel report it sick again, until <see cref="MaxEchoes"/> echoes (so that the drop-in's loop ends).</summary>
    private sealed class EchoingTarget(SimKernel k, int maxEchoes) : IXfsTarget
    {
        public int Scrubs;
        public int MaxEchoes => maxEchoes;
        public string CurrentMountpoint => "/mnt/old";
        public bool HasParentPointers => false;
        public string? LookupPath(ulong ino, uint gen) => null;
        public int OpenForRepair(out IScrubHandle? handle) { handle = new H(this, k); return 0; }
        private sealed class H(EchoingTarget t, SimKernel k) : IScrubHandle
        {
            public int Scrub(ref ScrubRequest req)
            {
                int n = Interlocked.Increment(ref t.Scrubs);
                req.Flags |= ScrubFlags.OFlagCorrupt;
                if (n < t.MaxEchoes) k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: req.Ino, gen: req.Gen);
                return 0;
            }
            public void Dispose() { }
        }
    }

    private static (XfsHealerEngine, EchoingTarget, MemoryConsole) Engine(SimKernel k, TimeSpan? backoff, TimeProvider time, int maxEchoes)
    {
        var con = new MemoryConsole();
        var target = new EchoingTarget(k, maxEchoes);
        var engine = new XfsHealerEngine(new XfsEngineSettings
        {
            Mountpoint = "/mnt/old", WantRepair = true, FullCheckInterval = TimeSpan.FromMinutes(5), FailedRepairBackoff = backoff,
        }, target, new RecordingUnitManager(), con, time);
        return (engine, target, con);
    }

    [Fact]
    public void Daemon_repairs_a_structure_that_comes_back_sick_after_a_failed_repair_once_per_backoff_window()
    {
        var time = new ManualTime();
        using var k = new SimKernel();
        var (engine, target, con) = Engine(k, TimeSpan.FromMinutes(1), time, maxEchoes: 1000);
        var run = Sim.RunAsync(engine, k);
        k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 133, gen: 7);   // a directory
        Sim.Drain(engine, k);
        Thread.Sleep(200);   // an echo would be queued by now
        Sim.Drain(engine, k);
        // one repair, its echo logged and published but not repaired: the loop is broken
        Assert.Equal(1, target.Scrubs);
        Assert.Equal(1, engine.Stats.RepairsFailed);
        Assert.Equal(1, engine.Stats.RepairsSkippedBackoff);
        var said = con.Stderr.Where(l => l.Contains("sick again after a failed repair")).ToList();
        Assert.Single(said);
        Assert.Equal("/mnt/old: directory of inode 133: sick again after a failed repair; not repairing it again before "
            + $"{new ManualTime().GetUtcNow().AddMinutes(1).ToLocalTime():HH:mm:ss} (a full check was requested)", said[0]);
        Assert.Equal(2, con.Stdout.Count(l => l == "/mnt/old ino 133 gen 0x7 directory: sick"));

        // after the window: tried again (once), and the loop is broken again
        time.Advance(TimeSpan.FromSeconds(61));
        k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 133, gen: 7);
        Sim.Drain(engine, k);
        Thread.Sleep(200);
        Sim.Drain(engine, k);
        Assert.Equal(2, target.Scrubs);
        Assert.Equal(2, engine.Stats.RepairsSkippedBackoff);
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Drop_in_keeps_xfs_healers_behaviour_and_repairs_every_sick_event()
    {
        using var k = new SimKernel();
        var (engine, target, con) = Engine(k, backoff: null, TimeProvider.System, maxEchoes: 25);
        var run = Sim.RunAsync(engine, k);
        k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 133, gen: 7);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref target.Scrubs) < 25 && sw.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(5);
        Sim.Drain(engine, k);
        Assert.Equal(25, target.Scrubs);   // the loop, as xfs_healer 7.2 has it (tier 4 scenario 40)
        Assert.Equal(0, engine.Stats.RepairsSkippedBackoff);
        Assert.DoesNotContain(con.Stderr, l => l.Contains("sick again after a failed repair"));
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
    }
}
