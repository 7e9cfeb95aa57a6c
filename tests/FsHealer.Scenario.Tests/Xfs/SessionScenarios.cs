using System.Diagnostics;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Service.Live;

namespace FsHealer.Scenario.Tests.Xfs;

/// <summary>The xfs_healer program as a whole (setup messages, streams, exit codes) on the simulated kernel.</summary>
public class SessionScenarios
{
    private const string Mnt = "/mnt/t";

    private static (int Rc, MemoryConsole Con, SimulatedXfsPlatform? P) Run(string[] args, Action<SimulatedXfsPlatform>? tweak = null, byte[]? stream = null, bool serviceMode = false)
    {
        var con = new MemoryConsole();
        SimulatedXfsPlatform? platform = null;
        var slept = TimeSpan.Zero;
        var rc = new XfsHealerSession(con).Run(args, o =>
        {
            platform = new SimulatedXfsPlatform(o, () => new MemoryRecordSource(stream ?? [.. HealthMonitorEvent.Running().ToBytes(), .. HealthMonitorEvent.Unmount().ToBytes()]));
            tweak?.Invoke(platform);
            return platform;
        }, allowReplayOptions: true, serviceMode: () => serviceMode, sleep: t => slept += t);
        if (serviceMode && rc >= 0) Assert.Equal(TimeSpan.FromSeconds(2), slept);
        return (rc, con, platform);
    }

    [Fact]
    public void Supported_OK_Exit0_NoMonitoringLines()
    {
        var (rc, con, p) = Run(["--supported", Mnt]);
        Assert.Equal(0, rc);
        Assert.Equal([$"{Mnt}: Only logging errors per autofsck directive."], con.Stdout);
        Assert.False(p!.MountOpen);
    }

    [Fact]
    public void Supported_KernelWithoutMonitor_Exit1_Message()
    {
        var (rc, con, p) = Run(["--supported", Mnt], p => p.MonitorErrno = 25);
        Assert.Equal(1, rc);
        Assert.Equal([$"{Mnt}: XFS health monitoring not supported."], con.Stderr);
        Assert.False(p!.MountOpen); // mount fd closed on every path
    }

    [Fact]
    public void Supported_AlreadyRunning_Exit255()
    {
        var (rc, con, _) = Run(["--supported", Mnt], p => p.MonitorErrno = 17);
        Assert.Equal(255, rc);
        Assert.Equal([$"{Mnt}: XFS health monitoring already running."], con.Stderr);
    }

    [Fact]
    public void Supported_NotXfs_Exit255()
    {
        var (rc, con, _) = Run(["--supported", Mnt], p => p.IsXfsMount = false);
        Assert.Equal(255, rc);
        Assert.Equal([$"{Mnt}: Not a XFS mount point."], con.Stderr);
    }

    [Fact]
    public void Autofsck_None_DisablesDaemon_Exit1()
    {
        var (rc, con, _) = Run(["--supported", "--autofsck", "none", Mnt]);
        Assert.Equal(1, rc);
        Assert.Equal([$"{Mnt}: Disabling daemon per autofsck directive."], con.Stdout);
    }

    [Fact]
    public void Autofsck_Unset_OldFs_NoBackrefs_Disables()
    {
        var (rc, con, _) = Run(["--supported", "--no-rmapbt", "--no-parent", Mnt]);
        Assert.Equal(1, rc);
        Assert.Equal([$"{Mnt}: Disabling daemon per autofsck directive."], con.Stdout);
    }

    [Fact]
    public void NoAutofsck_WithoutRepair_LogsOnly_NoPolicyMessage()
    {
        var (rc, con, _) = Run(["--no-autofsck", "--no-rmapbt", "--no-parent", Mnt]);
        Assert.Equal(0, rc);
        Assert.Equal([$"{Mnt}: monitoring started", $"{Mnt}: filesystem unmounted"], con.Stdout);
    }

    [Fact]
    public void Repair_WithoutKernelSupport_IsFatal_ServiceExit1()
    {
        var (rc, con, _) = Run(["--repair", "--no-repair-support", Mnt], serviceMode: true);
        Assert.Equal(1, rc);
        Assert.Equal([$"{Mnt}: XFS online repair is not supported, exiting"], con.Stderr);
    }

    [Fact]
    public void AutofsckRepair_WithoutKernelSupport_DowngradesToReportOnly()
    {
        var (rc, con, _) = Run(["--autofsck", "repair", "--no-repair-support", Mnt]);
        Assert.Equal(0, rc);
        Assert.Equal($"{Mnt}: Automatically repairing per autofsck directive.", con.Stdout[0]);
        Assert.Equal($"{Mnt}: XFS online repair is not supported, will report only", con.Stdout[1]);
    }

    [Fact]
    public void Repair_WarnsAboutMissingBackrefs()
    {
        var (rc, con, _) = Run(["--repair", "--no-rmapbt", "--no-parent", Mnt]);
        Assert.Equal(0, rc);
        Assert.Equal([$"{Mnt}: XFS online repair is less effective without rmap btrees.",
                      $"{Mnt}: XFS online repair is less effective without parent pointers."], con.Stderr);
    }

    [Fact]
    public void Quiet_SuppressesLogOnlyPolicyMessage()
    {
        var (_, con, _) = Run(["--quiet", Mnt]);
        Assert.DoesNotContain(con.Stdout, l => l.Contains("Only logging"));
    }

    [Fact]
    public void UsageErrors_Exit1_UsageOnStderr()
    {
        var (rc, con, _) = Run([]);
        Assert.Equal(1, rc);
        Assert.Equal("Usage: xfs_healer [OPTIONS] mountpoint", con.Stderr[0]);
        (rc, con, _) = Run(["a", "b"]);
        Assert.Equal(1, rc);
        (rc, con, _) = Run(["--help", Mnt]);
        Assert.Equal(1, rc);
        Assert.Empty(con.Stdout);
    }

    [Fact]
    public void Version_And_Svcname()
    {
        var (rc, con, _) = Run(["-V"]);
        Assert.Equal(0, rc);
        Assert.Equal(["xfs_healer version 0.1.0"], con.Stdout);
        (rc, con, _) = Run(["--svcname", "/mnt/a-b/"]);
        Assert.Equal(0, rc);
        Assert.Equal(["xfs_healer@mnt-a\\x2db.service"], con.Stdout);
    }

    [Fact]
    public void ServiceMode_SquashesErrorsTo1_AndSleeps()
    {
        var (rc, _, _) = Run([Mnt], p => p.MonitorErrno = 17, serviceMode: true);
        Assert.Equal(1, rc);
    }

    [Fact]
    public void FakeSystemctl_StartNoBlock_SuccessAndFailure()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-systemctl-");
        try
        {
            var log = Path.Combine(dir.FullName, "calls");
            var ok = Path.Combine(dir.FullName, "systemctl-ok");
            File.WriteAllText(ok, $"#!/bin/sh\necho \"$@\" >> {log}\nexit 0\n");
            var bad = Path.Combine(dir.FullName, "systemctl-bad");
            File.WriteAllText(bad, $"#!/bin/sh\necho \"$@\" >> {log}\nexit 5\n");
            File.SetUnixFileMode(ok, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            File.SetUnixFileMode(bad, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);

            var con = new MemoryConsole();
            var engineOk = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/x y", WantRepair = true },
                new SimulatedXfsTarget("/mnt/x y", defaultOutcome: "fail"), new SystemctlUnitManager(ok), con);
            engineOk.Handle(HealthMonitorEvent.Fs(HealthEventType.Sick, 1));
            Assert.Contains("/mnt/x y: Full repairs in progress.", con.Stdout);

            var con2 = new MemoryConsole();
            var engineBad = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/x y", WantRepair = true },
                new SimulatedXfsTarget("/mnt/x y", defaultOutcome: "fail"), new SystemctlUnitManager(bad), con2);
            engineBad.Handle(HealthMonitorEvent.Fs(HealthEventType.Sick, 1));
            Assert.Contains("/mnt/x y: Could not start xfs_scrub service unit: xfs_scrub@mnt-x\\x20y.service", con2.Stderr);

            var calls = File.ReadAllLines(log);
            Assert.Equal(["start --no-block xfs_scrub@mnt-x\\x20y.service", "start --no-block xfs_scrub@mnt-x\\x20y.service"], calls);

            var con3 = new MemoryConsole();
            var engineMissing = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/m", WantRepair = true },
                new SimulatedXfsTarget("/m", defaultOutcome: "fail"), new SystemctlUnitManager(Path.Combine(dir.FullName, "nope")), con3);
            engineMissing.Handle(HealthMonitorEvent.Fs(HealthEventType.Sick, 1));
            Assert.Contains("/m: Could not start xfs_scrub service unit: xfs_scrub@m.service", con3.Stderr);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void ReplayCommand_EndToEnd_MatchesLivePipeline()
    {
        var file = Path.GetTempFileName();
        try
        {
            HealthMonitorEvent[] events =
            [
                HealthMonitorEvent.Running(),
                HealthMonitorEvent.Inode(HealthEventType.Sick, 131, 0x3a2b, 0x10 | 0x80),
                HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 2, 0x10),
                HealthMonitorEvent.Lost(3),
                HealthMonitorEvent.Unmount(),
            ];
            File.WriteAllBytes(file, events.SelectMany(e => e.ToBytes()).ToArray());
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { typeof(FsHealer.Cli.Program).Assembly.Location, "replay", file, "--mount", "/mnt/r", "--repair", "--outcome", "parent=fail", "--no-parent" })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);

            // the same records through the same engine in-process
            var con = new MemoryConsole();
            var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = "/mnt/r", WantRepair = true },
                new SimulatedXfsTarget("/mnt/r", new Dictionary<string, string> { ["parent"] = "fail" }), new RecordingUnitManager(), con);
            engine.Run(new MemoryRecordSource(File.ReadAllBytes(file)));
            Assert.Equal(string.Join("\n", con.Stdout) + "\n", stdout);
            Assert.Contains("/mnt/r ino 131 gen 0x3a2b parent: Repair unsuccessful; offline repair required.", stdout);
            Assert.Contains("(replay) would run: systemctl start --no-block xfs_scrub@mnt-r.service", stderr);
        }
        finally { File.Delete(file); }
    }
}
