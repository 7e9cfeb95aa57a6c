using System.Collections.Concurrent;
using System.Diagnostics;
using FsHealer.Healing;
using FsHealer.Interop;

namespace FsHealer.Healing.Live;

/// <summary>Runs an external program (e2fsck, xfs_repair, tune2fs, blkid, mount).</summary>
public interface ICommandRunner
{
    /// <summary>Exit status (or -1 when it could not run / timed out) and combined output.</summary>
    (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout);
}

/// <summary>
/// Runs the tools fshealer uses, so that none outlives the daemon: each runs in a session and process group of its
/// own (util-linux <c>setsid</c>), with a parent-death signal (util-linux <c>setpriv --pdeathsig KILL</c>: if the
/// daemon dies, even by SIGKILL, the kernel kills the tool); <see cref="KillAll"/> kills every group still running
/// (the daemon calls it when it exits). An abort token kills the tool's whole group. Output is captured, the locale
/// is C. Without setsid/setpriv the tool runs directly (and is still killed on abort and at exit).
/// </summary>
public sealed class ToolRunner : ICommandRunner
{
    public static ToolRunner Shared { get; } = new();

    private static readonly ConcurrentDictionary<int, string> Running = new();
    private static readonly Lazy<(string? Setsid, string? Setpriv)> Wrappers = new(() => (FindInPath("setsid"), FindInPath("setpriv")));

    static ToolRunner()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>The tools running now (pid → command), for diagnostics and tests.</summary>
    public static IReadOnlyDictionary<int, string> RunningTools => Running;

    /// <summary>Kill every tool still running (their whole process groups). Returns how many.</summary>
    public static int KillAll()
    {
        int n = 0;
        foreach (var pid in Running.Keys)
        {
            Libc.Kill(-pid, Libc.SIGKILL);
            Libc.Kill(pid, Libc.SIGKILL);
            n++;
        }
        return n;
    }

    public (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var r = Run(program, args, timeout, CancellationToken.None);
        return (r.Exit, r.Output);
    }

    public ToolResult Run(string program, IReadOnlyList<string> args, TimeSpan timeout, CancellationToken abort)
    {
        var (setsid, setpriv) = Wrappers.Value;
        var argv = new List<string>();
        string exe = program;
        if (setsid is not null && setpriv is not null)
        {
            exe = setsid;
            argv.AddRange([setpriv, "--pdeathsig", "KILL", "--", program]);
        }
        argv.AddRange(args);
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in argv) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        Process? p = null;
        try
        {
            // the parent-death signal fires when the thread that forked exits: this thread waits for the tool
            p = Process.Start(psi);
            if (p is null) return new(-1, $"{program}: could not start");
            Running[p.Id] = $"{program} {string.Join(' ', args)}";
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync(CancellationToken.None);
            var outp = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
            bool killed = false, timedOut = false;
            using (abort.Register(() => { killed = true; Kill(p); }))
            {
                if (!p.WaitForExit(timeout)) { timedOut = true; Kill(p); }
                p.WaitForExit();
            }
            string output = (SafeResult(outp) + SafeResult(err)).Trim();
            if (killed) return new(-1, $"{program}: killed (stop request){Tail(output)}", Killed: true);
            if (timedOut) return new(-1, $"{program}: timed out after {timeout.TotalSeconds:0} s; killed{Tail(output)}");
            // setsid/setpriv report a missing program as 127 / 1 with their own message
            return new(p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e) { return new(-1, $"{program}: {e.Message}"); }
        catch (InvalidOperationException e) { return new(-1, $"{program}: {e.Message}"); }
        finally
        {
            if (p is not null) { Running.TryRemove(p.Id, out _); p.Dispose(); }
        }
    }

    private static void Kill(Process p)
    {
        try
        {
            Libc.Kill(-p.Id, Libc.SIGKILL);   // its group (setsid made it the leader)
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
    }

    private static string SafeResult(Task<string> t)
    {
        try { return t.Wait(TimeSpan.FromSeconds(5)) ? t.Result : ""; }
        catch (AggregateException) { return ""; }
    }

    private static string Tail(string output) => output.Length == 0 ? "" : ": " + output.Split('\n')[^1];

    /// <summary>The full path of <paramref name="program"/> in $PATH (or the path itself when it contains a '/'), or null.</summary>
    public static string? FindInPath(string program)
    {
        if (program.Contains('/')) return File.Exists(program) ? program : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, program);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
