using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using System.Diagnostics;

namespace FsHealer.Healing.Live;

/// <summary>Runs an external program (e2fsck, tune2fs, mount).</summary>
public interface ICommandRunner
{
    /// <summary>Exit status (or -1 when it could not run / timed out) and combined output.</summary>
    (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout);
}

public sealed class ProcessCommandRunner : ICommandRunner
{
    public (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LC_ALL"] = "C";
        try
        {
            using var p = Process.Start(psi);
            if (p is null) return (-1, $"{program}: could not start");
            var err = p.StandardError.ReadToEndAsync();
            var outp = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                return (-1, $"{program}: timed out after {timeout.TotalSeconds:0} s");
            }
            p.WaitForExit();
            return (p.ExitCode, (outp.Result + err.Result).Trim());
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, $"{program}: {e.Message}"); }
    }
}
