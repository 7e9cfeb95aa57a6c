using System.Diagnostics;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;

namespace FsHealer.Bench;

/// <summary>
/// Whole-pipeline throughput without BenchmarkDotNet (works under Native AOT too): N records through the decoder
/// alone, through the engine with --quiet (decode + queue + classify), and with full text logging to /dev/null.
/// Records are synthesized on the fly so memory does not grow with stream length.
/// </summary>
public static class Pipeline
{
    /// <summary>An endless mix of realistic records (every domain), cut off after N records, then UNMOUNT.</summary>
    public sealed class SyntheticSource(long records) : IRecordSource
    {
        private readonly byte[][] _mix = Mix();
        private long _left = records;
        private int _i;
        private bool _unmountSent;

        public static byte[][] Mix() =>
        [
            HealthMonitorEvent.Fs(HealthEventType.Corrupt, 0x81).ToBytes(),
            HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, 3, 0x110).ToBytes(),
            HealthMonitorEvent.Inode(HealthEventType.Corrupt, 131, 0x3a2b, 0x90).ToBytes(),
            HealthMonitorEvent.Inode(HealthEventType.Healthy, 4242, 7, 0x10).ToBytes(),
            HealthMonitorEvent.Media(HealthDomain.DataDev, 0x1234, 8).ToBytes(),
            HealthMonitorEvent.FileRange(HealthEventType.BufRead, 77, 1, 8192, 4096, 5).ToBytes(),
            HealthMonitorEvent.FileRange(HealthEventType.DataLost, 77, 1, 8192, 4096, 5).ToBytes(),
            HealthMonitorEvent.Shutdown(4).ToBytes(),
        ];

        public int Read(Span<byte> buffer)
        {
            int n = 0;
            while (buffer.Length - n >= 64 && _left > 0)
            {
                _mix[_i].CopyTo(buffer[n..]);
                _i = (_i + 1) % _mix.Length;
                _left--;
                n += 64;
            }
            if (n == 0 && !_unmountSent && buffer.Length >= 64)
            {
                HealthMonitorEvent.Unmount().Encode(buffer);
                _unmountSent = true;
                return 64;
            }
            return n;
        }
    }

    public static void Run(long n)
    {
        Console.WriteLine($"records: {n:N0}   runtime: {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}   aot: {!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported}");
        long rss0 = Rss("VmRSS");

        // 1. decode + classify only
        var buf = new byte[8192];
        var src = new SyntheticSource(n);
        var sw = Stopwatch.StartNew();
        long count = 0, actionable = 0;
        int r;
        while ((r = src.Read(buf)) > 0)
        {
            for (int off = 0; off < r; off += 64)
            {
                var e = HealthMonitorEvent.Decode(buf.AsSpan(off, 64));
                count++;
                if (!RepairPlanner.IsNotActionable(e.Type) && XfsHealthTables.IsValidCombination(e.Domain, e.Type)) actionable++;
            }
        }
        Report("decode+classify", count, sw.Elapsed);

        // 2. engine, --quiet (no event lines: reader thread + bounded queue + worker decision)
        Engine(n, log: false, "engine --quiet");

        // 3. engine, full text logging to /dev/null (every line formatted, flushed per line)
        Engine(n, log: true, "engine logging to /dev/null");

        Console.WriteLine($"peak RSS (VmHWM): {Rss("VmHWM") / 1024.0:F1} MiB   RSS at start: {rss0 / 1024.0:F1} MiB   now: {Rss("VmRSS") / 1024.0:F1} MiB");
        if (actionable == 0) Console.WriteLine("(no actionable events?)");
    }

    private static void Engine(long n, bool log, string name)
    {
        using var devnull = new StreamWriter(new FileStream("/dev/null", FileMode.Open, FileAccess.Write), bufferSize: 1 << 16);
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/bench", Log = log },
            null, new RecordingUnitManager(), new TextWriterConsole(devnull, devnull));
        long alloc0 = GC.GetTotalAllocatedBytes(true);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        engine.Run(new SyntheticSource(n));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        Console.WriteLine($"{"",30} CPU {cpu.TotalMilliseconds:F0} ms ({cpu.TotalMilliseconds / sw.Elapsed.TotalMilliseconds:F2} cores), {cpu.TotalMicroseconds * 1000 / n:F0} ns CPU per event");
        Console.WriteLine($"{"",30} allocated {(GC.GetTotalAllocatedBytes(true) - alloc0) / 1048576.0:F1} MiB");
        Report(name, engine.Stats.EventsHandled, sw.Elapsed);
        Console.WriteLine($"{"",30} peak RSS so far {Rss("VmHWM") / 1024.0:F1} MiB, GC heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0:F1} MiB committed {GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0:F1} MiB, gen0 GCs {GC.CollectionCount(0)}, max user-space queue depth {engine.Stats.MaxQueueDepth:N0}");
        if (engine.Stats.EventsHandled != n + 1) Console.WriteLine($"!! handled {engine.Stats.EventsHandled}, expected {n + 1}");
    }

    private static void Report(string name, long events, TimeSpan t) =>
        Console.WriteLine($"{name,-30} {events,12:N0} events in {t.TotalMilliseconds,9:F0} ms = {events / t.TotalSeconds,14:N0} events/s");

    public static long Rss(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim());
        return 0;
    }
}

/// <summary>Event → repair-ioctl issue latency on the simulated kernel: time from the record entering the
/// monitor fd (a pipe) to the scrub call being issued.</summary>
public static class Latency
{
    public static void Run(int samples)
    {
        var (r, w) = FsHealer.Interop.Libc.Pipe();
        var stamps = new long[samples];
        var lat = new double[samples];
        int idx = 0;
        var target = new SimulatedXfsTarget("/mnt/bench")
        {
            BeforeScrub = req =>
            {
                int i = (int)req.Agno;
                lat[i] = Stopwatch.GetElapsedTime(Volatile.Read(ref stamps[i])).TotalMicroseconds;
                Interlocked.Increment(ref idx);
            },
        };
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/bench", WantRepair = true, Log = false },
            target, new RecordingUnitManager(), new MemoryConsole());
        var run = Task.Factory.StartNew(() => engine.Run(new FsHealer.Interop.FdRecordSource(r)), TaskCreationOptions.LongRunning);
        var rec = new byte[64];
        for (int i = 0; i < samples; i++)
        {
            HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, (uint)i, 0x10).Encode(rec);
            Volatile.Write(ref stamps[i], Stopwatch.GetTimestamp());
            FsHealer.Interop.Libc.WriteAll(w, rec);
            while (Volatile.Read(ref idx) <= i) Thread.SpinWait(20);
        }
        HealthMonitorEvent.Unmount().Encode(rec);
        FsHealer.Interop.Libc.WriteAll(w, rec);
        run.Wait();
        // drop the first 10% (JIT tiering, thread start-up)
        var steady = lat[(samples / 10)..];
        Array.Sort(steady);
        int m = steady.Length;
        Console.WriteLine($"event → repair ioctl issue, {m:N0} samples (after {samples / 10:N0} warm-up): p50 {steady[m / 2]:F1} µs, p99 {steady[(int)(m * 0.99)]:F1} µs, max {steady[^1]:F1} µs");
    }
}

/// <summary>ext4 error → decoded fshealer event latency on a real loop ext4 (root): `echo 1 > trigger_fs_error`
/// timestamps the write; the FsErrorWatcher sink timestamps the decoded event.</summary>
public static class Ext4Latency
{
    public static int Run(int samples)
    {
        if (!FsHealer.Interop.Libc.IsRoot) { Console.Error.WriteLine("ext4-latency needs root"); return 1; }
        var dir = Directory.CreateTempSubdirectory("fshealer-ext4lat-").FullName;
        string img = Path.Combine(dir, "img"), mnt = Path.Combine(dir, "mnt");
        Directory.CreateDirectory(mnt);
        string? loop = null;
        try
        {
            Sh("truncate", "-s", "32M", img);
            Sh("mkfs.ext4", "-q", "-F", img);
            loop = Sh("losetup", "-f", "--show", img).Trim();
            Sh("mount", loop, mnt);
            var knob = $"/sys/fs/ext4/{Path.GetFileName(loop)}/trigger_fs_error";
            var got = new SemaphoreSlim(0);
            long stamp = 0;
            var lat = new List<double>();
            using var w = FsHealer.Fanotify.Live.FsErrorWatcher.Create(r =>
            {
                if (r.Event.Kind != FsHealer.Fanotify.FsErrorKind.Error) return;
                lat.Add(Stopwatch.GetElapsedTime(Interlocked.Read(ref stamp)).TotalMilliseconds);
                got.Release();
            }, _ => { }, resolvePaths: false, out var err) ?? throw new InvalidOperationException(err);
            if (w.Add(mnt, out err) != 0) throw new InvalidOperationException(err);
            w.Start();
            for (int i = 0; i < samples; i++)
            {
                Interlocked.Exchange(ref stamp, Stopwatch.GetTimestamp());
                File.WriteAllText(knob, "1");
                if (!got.Wait(TimeSpan.FromSeconds(5))) { Console.Error.WriteLine($"sample {i}: no event within 5 s"); return 1; }
            }
            lat.Sort();
            Console.WriteLine($"ext4 error → fshealer event, {samples} samples: p50 {lat[samples / 2]:F2} ms, p99 {lat[(int)(samples * 0.99)]:F2} ms, max {lat[^1]:F2} ms");
            return 0;
        }
        finally
        {
            Sh("umount", mnt, false);
            if (loop is not null) Sh("losetup", "-d", loop, false);
            Directory.Delete(dir, true);
        }
    }

    private static string Sh(string file, params object[] args)
    {
        bool check = true;
        var list = new List<string>();
        foreach (var a in args) { if (a is bool b) check = b; else list.Add((string)a); }
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in list) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEnd();
        var e = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"{file}: {e}");
        return o;
    }
}
