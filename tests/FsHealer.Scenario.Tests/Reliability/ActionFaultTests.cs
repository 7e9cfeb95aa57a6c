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
}
