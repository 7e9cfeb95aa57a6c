using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FsHealer.Kernel.Tests.Mounts;

/// <summary>
/// Scratch area for mount tests: a unique /tmp directory for images, and a private tmpfs holding the mount points
/// (so `mount --move` works and nothing propagates). Dispose unmounts everything, detaches loop devices and deletes
/// the files, even after a failure.
/// </summary>
internal sealed class MountScratch : IDisposable
{
    public string Dir { get; }
    /// <summary>Root of the mount points (a private tmpfs).</summary>
    public string Mnt { get; }
    private readonly List<string> _loops = [];
    private bool _mntMounted;

    public const ulong MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_PRIVATE = 1 << 18;
    public const int MNT_DETACH = 2;

    [DllImport("libc", SetLastError = true)] public static extern int mount(string? source, string target, string? fstype, ulong flags, string? data);
    [DllImport("libc", SetLastError = true)] public static extern int umount2(string target, int flags);

    public static string? SkipReason(params string[] tools)
    {
        if (!OperatingSystem.IsLinux()) return "Linux only";
        if (FsHealer.Linux.Interop.Libc.geteuid() != 0) return "needs root";
        foreach (var t in tools)
            if (!File.Exists($"/usr/sbin/{t}") && !File.Exists($"/sbin/{t}") && !File.Exists($"/usr/bin/{t}") && !File.Exists($"/bin/{t}"))
                return $"{t} not installed";
        return null;
    }

    public MountScratch()
    {
        Dir = Path.Combine("/tmp", $"fsh-mounts-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(Dir);
        Mnt = Path.Combine(Dir, "m");
        Directory.CreateDirectory(Mnt);
        if (mount("fsh-scratch", Mnt, "tmpfs", 0, "size=16m") != 0) throw new IOException($"mount tmpfs {Mnt}: errno {Marshal.GetLastPInvokeError()}");
        _mntMounted = true;
        if (mount(null, Mnt, null, MS_PRIVATE, null) != 0) throw new IOException($"make-private {Mnt}: errno {Marshal.GetLastPInvokeError()}");
    }

    public string MkDir(string name) { var p = Path.Combine(Mnt, name); Directory.CreateDirectory(p); return p; }

    public static (int Code, string Out) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string o = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o);
    }

    public static void Check(string file, params string[] args)
    {
        var (c, o) = Run(file, args);
        if (c != 0) throw new IOException($"{file} {string.Join(' ', args)} failed ({c}): {o}");
    }

    /// <summary>Create a sparse image and mkfs it. Returns the image path.</summary>
    public string MakeImage(string fsType, string name, long sizeMb)
    {
        string img = Path.Combine(Dir, name + ".img");
        using (var f = File.Create(img)) f.SetLength(sizeMb << 20);
        switch (fsType)
        {
            case "xfs": Check("mkfs.xfs", "-q", "-f", img); break;
            case "ext4": Check("mkfs.ext4", "-q", "-F", img); break;
            case "btrfs": Check("mkfs.btrfs", "-q", "-f", img); break;
            default: throw new ArgumentException(fsType);
        }
        return img;
    }

    public string Losetup(string img)
    {
        var (c, o) = Run("losetup", "-f", "--show", img);
        if (c != 0) throw new IOException($"losetup -f --show {img}: {o}");
        var dev = o.Trim();
        _loops.Add(dev);
        return dev;
    }

    public void Detach(string loop)
    {
        Run("losetup", "-d", loop);
        _loops.Remove(loop);
    }

    public static void Mount(string dev, string dir, string fsType, string? opts = null)
    {
        if (mount(dev, dir, fsType, 0, opts) != 0)
            throw new IOException($"mount {dev} {dir} ({fsType}): errno {Marshal.GetLastPInvokeError()}");
    }

    public static int Umount(string dir) => umount2(dir, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public void Dispose()
    {
        if (_mntMounted)
        {
            // unmount everything below (recursively, lazily) then the scratch tmpfs itself
            umount2(Mnt, MNT_DETACH);
            _mntMounted = false;
        }
        foreach (var l in _loops.ToArray())
        {
            for (int i = 0; i < 20; i++)
            {
                if (Run("losetup", "-d", l).Code == 0) break;
                Thread.Sleep(50);
            }
        }
        _loops.Clear();
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
