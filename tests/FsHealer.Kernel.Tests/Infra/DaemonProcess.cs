using System.Collections.Concurrent;
using System.Diagnostics;

namespace FsHealer.Kernel.Tests.Infra;

/// <summary>
/// A real <c>fshealer</c> process (the built assembly under the dotnet host) with its stdout and stderr captured line
/// by line. <see cref="WaitFor"/> polls a condition and fails with the captured output; <see cref="Dispose"/> kills the
/// process if it is still running, so a failing test never leaves a daemon behind.
/// </summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConcurrentQueue<string> _errLines = new();

    public Process Process { get; }
    public int Pid => Process.Id;
    public IEnumerable<string> Lines => _lines;
    public string Output => string.Join("\n", _lines);
    /// <summary>stderr alone (diagnostics, warnings, INTERRUPTED reports).</summary>
    public string Err => string.Join("\n", _errLines);

    /// <param name="wrapper">A command that execs the daemon in a changed environment (e.g. <c>setpriv</c> dropping a
    /// capability, <c>unshare -m sh -c '...; exec "$0" "$@"'</c>): it must exec, not fork, so that <see cref="Pid"/> is
    /// the daemon's.</param>
    public DaemonProcess(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, IReadOnlyList<string>? wrapper = null)
    {
        var psi = new ProcessStartInfo(wrapper is { Count: > 0 } ? wrapper[0] : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (wrapper is { Count: > 0 })
        {
            foreach (var w in wrapper.Skip(1)) psi.ArgumentList.Add(w);
            psi.ArgumentList.Add("dotnet");
        }
        psi.ArgumentList.Add(typeof(FsHealer.Cli.Program).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        Process = Process.Start(psi)!;
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _lines.Enqueue(e.Data); _errLines.Enqueue(e.Data); } };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    /// <summary><c>fshealer run</c> with these extra arguments.</summary>
    public static DaemonProcess Run(params string[] args) => new(["run", .. args]);

    public bool HasLine(Func<string, bool> match) => _lines.Any(match);

    /// <summary>Wait until <paramref name="condition"/> holds; on timeout fail naming <paramref name="what"/> with the output so far.</summary>
    public void WaitFor(Func<bool> condition, string what, double seconds = 15)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"timed out after {seconds} s waiting for {what}:\n{Output}");
            Thread.Sleep(50);
        }
    }

    /// <summary>Wait for the process to end by itself (e.g. <c>--duration</c>), output included; false on timeout.</summary>
    public bool WaitForExit(double seconds = 30)
    {
        if (!Process.WaitForExit(TimeSpan.FromSeconds(seconds))) return false;
        Process.WaitForExit();   // drains the asynchronous output readers
        return true;
    }

    /// <summary>SIGKILL and wait for the exit.</summary>
    public void Kill()
    {
        if (Process.HasExited) return;
        Process.Kill();
        Process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        Process.Dispose();
    }
}
