using System.Diagnostics;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using System.ComponentModel;

namespace FsHealer.Service.Live;

/// <summary>
/// Unit control by running <c>systemctl start --no-block UNIT</c> (as xfsprogs does; success = exit status 0).
/// The child inherits no descriptors of ours: every fd fshealer opens is O_CLOEXEC.
/// </summary>
public sealed class SystemctlUnitManager(string systemctl = "systemctl", Action<string>? diagnostic = null) : IUnitManager
{
    public bool StartNoBlock(string unit) => Run("start", unit);
    public bool RestartNoBlock(string unit) => Run("restart", unit);
    public bool StopNoBlock(string unit) => Run("stop", unit);

    private bool Run(string verb, string unit)
    {
        var psi = new ProcessStartInfo(systemctl)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        psi.ArgumentList.Add(verb);
        psi.ArgumentList.Add("--no-block");
        psi.ArgumentList.Add(unit);
        try
        {
            using var p = Process.Start(psi);
            if (p is null) return false;
            p.StandardInput.Close();
            if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                diagnostic?.Invoke($"{systemctl} {verb} --no-block {unit}: timed out after 30 s");
                return false;
            }
            return p.ExitCode == 0;
        }
        catch (Win32Exception ex)
        {
            diagnostic?.Invoke($"{systemctl}: {ex.Message}");
            return false;
        }
    }
}
