using System.Diagnostics;

namespace FsHealer.Kernel.Tests.XfsPoll;

/// <summary>Runs a tool and captures its output.</summary>
internal static class Sh
{
    public static (int Rc, string Out, string Err) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, so.Result, se.Result);
    }

    public static string Must(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.Rc != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed rc={r.Rc}: {r.Err}{r.Out}");
        return r.Out;
    }

    public static bool Have(string tool) =>
        new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool)));
}

/// <summary>
/// A pristine XFS image (built once per test run) laid out like test-machine.md §1: /bigdir (400 entries),
/// /small (60 xattrs), /f1 (4 MiB + one 3000-byte xattr in a leaf block), /data1..20, /remotelink (1000 chars).
/// </summary>
internal static class XfsPristine
{
    private static readonly Lazy<string> _image = new(Build);
    public static string Image => _image.Value;

    public static void RequireEnvironment()
    {
        if (Environment.UserName != "root" && FsHealer.Linux.Interop.Libc.geteuid() != 0) Assert.Skip("needs root (loop devices, mount)");
        foreach (var t in new[] { "mkfs.xfs", "xfs_db", "xfs_io", "losetup", "mount", "umount", "setfattr" })
            if (!Sh.Have(t)) Assert.Skip($"{t} not installed");
    }

    private static string Build()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-xfspoll-pristine-").FullName;
        var img = Path.Combine(dir, "pristine.img");
        Sh.Must("truncate", "-s", "512M", img);
        Sh.Must("mkfs.xfs", "-q", "-f", img);
        using (var fs = new XfsScratch(img, copy: false))
        {
            var m = fs.Mount;
            Directory.CreateDirectory(Path.Combine(m, "bigdir"));
            for (int i = 1; i <= 400; i++) File.WriteAllBytes(Path.Combine(m, "bigdir", $"file_with_long_name_{i}"), []);
            Directory.CreateDirectory(Path.Combine(m, "small"));
            for (int i = 1; i <= 60; i++) Sh.Must("setfattr", "-n", $"user.a{i}", "-v", "v", Path.Combine(m, "small"));
            var rnd = new Random(42);
            var buf = new byte[4 << 20]; rnd.NextBytes(buf);
            File.WriteAllBytes(Path.Combine(m, "f1"), buf);
            Sh.Must("setfattr", "-n", "user.big", "-v", new string('x', 3000), Path.Combine(m, "f1"));
            for (int i = 1; i <= 20; i++) { var d = new byte[100_000]; rnd.NextBytes(d); File.WriteAllBytes(Path.Combine(m, $"data{i}"), d); }
            File.CreateSymbolicLink(Path.Combine(m, "remotelink"), new string('y', 1000));
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return img;
    }
}

/// <summary>A loop-mounted copy of an XFS image in a unique scratch dir; unmounted, detached and deleted on Dispose.</summary>
internal sealed class XfsScratch : IDisposable
{
    public string Dir { get; }
    public string ImagePath { get; }
    public string Mount { get; }
    public string? Loop { get; private set; }
    private readonly bool _ownsImage;

    /// <param name="xfsDbCommands">xfs_db -x commands applied to the copy before mounting (corruption recipes)</param>
    public XfsScratch(string image, bool copy = true, params string[] xfsDbCommands)
    {
        Dir = Directory.CreateTempSubdirectory("fshealer-xfspoll-").FullName;
        Mount = Path.Combine(Dir, "mnt");
        Directory.CreateDirectory(Mount);
        _ownsImage = copy;
        ImagePath = copy ? Path.Combine(Dir, "work.img") : image;
        try
        {
            if (copy) Sh.Must("cp", "--sparse=always", image, ImagePath);
            if (xfsDbCommands.Length > 0)
            {
                var args = new List<string> { "-x" };
                foreach (var c in xfsDbCommands) { args.Add("-c"); args.Add(c); }
                args.Add(ImagePath);
                Sh.Must("xfs_db", args.ToArray());
            }
            Loop = Sh.Must("losetup", "-f", "--show", ImagePath).Trim();
            Sh.Must("mount", "-t", "xfs", Loop, Mount);
        }
        catch { Dispose(); throw; }
    }

    public string DeviceName => Path.GetFileName(Loop!);

    public bool Unmount() => !IsMounted() || Sh.Run("umount", Mount).Rc == 0;

    public bool IsMounted() => File.ReadAllText("/proc/self/mountinfo").Split('\n').Any(l => l.Split(' ').ElementAtOrDefault(4) == Mount);

    public void Dispose()
    {
        try { if (IsMounted()) Sh.Run("umount", Mount); } catch (IOException) { }
        if (Loop is not null) { Sh.Run("losetup", "-d", Loop); Loop = null; }
        try
        {
            if (_ownsImage && File.Exists(ImagePath)) File.Delete(ImagePath);
            if (!IsMounted()) Directory.Delete(Dir, true);
        }
        catch (IOException) { }
    }
}
