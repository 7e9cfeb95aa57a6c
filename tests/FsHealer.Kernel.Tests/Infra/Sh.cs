using System.Diagnostics;

namespace FsHealer.Kernel.Tests.Infra;

/// <summary>Runs commands for real-kernel tests.</summary>
public static class Sh
{
    public sealed record Result(int Code, string Out, string Err);

    public static Result Run(string file, params string[] args) => RunIn(null, file, args);

    public static Result RunIn(string? cwd, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)}"); }
        return new Result(p.ExitCode, so.Result, se.Result);
    }

    public static string Check(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.Code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({r.Code}): {r.Err}{r.Out}");
        return r.Out;
    }

    public static bool Has(string tool) => Run("sh", "-c", $"command -v {tool}").Code == 0;

    /// <summary>Run the fshealer CLI (the built assembly, under the dotnet host).</summary>
    public static Result Fshealer(params string[] args) =>
        Run("dotnet", [typeof(FsHealer.Cli.Program).Assembly.Location, .. args]);

    public static void RequireRoot()
    {
        if (!FsHealer.Linux.Interop.Libc.IsRoot) Assert.Skip("needs root (loop devices, mounts)");
    }

    public static void RequireTools(params string[] tools)
    {
        foreach (var t in tools) if (!Has(t)) Assert.Skip($"{t} is not installed");
    }
}

/// <summary>A loop-mounted scratch filesystem, cleaned up on Dispose (umount, losetup -d, files).</summary>
public sealed class LoopFs : IDisposable
{
    public string Dir { get; }
    public string Image { get; }
    public string Mnt { get; }
    public string? Loop { get; private set; }
    private readonly List<string> _mounts = [];

    public LoopFs(string fstype, long sizeMiB = 320, string[]? mkfsArgs = null, string tag = "fs")
    {
        Sh.RequireRoot();
        Sh.RequireTools($"mkfs.{fstype}", "losetup");
        Dir = Directory.CreateTempSubdirectory($"fshealer-{tag}-").FullName;
        Image = Path.Combine(Dir, "img");
        Mnt = Path.Combine(Dir, "mnt");
        Directory.CreateDirectory(Mnt);
        using (var f = File.Create(Image)) f.SetLength(sizeMiB << 20);
        var args = new List<string>();
        args.AddRange(fstype switch { "xfs" => ["-q", "-f"], "ext4" => ["-q", "-F"], "btrfs" => ["-q", "-f"], _ => [] });
        if (mkfsArgs is not null) args.AddRange(mkfsArgs);
        args.Add(Image);
        Sh.Check($"mkfs.{fstype}", [.. args]);
        Loop = Sh.Check("losetup", "-f", "--show", Image).Trim();
        Mount(Loop, Mnt);
    }

    public void Mount(string source, string target, params string[] opts)
    {
        Sh.Check("mount", [.. opts, source, target]);
        _mounts.Add(target);
    }

    public void Umount(string target)
    {
        Sh.Check("umount", target);
        _mounts.Remove(target);
    }

    public void Dispose()
    {
        for (int i = _mounts.Count - 1; i >= 0; i--) Sh.Run("umount", _mounts[i]);
        if (Loop is not null) Sh.Run("losetup", "-d", Loop);
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
