using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.XfsPoll;

/// <summary>
/// A pristine XFS image (built once per test run) with what the corruption recipes need: /bigdir (400 entries),
/// /small (60 xattrs), /f1 (4 MiB + one 3000-byte xattr in a leaf block), /data1..20, /remotelink (1000 chars).
/// </summary>
internal static class XfsPristine
{
    private static readonly Lazy<string> _image = new(Build);
    public static string Image => _image.Value;

    public static void RequireEnvironment() => ScratchFs.Require("xfs", "xfs_db", "xfs_io", "mount", "umount", "setfattr");

    /// <summary>Whether <see cref="RequireEnvironment"/> would pass (root, the XFS tools, the kernel's xfs).</summary>
    public static bool Available =>
        FsHealer.Interop.Libc.IsRoot && new[] { "mkfs.xfs", "xfs_db", "xfs_io", "setfattr" }.All(Sh.Has)
        && File.ReadAllText("/proc/filesystems").Contains("\txfs\n", StringComparison.Ordinal);

    private static string Build()
    {
        var pristine = new ScratchFs("xfspoll-pristine"); // the image outlives this method: removed when the run ends
        try
        {
            var img = pristine.NewImage("pristine.img", 512);
            pristine.Mkfs("xfs", null, img);
            using (var fs = new XfsScratch(img, copy: false))
            {
                var m = fs.Mount;
                Directory.CreateDirectory(Path.Combine(m, "bigdir"));
                for (int i = 1; i <= 400; i++) File.WriteAllBytes(Path.Combine(m, "bigdir", $"file_with_long_name_{i}"), []);
                Directory.CreateDirectory(Path.Combine(m, "small"));
                for (int i = 1; i <= 60; i++) Sh.Check("setfattr", "-n", $"user.a{i}", "-v", "v", Path.Combine(m, "small"));
                var rnd = new Random(42);
                var buf = new byte[4 << 20]; rnd.NextBytes(buf);
                File.WriteAllBytes(Path.Combine(m, "f1"), buf);
                Sh.Check("setfattr", "-n", "user.big", "-v", new string('x', 3000), Path.Combine(m, "f1"));
                for (int i = 1; i <= 20; i++) { var d = new byte[100_000]; rnd.NextBytes(d); File.WriteAllBytes(Path.Combine(m, $"data{i}"), d); }
                File.CreateSymbolicLink(Path.Combine(m, "remotelink"), new string('y', 1000));
            }
            AppDomain.CurrentDomain.ProcessExit += (_, _) => pristine.Dispose();
            return img;
        }
        catch { pristine.Dispose(); throw; }
    }
}

/// <summary>A loop-mounted copy of an XFS image (<see cref="ScratchFs"/>); unmounted, detached and deleted on Dispose.</summary>
internal sealed class XfsScratch : IDisposable
{
    private readonly ScratchFs _fs;
    public string Dir => _fs.Dir;
    public string ImagePath { get; }
    public string Mount => _fs.Mnt;
    public string Loop => _fs.Loop;

    /// <param name="image">the image to mount: copied into the scratch dir, or with <paramref name="copy"/> false used in place</param>
    /// <param name="xfsDbCommands">xfs_db -x commands applied to the copy before mounting (corruption recipes)</param>
    public XfsScratch(string image, bool copy = true, params string[] xfsDbCommands)
    {
        _fs = new ScratchFs("xfspoll");
        try
        {
            ImagePath = copy ? _fs.CopyImage(image, "work.img") : image;
            if (xfsDbCommands.Length > 0)
            {
                var args = new List<string> { "-x" };
                foreach (var c in xfsDbCommands) { args.Add("-c"); args.Add(c); }
                args.Add(ImagePath);
                Sh.Check("xfs_db", [.. args]);
            }
            _fs.Attach(ImagePath);
            _fs.Mount(Loop, Mount, "-t", "xfs");
        }
        catch { _fs.Dispose(); throw; }
    }

    public string DeviceName => _fs.DevName;

    public bool Unmount() => !IsMounted() || Sh.Run("umount", Mount).Code == 0;

    public bool IsMounted() => ScratchFs.IsMounted(Mount);

    public void Dispose() => _fs.Dispose();
}
