namespace FsHealer.Bench;

public static class Program
{
    /// <summary>
    ///   pipeline [N]   decode/engine throughput over N synthetic records (default 1,000,000) and peak RSS
    ///   latency [N]    event → repair-ioctl issue latency on the simulated kernel (default 10,000 samples)
    ///   ext4-latency [N]  ext4 error → decoded event latency on a real loop ext4 (root; default 1,000 samples)
    ///   idle-alloc [N] bytes the periodic block-device health poll allocates at N filesystems (default 100)
    ///   micro          BenchmarkDotNet micro-benchmarks (JIT build only)
    /// </summary>
    public static int Main(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : "pipeline";
        long n = args.Length > 1 ? long.Parse(args[1]) : 0;
        switch (mode)
        {
            case "pipeline": Pipeline.Run(n > 0 ? n : 1_000_000); return 0;
            case "latency": Latency.Run((int)(n > 0 ? n : 10_000)); return 0;
            case "ext4-latency": return Ext4Latency.Run((int)(n > 0 ? n : 1000));
            case "idle-alloc": return IdleAlloc.Run((int)(n > 0 ? n : 100));
#if !AOT_BUILD
            case "micro": BenchmarkDotNet.Running.BenchmarkRunner.Run<MicroBenchmarks>(args: args[1..]); return 0;
#endif
            default: Console.Error.WriteLine("usage: FsHealer.Bench pipeline [N] | latency [N] | ext4-latency [N] | idle-alloc [N] | micro"); return 1;
        }
    }
}
