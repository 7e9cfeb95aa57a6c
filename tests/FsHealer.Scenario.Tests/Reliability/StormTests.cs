using System.Diagnostics;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Model;
using FsHealer.Scenario.Tests.Xfs;

namespace FsHealer.Scenario.Tests.Reliability;

/// <summary>Counts lines and keeps only the last few (a storm must not be measured by the test's own log buffer).</summary>
internal sealed class CountingConsole : IHealerConsole
{
    public long OutLines, ErrLines;
    private readonly Queue<string> _tail = new();
    private readonly object _lock = new();
    public List<string> Matching { get; } = [];
    public Func<string, bool> Keep { get; init; } = _ => false;
    public void Out(ReadOnlySpan<char> line) { Interlocked.Increment(ref OutLines); Add(line.ToString()); }
    public void Err(ReadOnlySpan<char> line) { Interlocked.Increment(ref ErrLines); Add("ERR " + line.ToString()); }
    private void Add(string l)
    {
        lock (_lock)
        {
            if (Keep(l)) Matching.Add(l);
            _tail.Enqueue(l);
            if (_tail.Count > 50) _tail.Dequeue();
        }
    }
    public string[] Tail { get { lock (_lock) return [.. _tail]; } }
}

/// <summary>A target whose every repair fails with one errno; counts calls without recording them (the shared
/// SimulatedXfsTarget keeps every request, which would dominate a million-event heap measurement).</summary>
internal sealed class FailingTarget(string mnt, int errno) : IXfsTarget
{
    public long Scrubs, Opens;
    public int Errno { get; } = errno;
    public string CurrentMountpoint => mnt;
    public bool HasParentPointers => false;
    public string? LookupPath(ulong ino, uint gen) => null;
    public int OpenForRepair(out IScrubHandle? handle) { Interlocked.Increment(ref Opens); handle = new H(this); return 0; }
    private sealed class H(FailingTarget t) : IScrubHandle
    {
        public int Scrub(ref ScrubRequest req) { Interlocked.Increment(ref t.Scrubs); return t.Errno; }
        public void Dispose() { }
    }
}

/// <summary>The storm measures the process-wide heap (GC.GetTotalMemory): no other test may allocate meanwhile (run in
/// parallel with the scheduled-check scenarios it saw "heap grew 25 MiB" that was theirs).</summary>
[CollectionDefinition("storm", DisableParallelization = true)]
public sealed class StormCollection;

[Collection("storm")]
public class StormTests
{
    private static long RssKb()
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return -1;
    }

    /// <summary>
    /// FSHEALER_STORM_COUNT events (default 1,000,000) in bursts of 10,000 through the XFS engine on the simulated
    /// kernel, repair on, every repair failing with EIO. User space loses nothing (read == handled, kernel-side loss is
    /// counted as LOST), memory stays bounded, full checks are rate limited, and a probe event is handled quickly
    /// while the storm runs.
    /// </summary>
    [Fact]
    public void Million_event_storm_with_failing_repairs_is_bounded_and_responsive()
    {
        int total = int.TryParse(Environment.GetEnvironmentVariable("FSHEALER_STORM_COUNT"), out var n) && n > 0 ? n : 1_000_000;
        const int Burst = 10_000;
        const ulong ProbeDaddr = 0xfeedface;
        var log = TestContext.Current.TestOutputHelper;

        using var k = new SimKernel(capacity: 4096, pumpChunk: 8192);
        var con = new CountingConsole { Keep = l => l.Contains("Full repairs in progress") };
        var target = new FailingTarget("/mnt/storm", 5); // EIO from every repair
        var units = new RecordingUnitManager();
        long probeSeenTicks = 0;
        var engine = new XfsHealerEngine(new XfsEngineSettings
        {
            Mountpoint = "/mnt/storm", WantRepair = true, Log = false, Workers = 2,
            FullCheckInterval = TimeSpan.FromSeconds(2),
        }, target, units, con)
        {
            OnEvent = e => { if (e.Domain == HealthDomain.DataDev && e.MediaDaddr == ProbeDaddr) Interlocked.Exchange(ref probeSeenTicks, Stopwatch.GetTimestamp()); },
        };

        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long heap0 = GC.GetTotalMemory(true), rss0 = RssKb();
        var sw = Stopwatch.StartNew();
        var run = Sim.RunAsync(engine, k);
        long maxHeap = heap0, maxRss = rss0;
        var probeLatencies = new List<double>();
        int sent = 0;
        for (int b = 0; sent < total; b++)
        {
            int count = Math.Min(Burst, total - sent);
            for (int i = 0; i < count; i++, sent++)
            {
                // alternate inodes so the kernel model cannot merge neighbours
                k.Model.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 128 + (ulong)(sent & 1023), gen: 1);
                while (k.Model.Pending >= k.Model.Capacity - 8) Thread.SpinWait(50); // a burst at the speed user space drains it
            }
            if (b % 10 == 0)
            {
                // responsiveness: stats readable, a probe event is handled within a bound while the storm continues
                _ = Interlocked.Read(ref engine.Stats.RecordsRead);
                Interlocked.Exchange(ref probeSeenTicks, 0);
                long t0 = Stopwatch.GetTimestamp();
                k.Model.ReportMedia(HealthDomain.DataDev, ProbeDaddr, 8);
                while (Interlocked.Read(ref probeSeenTicks) == 0 && Stopwatch.GetElapsedTime(t0) < TimeSpan.FromSeconds(10)) Thread.Sleep(1);
                Assert.True(Interlocked.Read(ref probeSeenTicks) != 0, $"probe event not handled within 10 s after {sent} events");
                probeLatencies.Add(Stopwatch.GetElapsedTime(t0, Interlocked.Read(ref probeSeenTicks)).TotalMilliseconds);
                maxHeap = Math.Max(maxHeap, GC.GetTotalMemory(false));
                maxRss = Math.Max(maxRss, RssKb());
            }
        }
        Sim.Drain(engine, k, 120);
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(120)), "engine did not stop after UNMOUNT");
        sw.Stop();
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long heap1 = GC.GetTotalMemory(true), rss1 = RssKb();
        var s = engine.Stats;

        probeLatencies.Sort();
        log?.WriteLine($"storm: {sent:N0} events in {sw.Elapsed.TotalSeconds:F1} s ({sent / sw.Elapsed.TotalSeconds:N0}/s); " +
                       $"read {s.RecordsRead:N0}, handled {s.EventsHandled:N0}, kernel lost {k.Model.EventsLost:N0} (reported {s.KernelLostEvents:N0})");
        log?.WriteLine($"repairs attempted {s.RepairsAttempted:N0}, failed {s.RepairsFailed:N0}; full checks started {s.FullChecksStarted}, suppressed {s.FullChecksSuppressed:N0}");
        log?.WriteLine($"heap {heap0 / 1024} KiB -> {heap1 / 1024} KiB (max {maxHeap / 1024} KiB); RSS {rss0} -> {rss1} KiB (max {maxRss})");
        log?.WriteLine($"probe latency ms: median {probeLatencies[probeLatencies.Count / 2]:F1}, max {probeLatencies[^1]:F1} over {probeLatencies.Count} probes");

        // no user-space loss: every record read was handled; the kernel side either delivered or counted it
        Assert.Equal(s.RecordsRead, s.EventsHandled);
        Assert.Equal(k.Pumped, s.RecordsRead);
        Assert.Equal(k.Model.EventsLost, s.KernelLostEvents); // kernel-side overflow is reported as LOST, never silent
        Assert.True(s.RecordsRead >= sent / 2, $"only {s.RecordsRead} of {sent} records reached user space");
        Assert.True(s.RepairsFailed > 0 && s.RepairsFailed == s.RepairsAttempted, "every repair fails with EIO");
        Assert.Equal(s.RepairsAttempted, Interlocked.Read(ref target.Scrubs));
        // rate limit: at most one start per 2 s window (plus the first)
        Assert.InRange(s.FullChecksStarted, 1, 1 + (long)(sw.Elapsed.TotalSeconds / 2));
        Assert.Equal(s.FullChecksStarted, units.Started.Count);
        Assert.Equal(s.FullChecksStarted, con.Matching.Count);
        // memory bounded: the heap after the storm is within 16 MiB of before (the queue ring is preallocated);
        // RSS grew by less than 256 MiB (GC segments, JIT, thread stacks)
        Assert.True(heap1 - heap0 < 16L << 20, $"heap grew {(heap1 - heap0) >> 20} MiB");
        Assert.True(maxRss - rss0 < 256L * 1024, $"RSS grew {(maxRss - rss0) / 1024} MiB");
        Assert.True(probeLatencies[^1] < 5000, $"probe latency {probeLatencies[^1]:F0} ms");
    }
}
