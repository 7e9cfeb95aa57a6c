using System.Diagnostics;
using System.Security.Cryptography;

namespace FsHealer.Kernel.Tests.Ext4;

/// <summary>
/// A scratch ext4 filesystem on a loop device: populated with mkfs.ext4 -d, optionally corrupted with debugfs before
/// it is attached, mounted under a unique /tmp dir. Dispose unmounts, detaches exactly our loop device and deletes files.
/// </summary>
public sealed class Ext4Loop : IDisposable
{
    public string Dir { get; }
    public string Image { get; }
    public string Source { get; }
    public string Mnt { get; }
    public string Device { get; private set; } = "";
    public string DevName => Path.GetFileName(Device);
    public string SysDir => $"/sys/fs/ext4/{DevName}";
    public Dictionary<string, string> Checksums { get; } = [];

    public static void SkipUnlessPossible()
    {
        if (Environment.UserName != "root" && !IsRoot()) Assert.Skip("needs root (loop devices, mount, fanotify filesystem marks)");
        foreach (var tool in new[] { "mkfs.ext4", "debugfs", "e2fsck", "tune2fs", "losetup", "mount" })
            if (!Which(tool)) Assert.Skip($"{tool} not installed");
        if (!Directory.Exists("/sys/fs/ext4")) Assert.Skip("ext4 not available (/sys/fs/ext4 missing)");
    }

    private static bool IsRoot() => Run("id", "-u").Output.Trim() == "0";
    private static bool Which(string tool) => Run("sh", "-c", $"command -v {tool}").Exit == 0;

    public Ext4Loop(string[]? debugfsCommands = null, string mountOptions = "errors=continue", int files = 6)
    {
        Dir = Path.Combine("/tmp", $"fshealer-ext4-{Guid.NewGuid():N}");
        Image = Path.Combine(Dir, "fs.img");
        Source = Path.Combine(Dir, "src");
        Mnt = Path.Combine(Dir, "mnt");
        Directory.CreateDirectory(Mnt);
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
        Must("truncate", "-s", "64M", Image);
        Must("mkfs.ext4", "-q", "-F", "-L", "fshtest", Image);
        Device = Must("losetup", "-f", "--show", Image).Trim();
        // Populate through the kernel (not mkfs -d): inodes get real generation numbers, as on any live filesystem.
        Must("mount", "-t", "ext4", Device, Mnt);
        Must("cp", "-a", Source + "/.", Mnt);
        Must("umount", Mnt);
        if (debugfsCommands is { Length: > 0 })
        {
            string cmds = Path.Combine(Dir, "debugfs.cmds");
            File.WriteAllLines(cmds, debugfsCommands);
            Must("debugfs", "-w", "-f", cmds, Device);
        }
        Must("mount", "-t", "ext4", "-o", mountOptions, Device, Mnt);
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

    public static (int Exit, string Output) Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o + err.Result);
    }

    public static string Must(string program, params string[] args)
    {
        var (exit, output) = Run(program, args);
        if (exit != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {exit}: {output}");
        return output;
    }

    public bool IsMounted() => File.ReadAllText("/proc/self/mountinfo").Split('\n').Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == Mnt);

    public void Dispose()
    {
        for (int i = 0; i < 20 && IsMounted(); i++)
        {
            if (Run("umount", Mnt).Exit == 0) break;
            Thread.Sleep(100);
        }
        if (IsMounted()) Run("umount", "-l", Mnt); // test cleanup only; fshealer itself never unmounts lazily
        if (Device.Length > 0) Run("losetup", "-d", Device);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
