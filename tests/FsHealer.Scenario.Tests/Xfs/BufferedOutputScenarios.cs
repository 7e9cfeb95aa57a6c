using System.Text;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Scenario.Tests.Xfs;

/// <summary>The engine on the simulated kernel writing through the buffered console: batched writes, nothing left in
/// the buffer while the healer waits, output before systemctl, and xfs_healer 7.2's repair rules.</summary>
public class BufferedOutputScenarios
{
    private const string Mnt = "/mnt/buf";

    /// <summary>Both streams into one log (as under journald or 2>&amp;1), each write recorded.</summary>
    private sealed class Streams
    {
        private readonly object _lock = new();
        public readonly List<(string Stream, string Text)> Writes = [];
        public string All { get { lock (_lock) return string.Concat(Writes.Select(w => w.Text)); } }
        public int Count(string stream) { lock (_lock) return Writes.Count(w => w.Stream == stream); }
        public IByteSink Sink(string name) => new S(this, name);
        private sealed class S(Streams s, string name) : IByteSink
        {
            public void Write(ReadOnlySpan<byte> data) { var t = Encoding.UTF8.GetString(data); lock (s._lock) s.Writes.Add((name, t)); }
        }
    }

    /// <summary>A unit manager that notes what had been written when systemctl would have started.</summary>
    private sealed class SnapshotUnits(Streams streams) : IUnitManager
    {
        public readonly List<string> OutputAtStart = [];
        public bool StartNoBlock(string unit) { OutputAtStart.Add(streams.All); return true; }
    }

    private static (XfsHealerEngine, Streams, SnapshotUnits, SimulatedXfsTarget) Engine(bool repair = false, string outcome = "success")
    {
        var streams = new Streams();
        var console = new BufferedHealerConsole(streams.Sink("out"), streams.Sink("err"), lineBuffered: false);
        var units = new SnapshotUnits(streams);
        var target = new SimulatedXfsTarget(Mnt, defaultOutcome: outcome);
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = Mnt, WantRepair = repair }, target, units, console);
        return (engine, streams, units, target);
    }

    private static void WaitFor(Func<bool> cond, string what)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!cond()) { if (sw.Elapsed > TimeSpan.FromSeconds(30)) Assert.Fail($"timed out waiting for {what}"); Thread.Sleep(5); }
    }

    [Fact]
    public void AStorm_IsWrittenInBatches_NotLineByLine()
    {
        using var k = new SimKernel(capacity: 100_000);
        var (engine, streams, _, _) = Engine();
        // 16 apart: not adjacent, so the kernel does not coalesce them
        Sim.RunToEnd(engine, k, m => { for (int i = 0; i < 20_000; i++) m.ReportMedia(HealthDomain.DataDev, (ulong)i * 16, 8); });
        var lines = streams.All.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20_002, lines.Length);                                   // RUNNING, 20,000 media errors, UNMOUNT
        Assert.Equal($"{Mnt}: monitoring started", lines[0]);
        Assert.Equal($"{Mnt} datadev daddr 0x{19_999 * 16:x} bbcount 0x8: media error", lines[^2]);
        Assert.True(streams.Count("out") < 20_002 / 10, $"{streams.Count("out")} writes for 20,002 lines");
    }

    [Fact]
    public void WhatWasLogged_IsWrittenBeforeTheHealerWaitsForTheKernel()
    {
        using var k = new SimKernel();
        var (engine, streams, _, _) = Engine();
        var run = Sim.RunAsync(engine, k);
        k.Model.ReportMetadata(HealthDomain.Fs, HealthEventType.Corrupt, 0x1);
        // the stream stays open: the reader blocks in read(2), the worker has nothing left — the lines must be out
        WaitFor(() => streams.All.Contains($"{Mnt} fscounters: corrupt\n"), "the event line while the healer waits");
        Assert.Equal($"{Mnt}: monitoring started\n{Mnt} fscounters: corrupt\n", streams.All);
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)));
        Assert.EndsWith($"{Mnt}: filesystem unmounted\n", streams.All);
    }

    [Fact]
    public void Output_ComesBeforeSystemctl_AndStderrInOrder()
    {
        using var k = new SimKernel();
        var (engine, streams, units, _) = Engine(repair: true, outcome: "fail");
        Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x10, gno: 2));
        Assert.Single(units.OutputAtStart);
        Assert.EndsWith($"{Mnt} agno 0x2 bnobt: Repair unsuccessful; offline repair required.\n", units.OutputAtStart[0]);
        Assert.Contains($"{Mnt}: Full repairs in progress.\n", streams.All);
    }

    [Fact]
    public void SickStructuresWithoutATargetedRepair_StartTheFullCheck_AfterTheRepairs()
    {
        using var k = new SimKernel();
        var (engine, streams, units, target) = Engine(repair: true);
        Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x101));   // fscounters + metadir
        Assert.Single(target.Calls);
        Assert.Single(units.OutputAtStart);
        Assert.EndsWith($"{Mnt} fscounters: Repairs successful.\n", units.OutputAtStart[0]);
        Assert.Equal(1, engine.Stats.FullChecksRequested[(int)FullCheckReason.Uncovered]);
    }

    [Fact]
    public void EverySickEvent_ReopensTheFilesystem_EvenWithNothingToRepair()
    {
        using var k = new SimKernel();
        var (engine, streams, units, target) = Engine(repair: true);
        target.ReopenErrno = 116;
        Sim.RunToEnd(engine, k, m =>
        {
            m.Enqueue(HealthMonitorEvent.Fs(HealthEventType.Sick, 0));   // the model would drop an empty mask
            m.ReportMetadata(HealthDomain.Ag, HealthEventType.Sick, 0x400, gno: 1);
            m.Enqueue(new HealthMonitorEvent((HealthDomain)9, HealthEventType.Sick, 0, 1, 0, 0, 0, 0, 0));
        });
        Assert.Equal(3, target.OpenCount);
        Assert.Equal(3, streams.All.Split('\n').Count(l => l == $"{Mnt}: cannot open filesystem to repair: Stale file handle"));
        Assert.Empty(units.OutputAtStart);   // a filesystem that is not the monitored one gets no full check either
    }
}
