using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FsHealer.Kernel.Tests.Infra;

/// <summary>
/// A block device whose chosen byte ranges fail with EIO: faultyfs (Infra/faultyfs/faultyfs.c, a
/// FUSE filesystem exposing disk.img over a sparse backing file, plus a ctl file) runs as our child in the foreground,
/// and a loop device is attached to its disk.img. Built on <see cref="ScratchFs"/>: teardown runs in reverse order
/// (clear the faults, umount, losetup -d, fusermount3 -u, wait for/kill the daemon, delete the directory).
/// </summary>
public sealed class FaultyDevice : IDisposable
{
    private static readonly Lazy<string> Binary = new(Build);
    private readonly Process _daemon;
    private readonly List<string> _daemonOutput = [];

    public ScratchFs Fs { get; }
    public string Dir => Fs.Dir;
    public string Mnt => Fs.Mnt;
    public string FuseMnt => Path.Combine(Dir, "fuse");
    /// <summary>The FUSE file the loop device sits on (mkfs may write it directly).</summary>
    public string Disk => Path.Combine(FuseMnt, "disk.img");
    private string Ctl => Path.Combine(FuseMnt, "ctl");
    /// <summary>The loop device over <see cref="Disk"/>.</summary>
    public string Device => Fs.Loop;
    public string DevName => Fs.DevName;
    /// <summary>The faultyfs daemon's pid.</summary>
    public int DaemonPid { get; private set; }

    private static string SourceFile([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "faultyfs", "faultyfs.c");

    public static void SkipUnlessPossible()
    {
        ScratchFs.Require(null, "fusermount3");
        if (!File.Exists(SourceFile())) Assert.Skip($"faultyfs source not found at {SourceFile()}");
        if (Sh.Run("sh", "-c", "command -v gcc && pkg-config --exists fuse3").Code != 0) Assert.Skip("gcc or fuse3 development files (pkg-config fuse3) missing");
        if (!File.Exists("/dev/fuse")) Assert.Skip("/dev/fuse missing");
    }

    /// <summary>faultyfs compiled once per test run, into a temp dir removed when the run ends.</summary>
    private static string Build()
    {
        string dir = Directory.CreateTempSubdirectory("fshealer-faultyfs-bin-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        string bin = Path.Combine(dir, "faultyfs");
        var flags = Sh.Check("pkg-config", "fuse3", "--cflags", "--libs").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Sh.Check("gcc", ["-O2", "-Wall", SourceFile(), .. flags, "-o", bin]);
        return bin;
    }

    /// <summary>faultyfs over a <paramref name="sizeMiB"/> MiB backing file, ready, with a loop device on disk.img.
    /// With <paramref name="fsType"/>: mkfs'ed (on disk.img, before the loop device is attached) and mounted at Mnt.</summary>
    public FaultyDevice(long sizeMiB, string? fsType = null, string[]? mkfsArgs = null, string? mountOptions = null, string tag = "faulty")
    {
        SkipUnlessPossible();
        if (fsType is not null) ScratchFs.Require(fsType);
        string bin = Binary.Value;
        Fs = new ScratchFs(tag);
        try
        {
            Directory.CreateDirectory(FuseMnt);
            string backing = Fs.NewImage("backing.img", sizeMiB);
            var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { backing, FuseMnt, "-f", "-o", "default_permissions" }) psi.ArgumentList.Add(a);
            _daemon = Process.Start(psi)!;
            DaemonPid = _daemon.Id;
            _daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_daemonOutput) _daemonOutput.Add(e.Data); };
            _daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_daemonOutput) _daemonOutput.Add(e.Data); };
            _daemon.BeginOutputReadLine();
            _daemon.BeginErrorReadLine();
            Fs.Defer("faultyfs", StopDaemon);
            for (int i = 0; i < 100 && !File.Exists(Disk) && !_daemon.HasExited; i++) Thread.Sleep(50);
            if (!File.Exists(Disk))
                throw new InvalidOperationException($"faultyfs did not come up at {FuseMnt} (exited: {_daemon.HasExited}): {DaemonOutput()}");
            if (fsType is not null) Fs.Mkfs(fsType, mkfsArgs, Disk);
            Fs.Attach(Disk);
            if (fsType is not null) Fs.Mount(mountOptions);
        }
        catch { Dispose(); throw; }
    }

    /// <summary>A further setup step (populate, remount); on failure everything is torn down before the exception
    /// leaves. Returns this, for <c>using var d = new FaultyDevice(..).Then(Populate);</c></summary>
    public FaultyDevice Then(Action<FaultyDevice> step)
    {
        try { step(this); return this; }
        catch { Dispose(); throw; }
    }

    private string DaemonOutput() { lock (_daemonOutput) return string.Join(" | ", _daemonOutput); }

    private void StopDaemon()
    {
        if (ScratchFs.IsMounted(FuseMnt) && Sh.Run("fusermount3", "-u", FuseMnt).Code != 0 && Sh.Run("umount", FuseMnt).Code != 0)
            Sh.Run("umount", "-l", FuseMnt); // test cleanup only
        if (!_daemon.WaitForExit(3000)) { try { _daemon.Kill(); } catch (InvalidOperationException) { } _daemon.WaitForExit(3000); }
        _daemon.Dispose();
    }

    public void FailReads(long offset, long length) => File.WriteAllText(Ctl, $"r {offset} {length}");
    public void FailWrites(long offset, long length) => File.WriteAllText(Ctl, $"w {offset} {length}");
    public void Clear() => File.WriteAllText(Ctl, "clear");
    /// <summary>faultyfs's counters: "reads=N writes=N read_eio=N write_eio=N ranges=N".</summary>
    public string Counters() => File.ReadAllText(Ctl).Trim();

    public static void DropCaches()
    {
        Sh.Run("sync");
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }

    /// <summary>ext4 only: byte range of the inode-table block holding <paramref name="rel"/>'s inode (debugfs imap).</summary>
    public (long Offset, int Length, uint Inode) InodeTableBlock(string rel)
    {
        var tok = Sh.Check("debugfs", "-R", $"imap /{rel}", Device).Split([' ', '\t', '\n', ','], StringSplitOptions.RemoveEmptyEntries);
        uint ino = uint.Parse(tok[Array.IndexOf(tok, "Inode") + 1]);
        long block = long.Parse(tok[Array.LastIndexOf(tok, "block") + 1]); // "Inode N is part of block group G \n located at block B, offset X"
        int bs = int.Parse(Sh.Check("tune2fs", "-l", Device).Split('\n').First(l => l.StartsWith("Block size:"))["Block size:".Length..].Trim());
        return (block * bs, bs, ino);
    }

    public void Dispose()
    {
        try { if (File.Exists(Ctl)) Clear(); } catch (IOException) { } // let the umount flush
        Fs?.Dispose();
    }
}
