using System.Runtime.InteropServices;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Mounts;

/// <summary>
/// Scratch area for mount tests: a <see cref="ScratchFs"/> for images and loop devices, and a private tmpfs holding
/// the mount points (so `mount --move` works and nothing propagates). Dispose unmounts everything (lazily detaching the
/// tmpfs with all mounts below it), detaches our loop devices and deletes the files, even after a failure.
/// </summary>
internal sealed class MountScratch : IDisposable
{
    private readonly ScratchFs _fs = new("mounts");
    public string Dir => _fs.Dir;
    /// <summary>Root of the mount points (a private tmpfs).</summary>
    public string Mnt => _fs.Mnt;

    public const ulong MS_BIND = 4096, MS_MOVE = 8192, MS_REC = 16384, MS_PRIVATE = 1 << 18;
    public const int MNT_DETACH = 2;

    [DllImport("libc", SetLastError = true)] public static extern int mount(string? source, string target, string? fstype, ulong flags, string? data);
    [DllImport("libc", SetLastError = true)] public static extern int umount2(string target, int flags);

    public MountScratch()
    {
        try
        {
            if (mount("fsh-scratch", Mnt, "tmpfs", 0, "size=16m") != 0) throw new IOException($"mount tmpfs {Mnt}: errno {Marshal.GetLastPInvokeError()}");
            // unmount everything below (recursively, lazily) together with the scratch tmpfs itself
            _fs.Defer($"umount -l {Mnt}", () => umount2(Mnt, MNT_DETACH));
            if (mount(null, Mnt, null, MS_PRIVATE, null) != 0) throw new IOException($"make-private {Mnt}: errno {Marshal.GetLastPInvokeError()}");
        }
        catch { _fs.Dispose(); throw; }
    }

    public string MkDir(string name) { var p = Path.Combine(Mnt, name); Directory.CreateDirectory(p); return p; }

    /// <summary>Create a sparse image and mkfs it. Returns the image path.</summary>
    public string MakeImage(string fsType, string name, long sizeMb)
    {
        string img = _fs.NewImage(name + ".img", sizeMb);
        _fs.Mkfs(fsType, null, img);
        return img;
    }

    public string Losetup(string img) => _fs.Attach(img);

    public static void Mount(string dev, string dir, string fsType, string? opts = null)
    {
        if (mount(dev, dir, fsType, 0, opts) != 0)
            throw new IOException($"mount {dev} {dir} ({fsType}): errno {Marshal.GetLastPInvokeError()}");
    }

    public static int Umount(string dir) => umount2(dir, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public void Dispose()
    {
        if (ScratchFs.IsMounted(Mnt)) umount2(Mnt, MNT_DETACH); // first, so that our loop devices are free to detach
        _fs.Dispose();
    }
}
