using FsHealer.Btrfs;
using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Service;

namespace FsHealer.Scenario.Tests.Healing;

/// <summary>
/// A scripted two-device btrfs for the executor and the pipeline: the superblock's device number is anonymous and
/// changes at every mount, the members are /dev/loop3 and /dev/loop4, the full scrub answers what the test says.
/// </summary>
internal sealed class ScriptedBtrfs : IHealHost
{
    public static readonly Guid U = Guid.Parse("e5f355a5-f04e-420b-a3e5-b4b99e9635ae");
    public static readonly FilesystemIdentity Target = new(FilesystemIdentity.DevKeyOf(0, 45), "btrfs", U);
    public const string Mnt = "/mnt/b";
    public static readonly MemberDevice M1 = new("/dev/loop3", FilesystemIdentity.DevKeyOf(7, 3)), M2 = new("/dev/loop4", FilesystemIdentity.DevKeyOf(7, 4));

    public readonly List<string> Calls = [];
    public bool Mounted = true;
    private ulong _anon = Target.DevKey;
    public Func<CancellationToken, FullScrubResult> Scrub = _ => Clean();
    public Func<string, IReadOnlyList<string>, ToolResult> Tool = (_, _) => new ToolResult(0, "no error found");
    /// <summary>Member device held by someone else (another namespace mounted it).</summary>
    public string? Held;

    public static ScrubOutcome Done(ulong devid, ulong corrected = 0, ulong uncorrectable = 0) =>
        ScrubOutcome.Classify(devid, 0, ScrubProgress.Empty with { DataBytesScrubbed = 1 << 20, CsumErrors = corrected + uncorrectable, CorrectedErrors = corrected, UncorrectableErrors = uncorrectable },
            devid == 1 ? M1.Device : M2.Device);
    public static FullScrubResult Clean() => new([Done(1), Done(2)], false, [], []);

    public MountProbe ProbeMount(string path) =>
        Mounted && path == Mnt ? new MountProbe(_anon, "btrfs", U, 42) : new MountProbe(FilesystemIdentity.DevKeyOf(254, 1), "ext4", Guid.Empty, 1);

    public DeviceProbe ProbeDevice(string device)
    {
        var m = device == M1.Device ? M1 : M2;
        return new DeviceProbe(device, m.Rdev, "btrfs", U, Mounted || Held == device, Mounted ? [Mnt] : []);
    }

    public int Unmount(string path) { Calls.Add($"umount {path}"); Mounted = false; return 0; }

    public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
    {
        Calls.Add($"{program} {string.Join(' ', args)}");
        return Tool(program, args);
    }

    public int Mount(string device, string path, RemountSpec spec, out string detail)
    {
        Calls.Add($"mount {device} {path} {spec.OptionsText}");
        detail = "scripted";
        Mounted = true;
        _anon++;   // a new anonymous device number at every mount
        return 0;
    }

    public int ReplayLog(string device, string fsType, out string detail) { detail = ""; return Text.Errno.EINVAL; }
    public void Sleep(TimeSpan t) { }

    public FullScrubResult FullScrub(FilesystemIdentity target, string path, bool readOnly, bool idleIo, CancellationToken abort)
    {
        Calls.Add($"scrub {path}{(idleIo ? " idle" : "")}{(readOnly ? " ro" : "")}");
        return Scrub(abort);
    }

    public static OfflineFacts Facts(HealAction wanted, bool repair = false) => new()
    {
        Identity = Target, Path = Mnt, Device = null, Wanted = wanted, CanIdleIo = true, Members = [M1, M2], RepairAfterCheck = repair,
        Remount = RemountSpec.From(new MountEntry { FsType = "btrfs", MountOptions = "rw,noatime", SuperOptions = "rw,space_cache=v2,subvolid=5,subvol=/" }),
    };
}

public class BtrfsScheduledCheckScenarioTests
{
    private static HealOutcome Check(ScriptedBtrfs h, HealAction wanted, bool repair = false, CheckBudget? budget = null, HealControl? control = null)
    {
        var plan = OfflinePlanner.PlanCheck(ScriptedBtrfs.Facts(wanted, repair), budget ?? new CheckBudget(true, null));
        return new OfflineExecutor(h, ScriptedBtrfs.Target, 42, _ => { }).Execute(plan, control);
    }

    private const string Remount = "mount /dev/loop3 /mnt/b rw,noatime,space_cache=v2,subvolid=5,subvol=/";

    [Fact]
    public void A_clean_scrub_is_a_verified_check_without_unmounting()
    {
        var h = new ScriptedBtrfs();
        var o = Check(h, HealAction.Report);
        Assert.Equal(["scrub /mnt/b idle"], h.Calls);
        Assert.True(o.Success && o.Verified && o.FoundClean, o.Summary);
        Assert.Equal("scrubbed online: full scrub of 2 device(s), 2097152 bytes: no errors", o.Summary);
    }

    [Fact]
    public void Errors_corrected_from_good_copies_are_a_verified_repair()
    {
        var h = new ScriptedBtrfs { Scrub = _ => new([ScriptedBtrfs.Done(1, corrected: 2), ScriptedBtrfs.Done(2)], false, [], []) };
        var o = Check(h, HealAction.Report);
        Assert.True(o.Success && o.Verified, o.Summary);
        Assert.False(o.FoundClean);
        Assert.Null(o.DamageFound);
        Assert.Contains("2 error(s) found and corrected from good copies", o.Summary);
    }

    [Fact]
    public void Uncorrectable_errors_are_damage_and_nothing_is_unmounted_even_with_the_offline_policy()
    {
        var h = new ScriptedBtrfs { Scrub = _ => new([ScriptedBtrfs.Done(1), ScriptedBtrfs.Done(2, uncorrectable: 1)], false, ["/mnt/b/photo.jpg"], []) { Paths = new Dictionary<ulong, string> { [2] = "/dev/loop4" } } };
        var o = Check(h, HealAction.OfflineRepair, repair: true);
        Assert.Equal(["scrub /mnt/b idle"], h.Calls);
        Assert.False(o.Verified);
        Assert.False(o.Success);
        Assert.Contains("1 UNCORRECTABLE", o.DamageFound);
        Assert.Contains("/mnt/b/photo.jpg", o.DamageFound);
        Assert.StartsWith("scrubbed online: NOT VERIFIED", o.Summary);
    }

    [Fact]
    public void A_scrub_over_its_budget_is_cancelled_and_is_no_check()
    {
        var h = new ScriptedBtrfs
        {
            Scrub = abort =>
            {
                Assert.True(abort.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)), "the budget cancels the scrub");
                return new([ScriptedBtrfs.Done(1), ScrubOutcome.Classify(2, Text.Errno.ECANCELED, null, "/dev/loop4")], false, [], [], Killed: true);
            },
        };
        var o = Check(h, HealAction.OfflineRepair, budget: new CheckBudget(true, TimeSpan.FromMilliseconds(200)));
        Assert.True(o.OverBudget);
        Assert.False(o.Verified);
        Assert.Equal("the check ran longer than its budget: the scrub was cancelled (BTRFS_IOC_SCRUB_CANCEL); nothing verified", o.Summary);
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("umount"));
        Assert.True(h.Mounted);
    }

    [Fact]
    public void A_stop_request_cancels_the_scrub_at_once_without_waiting_for_the_grace()
    {
        var control = new HealControl();
        var h = new ScriptedBtrfs
        {
            Scrub = abort =>
            {
                control.RequestStop();   // SIGTERM while scrubbing (a graceful stop, not an abort)
                Assert.True(abort.WaitHandle.WaitOne(TimeSpan.FromSeconds(10)), "a stop request cancels the scrub");
                return new([ScrubOutcome.Classify(1, Text.Errno.ECANCELED, null, "/dev/loop3")], false, [], [], Killed: true);
            },
        };
        var o = Check(h, HealAction.OfflineRepair, budget: new CheckBudget(true, TimeSpan.FromHours(1)), control: control);
        Assert.False(o.OverBudget);
        Assert.True(o.Aborted);
        Assert.False(o.Verified);
        Assert.Equal("the scrub was cancelled by a stop request; nothing verified", o.Summary);
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("umount"));
    }

    [Fact]
    public void Offline_check_clean_unmounts_checks_readonly_and_mounts_again_proven_by_uuid()
    {
        var h = new ScriptedBtrfs();
        var o = Check(h, HealAction.OfflineRepair);
        Assert.Equal(["scrub /mnt/b idle", "umount /mnt/b", "ionice -c 3 -- btrfs check --readonly /dev/loop3", Remount], h.Calls);
        Assert.True(o.Success && o.Verified && o.FoundClean, o.Summary);
        Assert.Equal(2, o.Steps.Count(s => s.Step is ProveDeviceStep && s.Ok));
        Assert.Contains(o.Steps, s => s.Step is ProveRemountedStep && s.Ok);   // the new anonymous device is accepted
        Assert.EndsWith("no errors; then checked: no damage found, mounted again", o.Summary);
    }

    [Fact]
    public void Offline_check_damage_without_the_repair_policy_is_reported_and_mounted_again()
    {
        var h = new ScriptedBtrfs { Tool = (_, a) => new ToolResult(1, "root 5 inode 258 errors 10000, odd inode flags\nERROR: errors found in fs roots") };
        var o = Check(h, HealAction.OfflineRepair);
        Assert.Equal(["scrub /mnt/b idle", "umount /mnt/b", "ionice -c 3 -- btrfs check --readonly /dev/loop3", Remount], h.Calls);
        Assert.False(o.Verified);
        Assert.False(o.LeftUnmounted);
        Assert.Contains("odd inode flags", o.DamageFound);
        Assert.EndsWith("DAMAGE FOUND, not repaired; mounted again", o.Summary);
    }

    [Fact]
    public void Offline_repair_runs_only_on_damage_and_is_verified()
    {
        int checks = 0;
        var h = new ScriptedBtrfs { Tool = (_, a) => a.Contains("--readonly") ? new ToolResult(checks++ == 0 ? 1 : 0, "ERROR: errors found in fs roots") : new ToolResult(0, "") };
        var o = Check(h, HealAction.OfflineRepair, repair: true);
        Assert.Equal(["scrub /mnt/b idle", "umount /mnt/b", "ionice -c 3 -- btrfs check --readonly /dev/loop3", "ionice -c 3 -- btrfs check --repair /dev/loop3",
            "ionice -c 3 -- btrfs check --readonly /dev/loop3", Remount], h.Calls);
        Assert.True(o.Success && o.Verified, o.Summary);
        Assert.EndsWith("then latent damage found, repaired, verified clean, mounted again", o.Summary);
        // a tool that could not open the filesystem is no damage: nothing is repaired
        var cannot = new ScriptedBtrfs { Tool = (_, _) => new ToolResult(1, "ERROR: cannot open file system") };
        var c = Check(cannot, HealAction.OfflineRepair, repair: true);
        Assert.DoesNotContain(cannot.Calls, x => x.Contains("--repair"));
        Assert.Null(c.DamageFound);
        Assert.False(c.Verified);
        Assert.True(cannot.Mounted);
    }

    [Fact]
    public void A_member_held_elsewhere_stops_the_check_before_any_tool_and_mounts_again()
    {
        var h = new ScriptedBtrfs { Held = "/dev/loop4" };
        var o = Check(h, HealAction.OfflineRepair, repair: true);
        Assert.DoesNotContain(h.Calls, c => c.Contains("btrfs check"));
        Assert.Contains(Remount, h.Calls);
        Assert.False(o.Verified);
        Assert.Contains(o.Steps, s => s.Step is ProveDeviceStep { Device: "/dev/loop4" } && !s.Ok);
    }

    private sealed class Sink : IFlushableSink
    {
        public readonly List<FsEvent> Events = [];
        public void Publish(FsEvent e) { lock (Events) Events.Add(e); }
        public bool Flush(TimeSpan timeout) => true;
        public FsEvent[] Snapshot() { lock (Events) return [.. Events]; }
    }

    private static (FsEvent[] Events, HealOutcome? Outcome, CheckOverdueMonitor Freshness) Pipeline(ScriptedBtrfs host, EffectivePolicy policy)
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var freshness = new CheckOverdueMonitor();
        hub.Add(freshness);
        using var p = new HealingPipeline(hub, new MemoryConsole(), host,
            (fs, wanted) => ScriptedBtrfs.Facts(wanted, fs.Policy.BtrfsOfflineRepair) with { ScrubReadOnly = fs.Policy.BtrfsReadOnlyScrub });
        var fs = new WatchedFilesystem(ScriptedBtrfs.Target, ScriptedBtrfs.Mnt, 42, "/dev/loop3", policy);
        HealOutcome? got = null;
        using var done = new ManualResetEventSlim();
        Assert.True(p.SubmitCheck(fs, "scheduled check", new CheckBudget(true, null), (o, _) => { got = o; done.Set(); }));
        Assert.True(done.Wait(TimeSpan.FromSeconds(10)));
        return (sink.Snapshot(), got, freshness);
    }

    [Fact]
    public void The_pipeline_records_a_corrected_scrub_as_a_good_check_saying_what_was_repaired()
    {
        var host = new ScriptedBtrfs { Scrub = _ => new([ScriptedBtrfs.Done(1, corrected: 3), ScriptedBtrfs.Done(2)], false, [], []) };
        var (ev, o, freshness) = Pipeline(host, EffectivePolicy.Defaults with { ScheduledCheck = true, MaxCheckAge = TimeSpan.FromMinutes(1) });
        Assert.True(o!.Verified);
        var ok = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair);
        Assert.True(StatusComputer.IsGoodCheck(ok));
        Assert.Contains("3 error(s) found and corrected from good copies", ok.Message);
        Assert.Equal(ok.Time, freshness.LastGoodCheck(ScriptedBtrfs.Target.Id));
        Assert.DoesNotContain(ev, e => e.Class is EventClass.MetadataCorrupt or EventClass.DataLost);
        Assert.Contains(ev, e => e.Class == EventClass.ActionStarted && e.Message.Contains("scheduled online check of /dev/loop3, /dev/loop4 (btrfs"));
    }

    [Fact]
    public void The_pipeline_records_uncorrectable_data_as_data_lost_naming_the_device()
    {
        var host = new ScriptedBtrfs
        {
            Scrub = _ => new([ScriptedBtrfs.Done(1), ScriptedBtrfs.Done(2, uncorrectable: 2)], false, ["/mnt/b/a.db"], [])
                { Paths = new Dictionary<ulong, string> { [1] = "/dev/loop3", [2] = "/dev/loop4" } },
        };
        var (ev, o, freshness) = Pipeline(host, EffectivePolicy.Defaults with { BtrfsOfflineCheck = true });
        Assert.False(o!.Verified);
        var lost = Assert.Single(ev, e => e.Class == EventClass.DataLost);
        Assert.Equal("/dev/loop4", lost.Device);
        Assert.Equal(2, lost.Count);
        Assert.Contains("/mnt/b/a.db", lost.Message);
        Assert.DoesNotContain(ev, StatusComputer.IsGoodCheck);
        Assert.Null(freshness.LastGoodCheck(ScriptedBtrfs.Target.Id));
        var status = StatusComputer.Compute(ev, new LevelState { Readable = true }, EffectivePolicy.Defaults, DateTimeOffset.UtcNow);
        Assert.Equal(Health.Error, status.Health);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount"));
        // uncorrectable metadata (no file named): metadata_corrupt
        var meta = new ScriptedBtrfs { Scrub = _ => new([ScriptedBtrfs.Done(1, uncorrectable: 1)], false, [], []) };
        Assert.Single(Pipeline(meta, EffectivePolicy.Defaults).Events, e => e.Class == EventClass.MetadataCorrupt && e.Message.Contains("no copy covers"));
    }

    [Fact]
    public void The_pipeline_reports_offline_damage_as_latent_damage_and_leaves_it_mounted()
    {
        var host = new ScriptedBtrfs { Tool = (_, _) => new ToolResult(1, "ERROR: errors found in fs roots") };
        var (ev, o, _) = Pipeline(host, EffectivePolicy.Defaults with { BtrfsOfflineCheck = true });
        Assert.False(o!.Verified);
        Assert.True(host.Mounted);
        var problem = Assert.Single(ev, e => e.Class == EventClass.MetadataCorrupt);
        Assert.Contains("scheduled check found latent damage", problem.Message);
        Assert.DoesNotContain(host.Calls, c => c.Contains("--repair"));
        var status = StatusComputer.Compute(ev, new LevelState { Readable = true }, EffectivePolicy.Defaults, DateTimeOffset.UtcNow);
        Assert.NotEqual(Health.Healthy, status.Health);
    }
}
