using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Ext4;
using FsHealer.Model;
using FsHealer.Text;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;
using FsHealer.Service.Live;
using FsHealer.Scenario.Tests.Xfs;

namespace FsHealer.Scenario.Tests.Reliability;

internal sealed class CollectSink : IEventSink
{
    private readonly List<FsEvent> _events = [];
    public void Publish(FsEvent e) { lock (_events) _events.Add(e); }
    public FsEvent[] Events { get { lock (_events) return [.. _events]; } }
}

/// <summary>Scripted ICommandRunner: exit code and output per program; records every call.</summary>
internal sealed class FakeRunner(Func<string, IReadOnlyList<string>, (int, string)> script) : ICommandRunner
{
    public List<string> Calls { get; } = [];
    public (int Exit, string Output) Run(string program, IReadOnlyList<string> args, TimeSpan timeout)
    {
        Calls.Add(program + " " + string.Join(' ', args));
        return script(program, args);
    }
}

/// <summary>Faults in actions: each is handled, logged naming the thing, and leaves the system no worse.</summary>
public class ActionFaultTests
{
    private const string Mnt = "/mnt/faulty";

    [Theory]
    [InlineData(5)]    // EIO
    [InlineData(108)]  // ESHUTDOWN
    [InlineData(28)]   // ENOSPC
    [InlineData(16)]   // EBUSY
    public void Repair_ioctl_errno_gives_outcome_line_errno_and_one_full_check(int errno)
    {
        using var k = new SimKernel();
        var con = new MemoryConsole();
        var target = new SimulatedXfsTarget(Mnt, new Dictionary<string, string> { ["directory"] = $"errno:{errno}" });
        var units = new RecordingUnitManager();
        var sink = new CollectSink();
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = Mnt, WantRepair = true }, target, units, con) { Sink = sink };
        Sim.RunToEnd(engine, k, m =>
        {
            for (int i = 0; i < 5; i++)
            {
                m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 131, gen: 7); // directory
                m.ReportMetadata(HealthDomain.Fs, HealthEventType.Sick, 0x1);                       // fs counters: succeeds
            }
        });
        Assert.Equal(5, engine.Stats.RepairsFailed);
        Assert.Equal(5, engine.Stats.RepairsSucceeded);
        Assert.Equal(5, con.Stdout.Count(l => l == $"{Mnt} ino 131 gen 0x7 directory: Repair unsuccessful; offline repair required."));
        // the failed outcome carries the errno and the structure
        var failed = sink.Events.Where(e => e.Structure == "directory" && e.Errno == errno).ToArray();
        Assert.Equal(5, failed.Length);
        // one full check for the whole series (rate limited), announced once; the others suppressed with one notice
        Assert.Equal(["xfs_scrub@mnt-faulty.service"], units.Started);
        Assert.Single(con.Stdout, l => l == $"{Mnt}: Full repairs in progress.");
        Assert.Equal(4, engine.Stats.FullChecksSuppressed);
        Assert.Single(con.Stderr, l => l.Contains("full check already started recently"));
    }

    [Fact]
    public void Filesystem_vanishing_before_repair_is_logged_and_nothing_is_touched()
    {
        using var k = new SimKernel();
        var con = new MemoryConsole();
        var target = new SimulatedXfsTarget(Mnt) { ReopenErrno = Errno.ESTALE }; // another fs is mounted there now
        var units = new RecordingUnitManager();
        var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = Mnt, WantRepair = true }, target, units, con);
        Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 131, gen: 7));
        Assert.Empty(target.Calls);                      // no scrub issued against whatever is there now
        Assert.Equal(1, engine.Stats.ReopenFailures);
        Assert.Empty(units.Started);
        Assert.Contains(con.Stderr, l => l.StartsWith($"{Mnt}: cannot open filesystem to repair: ") && l.Contains(Errno.Message(Errno.ESTALE)));
    }

    private static string FakeBinary(string dir, string name, string script)
    {
        string p = Path.Combine(dir, name);
        File.WriteAllText(p, "#!/bin/sh\n" + script + "\n");
        File.SetUnixFileMode(p, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return p;
    }

    [Fact]
    public void Systemctl_missing_or_failing_is_logged_and_counted()
    {
        string dir = Directory.CreateTempSubdirectory("fshealer-systemctl-").FullName;
        try
        {
            var diags = new List<string>();
            // missing binary
            var missing = new SystemctlUnitManager(Path.Combine(dir, "no-such-systemctl"), diags.Add);
            Assert.False(missing.StartNoBlock("xfs_scrub@mnt.service"));
            Assert.Contains(diags, d => d.Contains("no-such-systemctl"));
            // failing binary (exit 5 as systemctl does for an unknown unit), records its arguments
            string argsFile = Path.Combine(dir, "args");
            string failing = FakeBinary(dir, "systemctl", $"echo \"$@\" >> {argsFile}; exit 5");
            var mgr = new SystemctlUnitManager(failing, diags.Add);
            Assert.False(mgr.StartNoBlock("xfs_scrub@mnt-faulty.service"));
            Assert.Equal("start --no-block xfs_scrub@mnt-faulty.service", File.ReadAllText(argsFile).Trim());

            // through the engine: a failed repair wants a full check; the start fails; it is logged and counted
            using var k = new SimKernel();
            var con = new MemoryConsole();
            var target = new SimulatedXfsTarget(Mnt, defaultOutcome: "fail");
            var engine = new XfsHealerEngine(new XfsEngineSettings { Mountpoint = Mnt, WantRepair = true }, target, mgr, con);
            Sim.RunToEnd(engine, k, m => m.ReportMetadata(HealthDomain.Inode, HealthEventType.Sick, 0x10, ino: 131, gen: 7));
            Assert.Equal(1, engine.Stats.FullCheckStartFailures);
            Assert.Equal(0, engine.Stats.FullChecksStarted);
            Assert.Contains(con.Stderr, l => l == $"{Mnt}: Could not start xfs_scrub service unit: xfs_scrub@mnt-faulty.service");
            Assert.DoesNotContain(con.Stdout, l => l.Contains("Full repairs in progress"));
        }
        finally { Directory.Delete(dir, true); }
    }

    private static Ext4HealPlan OfflinePlan() => Ext4HealPlanner.Plan(new Ext4HealInput
    {
        MountPoint = "/mnt/e4", Device = "/dev/loop9", HasErrors = true, Busy = false, Policy = Ext4HealPolicy.OfflineRepair,
        Options = Ext4MountOptions.Parse("rw,relatime,errors=remount-ro"),
    });

    [Fact]
    public void Ext4_unmount_EBUSY_never_forces_and_schedules_fsck_instead()
    {
        var plan = OfflinePlan();
        Assert.Equal(Ext4PlanDecision.OfflineRepair, plan.Decision);
        var runner = new FakeRunner((_, _) => (0, ""));
        var logged = new List<string>();
        int unmounts = 0;
        var exec = new OfflineRepairExecutor(runner, logged.Add)
        {
            UnmountFn = _ => { unmounts++; return Errno.EBUSY; }, UnmountRetryDelay = TimeSpan.FromMilliseconds(1),
        };
        var outcome = exec.Execute(plan);
        Assert.Equal(4, unmounts);                                     // bounded retries, never lazy
        Assert.DoesNotContain(runner.Calls, c => c.StartsWith("e2fsck") || c.StartsWith("mount")); // nothing run on a mounted fs
        Assert.Equal(Ext4PlanDecision.Schedule, outcome.Final);
        Assert.Contains(runner.Calls, c => c.StartsWith("tune2fs") && c.Contains("/dev/loop9"));
        Assert.Contains(logged, l => l.Contains("umount(/mnt/e4): EBUSY") && l.Contains("attempt 4"));
        Assert.Contains(logged, l => l == "/mnt/e4 is busy: not unmounting (never lazily); scheduling e2fsck instead");
    }

    [Theory]
    [InlineData(4)]   // errors left uncorrected
    [InlineData(8)]   // operational error
    public void Ext4_e2fsck_nonzero_exit_is_reported_remounted_and_scheduled(int status)
    {
        var runner = new FakeRunner((prog, _) => prog.EndsWith("e2fsck") ? (status, "Pass 1: Checking inodes\nUNEXPECTED INCONSISTENCY") : (0, ""));
        var logged = new List<string>();
        var exec = new OfflineRepairExecutor(runner, logged.Add) { UnmountFn = _ => 0 };
        var outcome = exec.Execute(OfflinePlan());
        Assert.False(outcome.Success);
        Assert.Contains(logged, l => l.StartsWith("FAILED") && l.Contains($"e2fsck exit {status}") && l.Contains("UNEXPECTED INCONSISTENCY"));
        // no worse than before: the filesystem is mounted again and a boot-time check is scheduled
        Assert.Contains(runner.Calls, c => c.StartsWith("mount"));
        int mountAt = runner.Calls.FindIndex(c => c.StartsWith("mount")), tuneAt = runner.Calls.FindIndex(c => c.StartsWith("tune2fs"));
        Assert.True(tuneAt >= 0 && tuneAt < mountAt, "force_fsck is set while unmounted, before the remount");
        Assert.Contains(logged, l => l.Contains("e2fsck scheduled"));
    }

    [Fact]
    public void Ext4_remount_failure_is_shouted_with_device_and_mountpoint()
    {
        var runner = new FakeRunner((prog, _) => prog.EndsWith("mount") ? (32, "mount: /mnt/e4: wrong fs type, bad option") : (0, ""));
        var logged = new List<string>();
        var exec = new OfflineRepairExecutor(runner, logged.Add) { UnmountFn = _ => 0 };
        var outcome = exec.Execute(OfflinePlan());
        Assert.False(outcome.Success);
        Assert.Contains(logged, l => l.StartsWith("REMOUNT FAILED: /dev/loop9 is NO LONGER MOUNTED at /mnt/e4: mount exit 32"));
        Assert.DoesNotContain(outcome.Steps, s => s.Step.Kind == Ext4StepKind.VerifyMounted); // no false "verified"
    }
}
