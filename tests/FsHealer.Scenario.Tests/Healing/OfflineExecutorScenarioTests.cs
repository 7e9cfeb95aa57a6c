using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Service;
using FsHealer.Text;

namespace FsHealer.Scenario.Tests.Healing;

/// <summary>
/// A scripted system for the executor: one mount point holding the target filesystem (until unmounted, or until
/// something else is mounted over it), one device, tools answered per program, every action recorded in order.
/// </summary>
internal sealed class ScriptedHost : IHealHost
{
    public static readonly Guid U = Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae");
    public static readonly FilesystemIdentity Target = new(FilesystemIdentity.DevKeyOf(7, 3), "ext4", U);
    public const string Mnt = "/mnt/e4", Dev = "/dev/loop3";

    public readonly List<string> Calls = [];
    public bool Mounted = true;
    /// <summary>What is at the mount point instead of the target (null: the target, while mounted).</summary>
    public MountProbe? OverMounted;
    /// <summary>Device probe override (another namespace holds it, another superblock on it...).</summary>
    public Func<DeviceProbe>? Device;
    public Func<int> UnmountResult = () => 0;
    public Func<string, IReadOnlyList<string>, CancellationToken, ToolResult> Tool = (_, _, _) => new ToolResult(0, "");
    public int MountResult;
    public string FsType = "ext4";

    public MountProbe ProbeMount(string path) =>
        OverMounted ?? (Mounted && path == Mnt ? new MountProbe(Target.DevKey, Target.FsType, U, 42) : new MountProbe(FilesystemIdentity.DevKeyOf(254, 1), "ext4", Guid.Empty, 1));

    public DeviceProbe ProbeDevice(string device) =>
        Device?.Invoke() ?? new DeviceProbe(device, Target.DevKey, Target.FsType, U, Mounted, Mounted ? [Mnt] : []);

    public int Unmount(string path)
    {
        Calls.Add($"umount {path}");
        int e = UnmountResult();
        if (e == 0) Mounted = false;
        return e;
    }

    public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
    {
        Calls.Add($"{program} {string.Join(' ', args)}");
        return Tool(program, args, abort);
    }

    public int Mount(string device, string path, RemountSpec spec, out string detail)
    {
        Calls.Add($"mount {device} {path} {spec.OptionsText}");
        detail = "scripted";
        if (MountResult == 0) Mounted = true;
        return MountResult;
    }

    public int ReplayLog(string device, string fsType, out string detail)
    {
        Calls.Add($"replay {device}");
        detail = "scripted replay";
        return 0;
    }

    public void Sleep(TimeSpan t) { }

    public static OfflineFacts Facts(HealAction wanted = HealAction.OfflineRepair, FilesystemIdentity? id = null) => new()
    {
        Identity = id ?? Target, Path = Mnt, Device = Dev, Wanted = wanted,
        Remount = RemountSpec.From(new MountEntry
        {
            FsType = (id ?? Target).FsType, MountOptions = "rw,relatime",
            SuperOptions = (id ?? Target).FsType == "xfs" ? "rw,attr2,inode64" : "rw,errors=remount-ro,emergency_ro",
        }),
    };
}

public class OfflineExecutorScenarioTests
{
    private static (HealOutcome Outcome, List<string> Log) Run(ScriptedHost h, OfflineFacts? facts = null, HealControl? control = null)
    {
        var log = new List<string>();
        var plan = OfflinePlanner.Plan(facts ?? ScriptedHost.Facts());
        var o = new OfflineExecutor(h, (facts ?? ScriptedHost.Facts()).Identity, 42, log.Add).Execute(plan, control);
        return (o, log);
    }

    [Fact]
    public void Repair_verify_remount_in_order_each_after_its_proof()
    {
        var h = new ScriptedHost { Tool = (p, a, _) => new ToolResult(a.Contains("-y") ? 1 : 0, "") };
        var (o, _) = Run(h);
        Assert.True(o.Success && o.Verified, o.Summary);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -y /dev/loop3", "e2fsck -f -n /dev/loop3", "mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro"], h.Calls);
        Assert.Equal(3, o.Steps.Count(s => s.Step is ProveMountStep or ProveDeviceStep && s.Ok));
        Assert.Contains(o.Steps, s => s.Step is ProveRemountedStep && s.Ok);
        Assert.Equal("repaired, verified clean, mounted again", o.Summary);
    }

    [Fact]
    public void Another_filesystem_mounted_over_the_place_is_refused_and_untouched()
    {
        var h = new ScriptedHost { OverMounted = new MountProbe(FilesystemIdentity.DevKeyOf(7, 9), "ext4", Guid.Parse("25d2f4e3-679a-497c-8875-c45ce689a40f"), 77) };
        var (o, log) = Run(h);
        Assert.Empty(h.Calls);
        Assert.NotNull(o.Refusal);
        Assert.Contains("/mnt/e4 now holds another filesystem (ext4 on dev 7:9, UUID 25d2f4e3", o.Refusal);
        Assert.Contains(ScriptedHost.Target.ToString(), o.Refusal);
        Assert.False(o.Success);
        Assert.Equal(HealDecision.Refuse, o.Final);
        Assert.Contains(log, l => l.StartsWith("FAILED: prove /mnt/e4"));
    }

    [Fact]
    public void Device_held_elsewhere_after_the_unmount_is_not_repaired_but_mounted_again()
    {
        var h = new ScriptedHost();
        h.Device = () => new DeviceProbe(ScriptedHost.Dev, ScriptedHost.Target.DevKey, "ext4", ScriptedHost.U, true, []);
        var (o, _) = Run(h);
        // no tool touches a device whose identity could not be proven (not even tune2fs); it is only mounted back
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("e2fsck") || c.StartsWith("tune2fs"));
        Assert.Equal(["umount /mnt/e4", "mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro"], h.Calls);
        Assert.Contains("in use", o.Refusal);
        Assert.False(o.LeftUnmounted);
        Assert.False(o.Success);
    }

    [Fact]
    public void Ebusy_is_retried_then_scheduled_never_lazy_never_a_tool_on_a_mounted_filesystem()
    {
        int n = 0;
        var h = new ScriptedHost { UnmountResult = () => { n++; return Errno.EBUSY; } };
        var (o, log) = Run(h);
        Assert.Equal(4, n);
        Assert.Equal(HealDecision.Schedule, o.Final);
        Assert.True(o.Success);
        Assert.Equal(["umount /mnt/e4", "umount /mnt/e4", "umount /mnt/e4", "umount /mnt/e4", "tune2fs -E force_fsck /dev/loop3"], h.Calls);
        Assert.Contains(log, l => l.Contains("umount(/mnt/e4): EBUSY") && l.Contains("attempt 4"));
        Assert.Contains(log, l => l == "/mnt/e4 is busy: not unmounting it (never lazily)");
    }

    [Fact]
    public void Transient_ebusy_is_retried_then_repairs()
    {
        int n = 0;
        var h = new ScriptedHost { UnmountResult = () => ++n < 3 ? Errno.EBUSY : 0 };
        var (o, _) = Run(h);
        Assert.True(o.Verified, o.Summary);
        Assert.Contains(o.Steps, s => s.Step is UnmountStep && s.Detail == "unmounted (attempt 3)");
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("tune2fs"));
    }

    [Fact]
    public void Other_unmount_errors_fail_and_schedule_without_touching_the_device()
    {
        var h = new ScriptedHost { UnmountResult = () => Errno.EPERM };
        var (o, _) = Run(h);
        Assert.False(o.Success);
        Assert.Contains(o.Steps, s => s.Detail.Contains("EPERM: Operation not permitted"));
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("e2fsck") || c.StartsWith("mount"));
        Assert.Contains("tune2fs -E force_fsck /dev/loop3", h.Calls);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void Failed_repair_schedules_before_the_remount_and_still_remounts(int status)
    {
        var h = new ScriptedHost { Tool = (p, _, _) => p == "e2fsck" ? new ToolResult(status, "Pass 1\nUNEXPECTED INCONSISTENCY") : new ToolResult(0, "") };
        var (o, log) = Run(h);
        Assert.False(o.Success);
        Assert.False(o.LeftUnmounted);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -y /dev/loop3", "tune2fs -E force_fsck /dev/loop3", "mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro"], h.Calls);
        Assert.Contains(log, l => l.StartsWith("FAILED") && l.Contains($"e2fsck exit {status}") && l.Contains("UNEXPECTED INCONSISTENCY"));
    }

    [Fact]
    public void Remount_failure_is_shouted_and_never_called_proven()
    {
        var h = new ScriptedHost { MountResult = Errno.EINVAL };
        var (o, log) = Run(h);
        Assert.True(o.LeftUnmounted);
        Assert.False(o.Success);
        Assert.Contains(log, l => l.StartsWith("REMOUNT FAILED: /dev/loop3 is NO LONGER MOUNTED at /mnt/e4") && l.Contains("mount -t ext4 -o rw,relatime,errors=remount-ro /dev/loop3 /mnt/e4"));
        Assert.DoesNotContain(o.Steps, s => s.Step is ProveRemountedStep);
        Assert.Equal("FAILED: the filesystem is NOT MOUNTED again", o.Summary);
    }

    [Fact]
    public void Stop_request_before_the_unmount_cancels_without_touching_anything()
    {
        var h = new ScriptedHost();
        var c = new HealControl();
        c.RequestStop();
        var (o, _) = Run(h, control: c);
        Assert.Empty(h.Calls);
        Assert.Contains("daemon is stopping", o.Refusal);
    }

    [Fact]
    public void Abort_during_the_repair_kills_the_tool_and_rolls_back()
    {
        var c = new HealControl();
        var h = new ScriptedHost
        {
            Tool = (p, _, abort) =>
            {
                if (p != "e2fsck") return new ToolResult(0, "");
                c.RequestAbort();   // the stop grace ran out while e2fsck was running
                return abort.IsCancellationRequested ? new ToolResult(-1, "e2fsck: killed (stop request)", Killed: true) : new ToolResult(0, "");
            },
        };
        var (o, _) = Run(h, control: c);
        Assert.True(o.Aborted);
        Assert.False(o.LeftUnmounted);
        Assert.Equal(["umount /mnt/e4", "e2fsck -f -y /dev/loop3", "tune2fs -E force_fsck /dev/loop3", "mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro"], h.Calls);
        Assert.Equal("aborted by a stop request: the repair tool was killed; mounted again unrepaired", o.Summary);
    }

    [Fact]
    public void Xfs_dirty_log_is_replayed_never_zeroed_then_repaired()
    {
        var xfs = new FilesystemIdentity(ScriptedHost.Target.DevKey, "xfs", ScriptedHost.U);
        int repairs = 0;
        var h = new ScriptedHost
        {
            Device = () => new DeviceProbe(ScriptedHost.Dev, xfs.DevKey, "xfs", ScriptedHost.U, false, []),
            Tool = (p, a, _) => p == "xfs_repair" && a.Count == 1 ? new ToolResult(++repairs == 1 ? 2 : 0, "") : new ToolResult(0, ""),
        };
        var facts = ScriptedHost.Facts(id: xfs);
        var plan = OfflinePlanner.Plan(facts);
        var o = new OfflineExecutor(new XfsProbe(h, xfs), xfs, 42).Execute(plan);
        Assert.True(o.Verified, o.Summary);
        Assert.Equal(["umount /mnt/e4", "xfs_repair /dev/loop3", "replay /dev/loop3", "xfs_repair /dev/loop3", "xfs_repair -n /dev/loop3",
                      "mount /dev/loop3 /mnt/e4 rw,relatime,inode64"], h.Calls);
        Assert.DoesNotContain(h.Calls, c => c.Contains("-L"));
    }

    /// <summary>The scripted mount probe answers "ext4"; for the XFS case it must answer "xfs".</summary>
    private sealed class XfsProbe(ScriptedHost h, FilesystemIdentity id) : IHealHost
    {
        public MountProbe ProbeMount(string path) => h.ProbeMount(path) is { Error: null } p && p.DevKey == id.DevKey ? p with { FsType = "xfs" } : h.ProbeMount(path);
        public DeviceProbe ProbeDevice(string device) => h.ProbeDevice(device);
        public int Unmount(string path) => h.Unmount(path);
        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort) => h.Run(program, args, abort);
        public int Mount(string device, string path, RemountSpec spec, out string detail) => h.Mount(device, path, spec, out detail);
        public int ReplayLog(string device, string fsType, out string detail) => h.ReplayLog(device, fsType, out detail);
        public void Sleep(TimeSpan t) { }
    }

    [Fact]
    public void A_log_sink_that_throws_never_interrupts_the_action()
    {
        var h = new ScriptedHost();
        var plan = OfflinePlanner.Plan(ScriptedHost.Facts());
        var o = new OfflineExecutor(h, ScriptedHost.Target, 42, _ => throw new IOException("No space left on device")).Execute(plan);
        Assert.True(o.Verified, o.Summary);
        Assert.True(h.Mounted);
    }
}

/// <summary>The pipeline: policy → gate → plan → durable start → executor → outcome events.</summary>
public class HealingPipelineScenarioTests
{
    private sealed class Sink : IFlushableSink
    {
        public readonly List<FsEvent> Events = [];
        public bool Durable = true;
        public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
        public bool Flush(TimeSpan timeout) => Durable;
        public FsEvent[] Snapshot() { lock (Events) return [.. Events]; }
    }

    private static (HealingPipeline P, Sink S, ScriptedHost H, MemoryConsole C, WatchedFilesystem Fs) Make(EffectivePolicy? policy = null, bool durable = true)
    {
        var hub = new EventHub();
        var sink = new Sink { Durable = durable };
        hub.Add(sink);
        var host = new ScriptedHost();
        var con = new MemoryConsole();
        var p = new HealingPipeline(hub, con, host, (fs, wanted) => ScriptedHost.Facts(wanted) with { Path = fs.Path });
        var fs = new WatchedFilesystem(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev, policy ?? EffectivePolicy.Defaults with { Ext4 = Ext4Policy.OfflineRepair });
        return (p, sink, host, con, fs);
    }

    [Fact]
    public void Offline_repair_is_journaled_durably_before_it_starts_and_its_outcome_credits_the_filesystem()
    {
        var (p, s, h, _, fs) = Make();
        using var _ = p;
        Assert.True(p.Submit(fs, "EUCLEAN reported"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        var ev = s.Snapshot();
        var started = Assert.Single(ev, e => e.Class == EventClass.ActionStarted);
        var done = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair);
        Assert.Equal(started.CorrelationId, done.CorrelationId);
        Assert.True(Array.IndexOf(ev, started) < Array.IndexOf(ev, done));
        Assert.Equal(Severity.Notice, done.Severity);
        Assert.Equal(ScriptedHost.Target.Id, done.FsId);
        Assert.True(StatusComputer.IsGoodCheck(done));
        Assert.Contains("e2fsck -f -y /dev/loop3", h.Calls);
    }

    [Fact]
    public void Without_a_durable_journal_no_offline_action_runs()
    {
        var (p, s, h, con, fs) = Make(durable: false);
        using var _ = p;
        p.Submit(fs, "EUCLEAN reported");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("umount") || c.StartsWith("e2fsck"));
        Assert.Contains("tune2fs -E force_fsck /dev/loop3", h.Calls);   // scheduling is still safe
        Assert.NotNull(p.NotDurable);
        Assert.Contains(con.Stderr, l => l.Contains("no offline action runs"));
        Assert.Contains(s.Snapshot(), e => e.Class == EventClass.CheckScheduled);
    }

    [Fact]
    public void A_refusal_is_published_naming_both_filesystems_and_does_not_credit_the_target()
    {
        var h = new ScriptedHost { OverMounted = new MountProbe(FilesystemIdentity.DevKeyOf(7, 9), "ext4", Guid.Parse("25d2f4e3-679a-497c-8875-c45ce689a40f"), 77) };
        var fs = new WatchedFilesystem(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev, EffectivePolicy.Defaults with { Ext4 = Ext4Policy.OfflineRepair });
        // facts from the scripted view: what is at the mount point now is not the target
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        using var p2 = new HealingPipeline(hub, new MemoryConsole(), h, (f, wanted) => ScriptedHost.Facts(wanted) with
        {
            NotTheTarget = IdentityProof.Mount(f.Identity, f.MountId, f.Path, h.ProbeMount(f.Path)),
        });
        p2.Submit(fs, "EUCLEAN reported");
        Assert.True(p2.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Empty(h.Calls);
        var refused = Assert.Single(sink.Snapshot(), e => e.Class == EventClass.RepairRefused);
        Assert.Contains(ScriptedHost.Target.Uuid!.Value.ToString("D"), refused.Message);
        Assert.Contains("25d2f4e3-679a-497c-8875-c45ce689a40f", refused.Message);
        Assert.False(StatusComputer.IsGoodCheck(refused));
        Assert.DoesNotContain(sink.Snapshot(), StatusComputer.IsGoodCheck);
    }

    [Fact]
    public void The_gate_limits_repeats_and_requests_for_one_filesystem_merge()
    {
        var (p, s, h, con, fs) = Make();
        using var _ = p;
        p.Submit(fs, "first");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        p.Submit(fs, "second");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Single(s.Snapshot(), e => e.Class == EventClass.ActionStarted);
        Assert.Contains(con.Stdout, l => l.Contains("second: no new offline repair before") && l.Contains("rate limit"));
    }

    [Fact]
    public void Report_policy_submits_nothing()
    {
        var (p, s, h, _, fs) = Make(EffectivePolicy.Defaults);
        using var _ = p;
        Assert.False(p.Submit(fs, "x"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(5)));
        Assert.Empty(h.Calls);
    }

    [Fact]
    public void Stop_lets_a_running_repair_finish_within_the_grace()
    {
        var (p, s, h, con, fs) = Make();
        var started = new ManualResetEventSlim();
        h.Tool = (prog, _, _) => { if (prog == "e2fsck") { started.Set(); Thread.Sleep(500); } return new ToolResult(0, ""); };
        p.Submit(fs, "x");
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        var how = p.Stop(TimeSpan.FromSeconds(20));
        Assert.Contains("finished before the daemon stopped", how);
        Assert.True(h.Mounted);
        Assert.Contains(s.Snapshot(), e => e.Class == EventClass.OfflineRepair && e.Severity == Severity.Notice);
        Assert.False(p.Submit(fs, "after stop"));
    }

    [Fact]
    public void Stop_aborts_and_rolls_back_a_repair_that_outlives_the_grace()
    {
        var (p, s, h, con, fs) = Make();
        var started = new ManualResetEventSlim();
        h.Tool = (prog, _, abort) =>
        {
            if (prog != "e2fsck") return new ToolResult(0, "");
            started.Set();
            return abort.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)) ? new ToolResult(-1, "killed", Killed: true) : new ToolResult(0, "");
        };
        p.Submit(fs, "x");
        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        var how = p.Stop(TimeSpan.FromMilliseconds(300));
        Assert.Contains("aborted and rolled back", how);
        Assert.True(h.Mounted);
        Assert.Contains("tune2fs -E force_fsck /dev/loop3", h.Calls);
        var outcome = Assert.Single(s.Snapshot(), e => e.Class == EventClass.OfflineRepair);
        Assert.Contains("aborted by a stop request", outcome.Message);
        Assert.Contains(con.Stderr, l => l.Contains("did not finish within"));
    }
}
