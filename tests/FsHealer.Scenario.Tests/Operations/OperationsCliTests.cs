using System.Diagnostics;

namespace FsHealer.Scenario.Tests.Operations;

/// <summary>The daemon's exit code for a broken configuration (the unit's RestartPreventExitStatus=), and the
/// OnFailure= reporter script with a fake sendmail and systemctl.</summary>
public class OperationsCliTests
{
    private static string Root()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"{file} did not finish");
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Run_with_a_broken_configuration_exits_78_EX_CONFIG_and_says_why()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-exconfig-").FullName;
        try
        {
            var cfg = Path.Combine(dir, "fshealer.json");
            File.WriteAllText(cfg, "{ \"xfs\": { \"policy\": \"sometimes\" } }");
            var r = Run("dotnet", [typeof(FsHealer.Cli.Program).Assembly.Location, "run", "--config", cfg, "--state-dir", Path.Combine(dir, "state"), "--duration", "5"]);
            Assert.Equal(78, r.Code);
            Assert.Equal(78, FsHealer.Cli.Commands.RunCommand.ExConfig);
            Assert.Contains("configuration", r.Err);
            Assert.Contains("sometimes", r.Err);
            // the unit does not restart on it
            var unit = File.ReadAllText(Path.Combine(Root(), "packaging/systemd/fshealer.service"));
            Assert.Contains("\nRestartPreventExitStatus=78\n", unit);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Failure_reporter_mails_the_units_status_or_says_why_not()
    {
        var script = Path.Combine(Root(), "packaging/fshealer-fail");
        var dir = Directory.CreateTempSubdirectory("fshealer-fail-").FullName;
        try
        {
            var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
            var mail = Path.Combine(dir, "mail");
            File.WriteAllText(Path.Combine(bin, "sendmail"), $"#!/bin/sh\necho \"$@\" > {mail}.args\ncat > {mail}\n");
            File.WriteAllText(Path.Combine(bin, "systemctl"), "#!/bin/sh\necho \"systemctl $*\"\necho '× fshealer.service - fshealer: self-healing'\necho '     Active: failed (Result: exit-code)'\n");
            foreach (var f in Directory.GetFiles(bin)) File.SetUnixFileMode(f, (UnixFileMode)0b111_101_101);
            var env = new Dictionary<string, string> { ["PATH"] = $"{bin}:/usr/bin:/bin" };
            var r = Run("/bin/sh", [script, "ops@example.org", "fshealer.service"], env);
            Assert.True(r.Code == 0, r.Out + r.Err);
            Assert.Contains("fshealer.service failed on", r.Out);
            Assert.Contains("mailed its status to ops@example.org", r.Out);
            Assert.Equal("-t -i", File.ReadAllText(mail + ".args").Trim());
            var msg = File.ReadAllText(mail);
            Assert.Contains("To: ops@example.org\n", msg);
            Assert.Matches(@"Subject: fshealer\.service failed on \S+\n", msg);
            Assert.Contains("systemctl status --full --no-pager --lines=200 fshealer.service", msg);
            Assert.Contains("Active: failed", msg);

            // no sendmail: logged, not mailed, no failure of its own
            File.Delete(Path.Combine(bin, "sendmail"));
            var r2 = Run("/bin/sh", [script, "root", "fshealer@-.service"], new Dictionary<string, string> { ["PATH"] = bin + ":/bin" });
            Assert.Equal(0, r2.Code);
            Assert.Contains("fshealer@-.service failed on", r2.Out);
            Assert.Contains("no sendmail installed, not mailed to root", r2.Out);
            // a missing unit argument is a usage error
            Assert.Equal(64, Run("/bin/sh", [script, "root"]).Code);
        }
        finally { Directory.Delete(dir, true); }
    }
}
