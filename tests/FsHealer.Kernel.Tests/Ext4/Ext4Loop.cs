using System.Security.Cryptography;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Ext4;

/// <summary>
/// A scratch ext4 filesystem on a loop device (<see cref="ScratchFs"/>): populated through the kernel, optionally
/// corrupted with debugfs while unmounted, then mounted with the given options. Dispose unmounts, detaches exactly our
/// loop device and deletes the files.
/// </summary>
public sealed class Ext4Loop : IDisposable
{
    private readonly ScratchFs _fs;
    public string Dir => _fs.Dir;
    public string Image => _fs.Image;
    public string Source => Path.Combine(Dir, "src");
    public string Mnt => _fs.Mnt;
    public string Device => _fs.Loop;
    public string DevName => _fs.DevName;
    public string SysDir => $"/sys/fs/ext4/{DevName}";
    public Dictionary<string, string> Checksums { get; } = [];

    public static void SkipUnlessPossible()
    {
        ScratchFs.Require("ext4", "debugfs", "e2fsck", "tune2fs", "mount");
        if (!Directory.Exists("/sys/fs/ext4")) Assert.Skip("ext4 not available (/sys/fs/ext4 missing)");
    }

    public Ext4Loop(string[]? debugfsCommands = null, string mountOptions = "errors=continue", int files = 6)
    {
        _fs = new ScratchFs("ext4");
        try
        {
            var rng = new Random(files * 7919);
            foreach (var d in new[] { "d1", "d2" })
            {
                Directory.CreateDirectory(Path.Combine(Source, d));
                for (int i = 1; i <= files; i++)
                {
                    var data = new byte[8192 + rng.Next(32768)];
                    rng.NextBytes(data);
                    string rel = $"{d}/f{i}";
                    File.WriteAllBytes(Path.Combine(Source, rel), data);
                    Checksums[rel] = Convert.ToHexString(SHA256.HashData(data));
                }
            }
            string image = _fs.NewImage("fs.img", 64);
            _fs.Mkfs("ext4", ["-L", "fshtest"], image);
            _fs.Attach(image);
            // Populate through the kernel (not mkfs -d): inodes get real generation numbers, as on any live filesystem.
            _fs.Mount();
            Must("cp", "-a", Source + "/.", Mnt);
            _fs.Umount();
            if (debugfsCommands is { Length: > 0 })
            {
                string cmds = Path.Combine(Dir, "debugfs.cmds");
                File.WriteAllLines(cmds, debugfsCommands);
                Must("debugfs", "-w", "-f", cmds, Device);
            }
            _fs.Mount(mountOptions);
        }
        catch { _fs.Dispose(); throw; }
    }

    public uint Inode(string rel)
    {
        var o = Must("debugfs", "-R", $"stat /{rel}", Device);
        var tok = o.Split([' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
        int i = Array.IndexOf(tok, "Inode:");
        return uint.Parse(tok[i + 1]);
    }

    public string Sysfs(string attr) => File.ReadAllText(Path.Combine(SysDir, attr)).Trim();

    /// <summary>errors_count lags: ext4 folds new errors into the superblock from deferred work.</summary>
    public void WaitErrorsCount(string n)
    {
        for (int i = 0; i < 100 && Sysfs("errors_count") != n; i++) Thread.Sleep(50);
        Assert.Equal(n, Sysfs("errors_count"));
    }

    public void TriggerFsError(string msg = "fshealer test")
    {
        File.WriteAllText(Path.Combine(SysDir, "trigger_fs_error"), msg);
    }

    /// <summary>Read a file in a child process (a different pid than ours), ignoring its failure.</summary>
    public (int Exit, string Output) CatInChild(string rel) => Run("cat", Path.Combine(Mnt, rel));

    public string Sha(string rel) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(Mnt, rel))));

    /// <summary>Run a tool; exit code and stdout followed by stderr.</summary>
    public static (int Exit, string Output) Run(string program, params string[] args)
    {
        var r = Sh.Run(program, args);
        return (r.Code, r.Out + r.Err);
    }

    public static string Must(string program, params string[] args)
    {
        var (exit, output) = Run(program, args);
        if (exit != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {exit}: {output}");
        return output;
    }

    public bool IsMounted() => ScratchFs.IsMounted(Mnt);

    public void Dispose() => _fs.Dispose();
}
