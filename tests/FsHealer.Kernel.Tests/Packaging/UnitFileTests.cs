using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Packaging;

/// <summary>Every shipped systemd unit passes `systemd-analyze verify` (no systemd PID 1 is needed for that).</summary>
public class UnitFileTests
{
    private static string Repo([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "../../.."));

    [Theory]
    [InlineData("fshealer.service")]
    [InlineData("fshealer@.service")]
    [InlineData("system-fshealer.slice")]
    public void SystemdAnalyzeVerify(string unit)
    {
        Sh.RequireTools("systemd-analyze");
        var dir = Directory.CreateTempSubdirectory("fshealer-units-").FullName;
        try
        {
            // point ExecStart at the binary we just built so that verify can check it exists and is executable
            var exe = Path.Combine(AppContext.BaseDirectory, "fshealer");
            Assert.True(File.Exists(exe), $"apphost {exe} missing");
            foreach (var f in Directory.GetFiles(Path.Combine(Repo(), "packaging/systemd")))
                File.WriteAllText(Path.Combine(dir, Path.GetFileName(f)), File.ReadAllText(f).Replace("/usr/local/bin/fshealer", exe));
            var name = unit.Contains("@.") ? unit.Replace("@.", "@mnt-data.") : unit;
            if (unit.Contains("@.")) File.Copy(Path.Combine(dir, unit), Path.Combine(dir, name));
            var r = Sh.RunIn(dir, "systemd-analyze", "verify", "--man=no", Path.Combine(dir, name));
            var problems = (r.Out + r.Err).Split('\n').Where(l => l.Length > 0 && l.Contains(dir)).ToArray();
            Assert.True(r.Code == 0 && problems.Length == 0, $"rc {r.Code}: {r.Out}{r.Err}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void XfsHealerWrapper_IsTwoLinesAndExecutable()
    {
        var path = Path.Combine(Repo(), "packaging/xfs_healer");
        var lines = File.ReadAllLines(path).Where(l => !l.StartsWith('#') || l.StartsWith("#!")).ToArray();
        Assert.Equal(["#!/bin/sh", "exec fshealer xfs-healer \"$@\""], lines);
        Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute));
    }
}
