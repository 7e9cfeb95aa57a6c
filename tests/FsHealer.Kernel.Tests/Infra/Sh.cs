using System.Diagnostics;

namespace FsHealer.Kernel.Tests.Infra;

/// <summary>Runs commands for real-kernel tests.</summary>
public static class Sh
{
    public sealed record Result(int Code, string Out, string Err);

    public static Result Run(string file, params string[] args) => RunIn(null, file, args);

    public static Result RunIn(string? cwd, string file, params string[] args) => RunWith(cwd, null, TimeSpan.FromMinutes(3), file, args);

    /// <summary>Runs with extra environment variables and its own time limit (then the process tree is killed).</summary>
    public static Result RunWith(string? cwd, IReadOnlyDictionary<string, string>? env, TimeSpan limit, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        try
        {
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(limit)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)}"); }
            return new Result(p.ExitCode, so.Result, se.Result);
        }
        finally
        {
            // Process.Dispose leaves the pipe readers to the finalizer: close them now, or no-fd-leak checks see them
            p.StandardOutput.Dispose();
            p.StandardError.Dispose();
        }
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
        if (!FsHealer.Interop.Libc.IsRoot) Assert.Skip("needs root (loop devices, mounts)");
    }

    public static void RequireTools(params string[] tools)
    {
        foreach (var t in tools) if (!Has(t)) Assert.Skip($"{t} is not installed");
    }
}
