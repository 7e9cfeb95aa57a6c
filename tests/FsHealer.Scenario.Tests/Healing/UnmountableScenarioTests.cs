using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Scenario.Tests.Healing;

/// <summary>Issue 17: a mount the kernel refused, repaired on the one ladder (scripted system): the plan starts
/// unmounted, every tool run follows a device proof, the mount comes only after a verified repair, and the pipeline
/// journals, publishes and rate-limits per identity.</summary>
public class UnmountableScenarioTests
{
    private static UnmountableFacts Facts(FstabEntry? fstab = null, bool withFstab = true) => new()
    {
        Identity = ScriptedHost.Target, Device = ScriptedHost.Dev, Policy = new UnmountablePolicy(Repair: true, FstabPath: "/t/fstab"),
        Fstab = withFstab ? fstab ?? new FstabEntry($"UUID={ScriptedHost.U}", ScriptedHost.Mnt, "ext4", "noatime,nofail", 2) : null,
        FstabNote = withFstab ? "line 2: UUID" : "no line names it",
    };

    private static ScriptedHost Unmounted(Func<string, IReadOnlyList<string>, CancellationToken, ToolResult>? tool = null) =>
        new() { Mounted = false, Tool = tool ?? ((_, a, _) => new ToolResult(a.Contains("-y") ? 1 : 0, "")) };

    private static HealOutcome Exec(ScriptedHost h, UnmountableFacts f) =>
        new OfflineExecutor(h, f.Identity, 0).Execute(UnmountablePlanner.Plan(f));

    [Fact]
    public void Repaired_verified_then_mounted_with_the_fstab_options_and_proven()
    {
        var h = Unmounted();
        var o = Exec(h, Facts());
        Assert.True(o.Success && o.Verified && !o.NotMounted, o.Summary);
        Assert.Equal(["e2fsck -f -y /dev/loop3", "e2fsck -f -n /dev/loop3", "mount /dev/loop3 /mnt/e4 noatime,nofail"], h.Calls);
        Assert.Equal(2, o.Steps.Count(s => s.Step is ProveDeviceStep && s.Ok));
        Assert.Contains(o.Steps, s => s.Step is ProveRemountedStep && s.Ok);
        Assert.Equal("repaired, verified clean, mounted", o.Summary);
        Assert.False(o.LeftUnmounted);
    }

    [Fact]
    public void Without_fstab_it_is_repaired_and_verified_and_left_unmounted_as_planned()
    {
        var h = Unmounted();
        var o = Exec(h, Facts(withFstab: false));
        Assert.True(o.Success && o.Verified && o.NotMounted, o.Summary);
        Assert.Equal(["e2fsck -f -y /dev/loop3", "e2fsck -f -n /dev/loop3"], h.Calls);
        Assert.Equal("repaired, verified clean; not mounted", o.Summary);
    }

    [Fact]
    public void Another_uuid_on_the_device_refuses_before_any_tool()
    {
        var h = Unmounted();
        h.Device = () => new DeviceProbe(ScriptedHost.Dev, ScriptedHost.Target.DevKey, "ext4", Guid.Parse("25d2f4e3-679a-497c-8875-c45ce689a40f"), false, []);
        var o = Exec(h, Facts());
        Assert.Empty(h.Calls);
        Assert.Equal(HealDecision.Refuse, o.Final);
        Assert.Contains("superblock UUID is 25d2f4e3", o.Refusal);
        Assert.False(o.Success);
    }

    [Fact]
    public void A_repair_that_does_not_verify_is_never_mounted()
    {
        // e2fsck -y leaves errors uncorrected (exit 4): no verify, no mount
        var h = Unmounted((_, a, _) => new ToolResult(a.Contains("-y") ? 4 : 4, "UNEXPECTED INCONSISTENCY"));
        var o = Exec(h, Facts());
        Assert.Equal(["e2fsck -f -y /dev/loop3"], h.Calls);
        Assert.False(o.Success || o.Verified);
        Assert.True(o.NotMounted);
        Assert.Equal("repair FAILED; not mounted", o.Summary);
    }

    [Fact]
    public void A_failed_mount_after_a_verified_repair_says_so()
    {
        var h = Unmounted();
        h.MountResult = 22;
        var o = Exec(h, Facts());
        Assert.True(o.Verified);
        Assert.False(o.Success);
        Assert.True(o.NotMounted);
        Assert.Contains("the mount FAILED", o.Summary);
        Assert.Contains(o.Messages, m => m.StartsWith("MOUNT FAILED: /dev/loop3 is not mounted at /mnt/e4"));
    }

    [Fact]
    public void Xfs_dirty_log_that_cannot_be_replayed_is_zeroed_only_when_the_policy_allows()
    {
        var xfsId = ScriptedHost.Target with { FsType = "xfs" };
        foreach (bool allow in new[] { false, true })
        {
            var h = new XfsUnreplayable { Mounted = false, FsType = "xfs" };
            h.Device = () => new DeviceProbe(ScriptedHost.Dev, xfsId.DevKey, "xfs", ScriptedHost.U, false, []);
            h.Tool = (_, a, _) => new ToolResult(a.Contains("-L") ? 0 : a.Contains("-n") ? 0 : 2, "");
            var f = Facts(withFstab: false) with { Identity = xfsId, Policy = new UnmountablePolicy(true, "/t/fstab", true, XfsZeroLog: allow) };
            var o = new OfflineExecutor(h, xfsId, 0).Execute(UnmountablePlanner.Plan(f));
            if (allow)
            {
                Assert.Equal(["xfs_repair /dev/loop3", "replay /dev/loop3", "xfs_repair -L /dev/loop3", "xfs_repair -n /dev/loop3"], h.Calls);
                Assert.True(o.Verified, o.Summary);
            }
            else
            {
                Assert.Equal(["xfs_repair /dev/loop3", "replay /dev/loop3"], h.Calls);
                Assert.False(o.Verified);
                Assert.DoesNotContain(h.Calls, c => c.Contains("-L"));
            }
        }
    }

    [Fact]
    public void A_null_uuid_that_e2fsck_replaces_is_followed_only_when_e2fsck_says_it_generated_one()
    {
        var nullId = ScriptedHost.Target with { Uuid = Guid.Empty };
        var fresh = Guid.Parse("9d7c3c3e-1111-4222-8333-444455556666");
        foreach (bool says in new[] { true, false })
        {
            var h = Unmounted();
            bool repaired = false;
            h.Device = () => new DeviceProbe(ScriptedHost.Dev, nullId.DevKey, "ext4", repaired ? fresh : Guid.Empty, false, []);
            h.Tool = (_, a, _) =>
            {
                if (!a.Contains("-y")) return new ToolResult(0, "");
                repaired = true;
                return new ToolResult(1, says ? "Filesystem did not have a UUID; generating one.\n\nPass 1: Checking inodes" : "Pass 1: Checking inodes");
            };
            var ex = new OfflineExecutor(h, nullId, 0);
            var o = ex.Execute(UnmountablePlanner.Plan(Facts(withFstab: false) with { Identity = nullId }));
            if (says)
            {
                Assert.True(o.Verified, o.Summary);
                Assert.Equal(fresh, ex.Target.Uuid);
                Assert.Equal(["e2fsck -f -y /dev/loop3", "e2fsck -f -n /dev/loop3"], h.Calls);
            }
            else
            {
                // another UUID appeared without e2fsck saying it made it: refused before the verify
                Assert.NotNull(o.Refusal);
                Assert.Equal(["e2fsck -f -y /dev/loop3"], h.Calls);
            }
        }
    }

    /// <summary>The log replay mounts the device: refused, like the mount that failed in the first place.</summary>
    private sealed class XfsUnreplayable : IHealHost
    {
        private readonly ScriptedHost _h = new();
        public List<string> Calls => _h.Calls;
        public bool Mounted { get => _h.Mounted; set => _h.Mounted = value; }
        public string FsType { get => _h.FsType; set => _h.FsType = value; }
        public Func<DeviceProbe>? Device { get => _h.Device; set => _h.Device = value; }
        public Func<string, IReadOnlyList<string>, CancellationToken, ToolResult> Tool { get => _h.Tool; set => _h.Tool = value; }
        public MountProbe ProbeMount(string path) => _h.ProbeMount(path);
        public DeviceProbe ProbeDevice(string device) => _h.ProbeDevice(device);
        public int Unmount(string path) => _h.Unmount(path);
        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort) => _h.Run(program, args, abort);
        public int Mount(string device, string path, FsHealer.Healing.RemountSpec spec, out string detail) => _h.Mount(device, path, spec, out detail);
        public int ReplayLog(string device, string fsType, out string detail) { _h.Calls.Add($"replay {device}"); detail = "EUCLEAN"; return 117; }
        public void Sleep(TimeSpan t) { }
    }

    private sealed class Sink : IFlushableSink
    {
        public readonly List<FsEvent> Events = [];
        public bool Durable = true;
        public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
        public bool Flush(TimeSpan timeout) => Durable;
        public FsEvent[] Snapshot() { lock (Events) return [.. Events]; }
    }

    private sealed class Time : TimeProvider
    {
        public DateTimeOffset Now = DateTimeOffset.Parse("2026-12-06T01:00:00Z");
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Pipeline_journals_publishes_with_the_identity_and_rate_limits_per_filesystem()
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var h = Unmounted();
        var time = new Time();
        using var p = new HealingPipeline(hub, new MemoryConsole(), h, time: time);
        string fp = "a";
        HealingPipeline.UnmountableRequest Req(bool repair = true) => new(ScriptedHost.Target, ScriptedHost.Dev,
            new UnmountablePolicy(repair, "/t/fstab"), true, () => Facts(), () => fp);
        Assert.True(p.SubmitUnmountable(Req(), "the kernel refused to mount it"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        var ev = sink.Snapshot();
        var started = Assert.Single(ev, e => e.Class == EventClass.ActionStarted);
        var done = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair);
        Assert.True(Array.IndexOf(ev, started) < Array.IndexOf(ev, done));
        Assert.Equal(Severity.Notice, done.Severity);
        Assert.Equal(ScriptedHost.Target.Id, done.FsId);
        Assert.Equal(ScriptedHost.Dev, done.Device);
        Assert.Equal("", done.Mount);
        Assert.Contains("repaired, verified clean, mounted at /mnt/e4", done.Message);
        Assert.Equal(3, h.Calls.Count);

        // the mount unit retries at once: no second repair within the window
        h.Mounted = false;
        Assert.True(p.SubmitUnmountable(Req(), "refused again"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, h.Calls.Count);
        Assert.Contains(sink.Snapshot(), e => e.Class == EventClass.Decision && e.Message.Contains("one repair attempt per 10 minutes"));

        // a failed repair is not tried again, even after the window, until the superblock changes or a reload
        time.Now += TimeSpan.FromMinutes(11);
        h.Tool = (_, _, _) => new ToolResult(8, "operational error");
        Assert.True(p.SubmitUnmountable(Req(), "refused"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, h.Calls.Count);
        Assert.Equal(Severity.Error, sink.Snapshot().Last(e => e.Class == EventClass.OfflineRepair).Severity);
        time.Now += TimeSpan.FromHours(3);
        p.SubmitUnmountable(Req(), "refused");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(4, h.Calls.Count);
        fp = "changed";
        p.SubmitUnmountable(Req(), "refused");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(5, h.Calls.Count);
        p.ResetUnmountableLimits();
        p.SubmitUnmountable(Req(), "refused");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Equal(6, h.Calls.Count);
    }

    [Fact]
    public void Pipeline_refusal_is_published_as_repair_refused_with_the_identity_and_nothing_runs()
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var h = Unmounted();
        using var p = new HealingPipeline(hub, new MemoryConsole(), h);
        var req = new HealingPipeline.UnmountableRequest(ScriptedHost.Target, ScriptedHost.Dev, new UnmountablePolicy(true), true,
            () => Facts() with { MountedAt = ["/x (mount namespace of pid 77)"] }, () => "fp");
        Assert.True(p.SubmitUnmountable(req, "refused"));
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        var r = Assert.Single(sink.Snapshot(), e => e.Class == EventClass.RepairRefused);
        Assert.Equal(ScriptedHost.Target.Id, r.FsId);
        Assert.Contains("mounted at /x (mount namespace of pid 77)", r.Message);
        Assert.Empty(h.Calls);
        Assert.DoesNotContain(sink.Snapshot(), e => e.Class == EventClass.ActionStarted);
    }

    [Fact]
    public void Pipeline_without_a_durable_journal_runs_nothing()
    {
        var hub = new EventHub();
        var sink = new Sink { Durable = false };
        hub.Add(sink);
        var h = Unmounted();
        using var p = new HealingPipeline(hub, new MemoryConsole(), h);
        p.SubmitUnmountable(new HealingPipeline.UnmountableRequest(ScriptedHost.Target, ScriptedHost.Dev, new UnmountablePolicy(true), true,
            () => Facts(), () => "fp"), "refused");
        Assert.True(p.WaitIdle(TimeSpan.FromSeconds(10)));
        Assert.Empty(h.Calls);
        Assert.DoesNotContain(sink.Snapshot(), e => e.Class == EventClass.OfflineRepair);
        Assert.NotNull(p.NotDurable);
    }
}
