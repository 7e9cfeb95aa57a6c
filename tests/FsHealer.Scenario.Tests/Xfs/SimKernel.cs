using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Interop;

namespace FsHealer.Scenario.Tests.Xfs;

/// <summary>
/// The simulated kernel: the health monitor model feeds a real pipe (a real fd, read with read(2) by the same
/// FdRecordSource the live monitor uses). A pump thread plays the role of the kernel's read_iter: it moves whole
/// records from the model's queue into the pipe; when the reader is slow the pipe fills, the model's bounded
/// queue fills, and the model counts lost events — as the kernel does.
/// </summary>
public sealed class SimKernel : IDisposable
{
    public KernelHealthMonitorModel Model { get; }
    public FdRecordSource Source { get; }
    private readonly SafeFd _write;
    private readonly Thread _pump;
    private long _pumped;
    /// <summary>Records moved from the kernel queue into the pipe so far.</summary>
    public long Pumped => Interlocked.Read(ref _pumped);

    /// <param name="autoStart">false: the kernel side queues but nothing is delivered until <see cref="Start"/>
    /// (a reader that is not reading: the kernel queue overflows into LOST).</param>
    public SimKernel(bool verbose = false, int capacity = 32768 / 96, int pumpChunk = 4096, bool autoStart = true)
    {
        Model = new KernelHealthMonitorModel(verbose, capacity);
        var (r, w) = Libc.Pipe();
        // One page of pipe: with the pump's chunk this stands in for the kernel's own formatting buffer
        // (min(64 KiB, max(page, read size))), so at most a few dozen records are "in flight" as in the kernel.
        Libc.SetPipeSize(w, 4096);
        Source = new FdRecordSource(r);
        _write = w;
        _pump = new Thread(() =>
        {
            var buf = new byte[pumpChunk];
            while (true)
            {
                int n = Model.Read(buf);
                if (n <= 0) break;
                if (Libc.WriteAll(_write, buf.AsSpan(0, n)) != 0) break;
                Interlocked.Add(ref _pumped, n / HealthMonitorEvent.Size);
            }
            _write.Dispose(); // EOF for the reader
        }) { IsBackground = true, Name = "sim-kernel-pump" };
        if (autoStart) _pump.Start();
    }

    public void Start() { if (!_pump.IsAlive && _pump.ThreadState.HasFlag(ThreadState.Unstarted)) _pump.Start(); }

    public void Dispose()
    {
        Model.Unmount();
        Start();
        _pump.Join(TimeSpan.FromSeconds(10));
        Source.Fd.Dispose();
    }
}

public static class Sim
{
    public static (XfsHealerEngine Engine, MemoryConsole Console, SimulatedXfsTarget Target, RecordingUnitManager Units) Engine(
        bool repair = false, bool log = true, bool everything = false, int workers = 1, double fullCheckSeconds = 300,
        string mnt = "/mnt/scratch", Action<SimulatedXfsTarget>? setup = null, int queueCapacity = 16384, bool debug = false)
    {
        var con = new MemoryConsole();
        var target = new SimulatedXfsTarget(mnt);
        setup?.Invoke(target);
        var units = new RecordingUnitManager();
        var engine = new XfsHealerEngine(new XfsEngineSettings
        {
            Mountpoint = mnt, WantRepair = repair, Log = log, Everything = everything, Workers = workers,
            FullCheckInterval = TimeSpan.FromSeconds(fullCheckSeconds), QueueCapacity = queueCapacity, Debug = debug,
        }, target, units, con);
        return (engine, con, target, units);
    }

    /// <summary>Run the engine against the simulated kernel on another thread; returns its exit code.</summary>
    public static Task<int> RunAsync(XfsHealerEngine engine, SimKernel k) =>
        Task.Factory.StartNew(() => engine.Run(k.Source), TaskCreationOptions.LongRunning);

    /// <summary>Wait until user space has read everything the kernel queued (like fstests, which let the healer
    /// catch up before unmounting: UNMOUNT goes to the head of the kernel queue).</summary>
    public static void Drain(XfsHealerEngine engine, SimKernel k, int seconds = 60)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (k.Model.Pending > 0 || engine.Stats.RecordsRead < k.Pumped)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"simulated kernel not drained: pending {k.Model.Pending}, pumped {k.Pumped}, read {engine.Stats.RecordsRead}");
            Thread.Sleep(2);
        }
    }

    public static int RunToEnd(XfsHealerEngine engine, SimKernel k, Action<KernelHealthMonitorModel> script)
    {
        var run = RunAsync(engine, k);
        script(k.Model);
        k.Start();
        Drain(engine, k);
        k.Model.Unmount();
        Assert.True(run.Wait(TimeSpan.FromSeconds(30)), "engine did not exit after UNMOUNT");
        return run.Result;
    }
}
