using System.Diagnostics;
using System.Runtime.InteropServices;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>
/// No pinning, no leaks: a real `fshealer run` watches while filesystems are mounted and unmounted thousands of
/// times. Every umount must succeed at once (umount2 without MNT_DETACH/MNT_FORCE), and the daemon's fd count and
/// RSS must stay flat. Counts: FSHEALER_CYCLES (tmpfs, default 2,000; full run 10,000) and FSHEALER_EXT4_CYCLES
/// (loop ext4, default 150; full run 1,000).
/// </summary>
public sealed partial class NoPinningTests : IDisposable
{
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string source, string target, string fstype, ulong flags, string? data);

    private readonly ScratchFs _scratch = new("pin");
    private Process? _daemon;

    public void Dispose()
    {
        if (_daemon is { HasExited: false }) { _daemon.Kill(); _daemon.WaitForExit(5000); }
        _daemon?.Dispose();
        _scratch.Dispose(); // unmounts what a failed cycle left mounted, detaches the loop device, deletes the files
    }

    /// <summary>A 16 MiB ext4 image on a loop device, and its mount point (mounted by the test with mount(2)).</summary>
    private (string Loop, string Mnt) Ext4Device(string name)
    {
        ScratchFs.Require("ext4");
        string img = _scratch.NewImage(name + ".img", 16), mnt = Path.Combine(_scratch.Dir, name);
        Directory.CreateDirectory(mnt);
        _scratch.Mkfs("ext4", null, img);
        string loop = _scratch.Attach(img);
        _scratch.Track(mnt); // after the attach: cleanup runs in reverse (umount, then losetup -d)
        return (loop, mnt);
    }

    private static int Env(string name, int def) => int.TryParse(Environment.GetEnvironmentVariable(name), out var n) && n > 0 ? n : def;

    private static int FdCount(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    private static long RssKb(int pid)
    {
        foreach (var l in File.ReadLines($"/proc/{pid}/status"))
            if (l.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        return -1;
    }

    private (Process P, List<string> Lines) StartDaemon()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(FsHealer.Cli.Program).Assembly.Location, "run", "--state-dir", Path.Combine(_scratch.Dir, "state"), "--poll-interval", "1" })
            psi.ArgumentList.Add(a);
        // A 64 MiB managed-heap cap: without it the GC lets garbage accumulate (RSS climbs ~7 KiB per tmpfs cycle and
        // ~90 KiB per ext4 cycle before a gen2 collection); with it, anything *retained* per cycle would make the
        // daemon fail with OutOfMemory long before the end, so "alive + flat RSS" proves no leak.
        // FSHEALER_PIN_NO_HEAP_LIMIT=1 measures the unconstrained daemon.
        if (Environment.GetEnvironmentVariable("FSHEALER_PIN_NO_HEAP_LIMIT") != "1")
            psi.Environment["DOTNET_GCHeapHardLimit"] = "0x4000000";
        var lines = new List<string>();
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add("ERR " + e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _daemon = p;
        return (p, lines);
    }

    private void Cycle(string label, int cycles, Func<string, int> mountOnce, string mnt, int sampleEvery)
    {
        var log = TestContext.Current.TestOutputHelper;
        var (p, lines) = StartDaemon();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(30))
        {
            lock (lines) if (lines.Count > 0) break;
            Assert.False(p.HasExited, "daemon exited at start");
            Thread.Sleep(50);
        }
        Thread.Sleep(1000); // let it settle (JIT, initial scan)
        int fd0 = FdCount(p.Id), fdMax = fd0;
        long rss0 = RssKb(p.Id), rssMax = rss0;
        var fds = new List<int>(); var rsss = new List<long>();
        sw.Restart();
        for (int i = 0; i < cycles; i++)
        {
            int e = mountOnce(mnt);
            Assert.True(e == 0, $"{label} cycle {i}: mount {mnt}: {FsHealer.Text.Errno.Name(e)}");
            if (i % 4 == 0) Thread.Sleep(1); // give the watcher a chance to attach before the umount
            e = Umount.Unmount(mnt);
            Assert.True(e == 0, $"{label} cycle {i}: umount {mnt}: {FsHealer.Text.Errno.Name(e)} (pinned?)");
            if (i % sampleEvery == 0 || i == cycles - 1)
            {
                Assert.False(p.HasExited, $"daemon exited during cycle {i}");
                int fd = FdCount(p.Id); long rss = RssKb(p.Id);
                fds.Add(fd); rsss.Add(rss);
                fdMax = Math.Max(fdMax, fd); rssMax = Math.Max(rssMax, rss);
            }
        }
        var elapsed = sw.Elapsed;
        Thread.Sleep(1500); // let the daemon catch up with the last detach
        int fd1 = FdCount(p.Id); long rss1 = RssKb(p.Id);
        Assert.False(p.HasExited, "daemon exited");
        p.Kill(); p.WaitForExit(5000);
        int errs; lock (lines) errs = lines.Count(l => l.StartsWith("ERR ", StringComparison.Ordinal));
        log?.WriteLine($"{label}: {cycles:N0} mount/umount cycles in {elapsed.TotalSeconds:F1} s; daemon fds first {fd0} last {fd1} max {fdMax}; " +
                       $"RSS KiB first {rss0} last {rss1} max {rssMax}; daemon stderr lines {errs}");
        lock (lines) foreach (var l in lines.Where(l => l.StartsWith("ERR ", StringComparison.Ordinal)).Take(3)) log?.WriteLine($"{label}: daemon said: {l}");
        log?.WriteLine($"{label}: fd samples {string.Join(',', fds.Take(20))}...; RSS samples {string.Join(',', rsss.Where((_, j) => j % Math.Max(1, rsss.Count / 10) == 0))}");
        // flat: no fd leaked per cycle (a few for timing, threads), RSS growth bounded (JIT/GC settle, not per cycle)
        Assert.True(fd1 <= fd0 + 4, $"fd count grew from {fd0} to {fd1}");
        Assert.True(fdMax <= fd0 + 16, $"fd count peaked at {fdMax} (start {fd0})");
        if (Environment.GetEnvironmentVariable("FSHEALER_PIN_NO_HEAP_LIMIT") != "1")
            Assert.True(rss1 - rss0 < 48 * 1024, $"RSS grew from {rss0} to {rss1} KiB");
        lock (lines) Assert.DoesNotContain(lines, l => l.Contains("OutOfMemory", StringComparison.OrdinalIgnoreCase) || l.Contains("Unhandled exception"));
    }

    [Fact]
    public void Tmpfs_mount_umount_cycles_leave_daemon_flat_and_never_pinned()
    {
        Sh.RequireRoot();
        string mnt = Path.Combine(_scratch.Dir, "t");
        Directory.CreateDirectory(mnt);
        _scratch.Track(mnt);
        Cycle("tmpfs", Env("FSHEALER_CYCLES", 2000), m => mount("fshealer-pin", m, "tmpfs", 0, "size=1m") == 0 ? 0 : Marshal.GetLastPInvokeError(), mnt, 100);
    }

    [Fact]
    public void Ext4_mount_umount_cycles_leave_daemon_flat_and_never_pinned()
    {
        var (loop, mnt) = Ext4Device("e");
        Cycle("ext4", Env("FSHEALER_EXT4_CYCLES", 150), m => mount(loop, m, "ext4", 0, "errors=remount-ro") == 0 ? 0 : Marshal.GetLastPInvokeError(), mnt, 10);
    }

    private static int SbMarks(int pid, string sdevHex)
    {
        int n = 0;
        foreach (var f in Directory.GetFiles($"/proc/{pid}/fdinfo"))
        {
            try { n += File.ReadAllLines(f).Count(l => l.StartsWith("fanotify sdev:" + sdevHex + " ", StringComparison.Ordinal)); }
            catch (IOException) { }
        }
        return n;
    }

    /// <summary>
    /// Remounting the same ext4 filesystem immediately after its umount (the attach can be seen before the detach
    /// of the old mount is processed): after the dust settles the daemon must still hold the FAN_FS_ERROR
    /// filesystem mark, or errors on the new mount go unseen. Checked via the daemon's fanotify fdinfo.
    /// </summary>
    [Fact]
    public void Ext4_immediate_remount_stays_watched()
    {
        var (loop, mnt) = Ext4Device("r");
        var (p, lines) = StartDaemon();
        Thread.Sleep(3000);
        Assert.Equal(0, mount(loop, mnt, "ext4", 0, null));
        // sdev as fdinfo prints it: the kernel-internal dev_t, MKDEV(major, minor) = major << 20 | minor, in hex
        var r = Sh.Check("stat", "-c", "%t %T", loop).Trim().Split(' ');
        uint major = Convert.ToUInt32(r[0], 16), minor = Convert.ToUInt32(r[1], 16);
        string sdev = ((major << 20) | minor).ToString("x");
        Thread.Sleep(1500);
        Assert.Equal(1, SbMarks(p.Id, sdev));
        int lost = 0, rounds = Env("FSHEALER_REMOUNT_ROUNDS", 8);
        for (int i = 0; i < rounds; i++)
        {
            for (int j = 0; j < 20; j++) // a burst of tight remounts (the daemon lags behind), ending mounted
            {
                Assert.Equal(0, Umount.Unmount(mnt));
                Assert.Equal(0, mount(loop, mnt, "ext4", 0, null));
            }
            Thread.Sleep(1500);
            if (SbMarks(p.Id, sdev) != 1) lost++;
        }
        string[] said; lock (lines) said = [.. lines.Where(l => l.Contains("already watched"))];
        TestContext.Current.TestOutputHelper?.WriteLine($"immediate remounts: {rounds}, mark missing afterwards in {lost}; 'already watched' lines {said.Length}");
        Assert.Equal(0, lost);
    }
}
