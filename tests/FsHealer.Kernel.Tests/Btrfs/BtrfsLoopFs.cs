using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Btrfs;

/// <summary>A btrfs on loop devices (<see cref="ScratchFs"/>) plus the btrfs test helpers; everything torn down in Dispose.</summary>
public sealed partial class BtrfsLoopFs : IDisposable
{
    private readonly ScratchFs _fs;
    public string Dir => _fs.Dir;
    public string Mnt => _fs.Mnt;
    public IReadOnlyList<string> Images => _fs.Images;
    public IReadOnlyList<string> Loops => _fs.Loops;

    public static void RequireTools()
    {
        ScratchFs.Require("btrfs", "btrfs", "btrfs-map-logical", "filefrag");
        if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal))
        {
            Sh("modprobe btrfs", check: false);
            if (!File.ReadAllText("/proc/filesystems").Contains("btrfs", StringComparison.Ordinal)) Assert.Skip("kernel has no btrfs");
        }
    }

    public BtrfsLoopFs(int devices, long sizeBytes, string mkfsArgs) =>
        _fs = ScratchFs.Create("btrfs", sizeBytes >> 20, devices, mkfsArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries), "noatime", tag: "btrfs");

    public void Mount() => _fs.Mount("noatime");
    public void Umount() => _fs.Umount();
    public void LazyUmount() => _fs.Umount(lazy: true);

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

    /// <summary>Run a shell command line (redirections allowed); its stdout.</summary>
    public static string Sh(string cmd, bool check = true)
    {
        var r = Infra.Sh.Run("/bin/sh", "-c", cmd);
        if (check && r.Code != 0) throw new InvalidOperationException($"`{cmd}` exited {r.Code}: {r.Err}{r.Out}");
        return r.Out;
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

    public void Dispose() => _fs.Dispose();

    [GeneratedRegex(@"^\s*0:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.", RegexOptions.Multiline)]
    private static partial Regex ExtentLine();

    [GeneratedRegex(@"mirror \d+ logical \d+ physical (\d+) device (\S+)")]
    private static partial Regex MirrorLine();
}
