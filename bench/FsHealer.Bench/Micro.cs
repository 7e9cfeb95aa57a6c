#if !AOT_BUILD
using BenchmarkDotNet.Attributes;
using FsHealer.Xfs;

namespace FsHealer.Bench;

[MemoryDiagnoser]
public class MicroBenchmarks
{
    private readonly byte[] _records = Pipeline.SyntheticSource.Mix().SelectMany(b => b).ToArray();
    private readonly HealthMonitorEvent[] _events = Pipeline.SyntheticSource.Mix().Select(b => HealthMonitorEvent.Decode(b)).ToArray();

    [Benchmark(OperationsPerInvoke = 8)]
    public int Decode()
    {
        int s = 0;
        for (int off = 0; off < _records.Length; off += 64) s += (int)HealthMonitorEvent.Decode(_records.AsSpan(off, 64)).Type;
        return s;
    }

    [Benchmark(OperationsPerInvoke = 8)]
    public int Format()
    {
        int s = 0;
        foreach (var e in _events) s += XfsEventFormatter.FormatEvent(e, "/mnt/scratch")?.Length ?? 0;
        return s;
    }

    [Benchmark]
    public int PlanInodeRepair() => RepairPlanner.Plan(_events[2]).Length;
}
#endif
