using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using FsHealer.Linux.Interop;

namespace FsHealer.Kernel.Tests.Btrfs;

/// <summary>A btrfs on loop devices in a unique /tmp scratch dir; everything torn down in Dispose.</summary>
public sealed partial class BtrfsLoopFs : IDisposable
{
    public string Dir { get; }
    public string Mnt { get; }
    public List<string> Images { get; } = [];
    public List<string> Loops { get; } = [];
    private bool _mounted;

    public static void RequireTools()
    {
        if (!Libc.IsRoot) Assert.Skip("needs root (loop devices, mount, btrfs scrub)");
        foreach (var t in new[] { "mkfs.btrfs", "btrfs", "btrfs-map-logical", "filefrag", "losetup" })
            if (!HasTool(t)) Assert.Skip($"{t} not installed");
        if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal))
        {
            Sh("modprobe btrfs", check: false);
            if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal)) Assert.Skip("kernel has no btrfs");
        }
    }

    private static bool HasTool(string t) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':')
            .Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, t)));

    public BtrfsLoopFs(int devices, long sizeBytes, string mkfsArgs)
    {
        Dir = Path.Combine("/tmp", "fshealer-btrfs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Dir);
        Mnt = Path.Combine(Dir, "mnt");
        Directory.CreateDirectory(Mnt);
        try
        {
            for (int i = 0; i < devices; i++)
            {
                string img = Path.Combine(Dir, $"dev{i}.img");
                using (var f = File.Create(img)) f.SetLength(sizeBytes);
                Images.Add(img);
                Loops.Add(Sh($"losetup -f --show {img}").Trim());
            }
            Sh($"mkfs.btrfs -q -f {mkfsArgs} {string.Join(' ', Loops)}");
            Mount();
        }
        catch { Dispose(); throw; }
    }

    public void Mount() { Sh($"mount -o noatime {Loops[0]} {Mnt}"); _mounted = true; }
    public void Umount() { Sh($"umount {Mnt}"); _mounted = false; }
    public void LazyUmount() { Sh($"umount -l {Mnt}"); _mounted = false; }

    public static void DropCaches() { Sh("sync"); File.WriteAllText("/proc/sys/vm/drop_caches", "3"); }

    /// <summary>Write a file of seeded random bytes, fsync it; returns its SHA-256.</summary>
    public string WriteRandomFile(string name, int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        string p = Path.Combine(Mnt, name);
        using (var f = new FileStream(p, FileMode.Create, FileAccess.Write)) { f.Write(data); f.Flush(true); }
        return Convert.ToHexString(SHA256.HashData(data));
    }

    public string Hash(string name) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(Mnt, name))));

    /// <summary>btrfs logical address of the file's first block (FIEMAP via filefrag).</summary>
    public ulong LogicalOf(string name)
    {
        var o = Sh($"filefrag -v -b4096 {Path.Combine(Mnt, name)}");
        var m = ExtentLine().Match(o);
        Assert.True(m.Success, "filefrag output: " + o);
        return ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * 4096;
    }

    /// <summary>Physical offset of a logical address on the given loop device (btrfs-map-logical), or null.</summary>
    public ulong? PhysicalOn(ulong logical, string loop)
    {
        var o = Sh($"btrfs-map-logical -l {logical} -b 4096 {Loops[0]}");
        foreach (Match m in MirrorLine().Matches(o))
            if (m.Groups[2].Value == loop) return ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>Overwrite 4096 bytes of the backing image at a physical offset (dd conv=notrunc).</summary>
    public void Corrupt(int image, ulong physical)
    {
        Sh($"dd if=/dev/urandom of={Images[image]} bs=4096 count=1 seek={physical / 4096} conv=notrunc,fsync status=none");
    }

    public static string Sh(string cmd, bool check = true)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", cmd]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string e = err.Result;
        p.StandardOutput.Dispose();
        p.StandardError.Dispose();
        if (check && p.ExitCode != 0) throw new InvalidOperationException($"`{cmd}` exited {p.ExitCode}: {e}{o}");
        return o;
    }

    public static int OpenFdCount() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>fd → target, for naming leaked descriptors in assertion messages.</summary>
    public static Dictionary<string, string> OpenFds()
    {
        var d = new Dictionary<string, string>();
        foreach (var f in Directory.GetFiles("/proc/self/fd"))
        {
            try { d[Path.GetFileName(f)] = new FileInfo(f).LinkTarget ?? "?"; } catch (IOException) { }
        }
        return d;
    }

    public static string FdDiff(Dictionary<string, string> before)
    {
        var now = OpenFds();
        return string.Join("; ", now.Where(kv => !before.TryGetValue(kv.Key, out var t) || t != kv.Value).Select(kv => $"{kv.Key} -> {kv.Value}"));
    }

    public void Dispose()
    {
        if (_mounted || IsMounted())
        {
            Sh($"umount {Mnt}", check: false);
            if (IsMounted()) Sh($"umount -l {Mnt}", check: false);
        }
        foreach (var l in Loops) Sh($"losetup -d {l}", check: false);
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private bool IsMounted() => File.ReadAllText("/proc/self/mounts").Contains(" " + Mnt + " ", StringComparison.Ordinal);

    [GeneratedRegex(@"^\s*0:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.", RegexOptions.Multiline)]
    private static partial Regex ExtentLine();

    [GeneratedRegex(@"mirror \d+ logical \d+ physical (\d+) device (\S+)")]
    private static partial Regex MirrorLine();
}
