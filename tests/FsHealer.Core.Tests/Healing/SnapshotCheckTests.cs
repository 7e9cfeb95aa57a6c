using FsHealer.Config;
using FsHealer.Devices;
using FsHealer.Healing;

namespace FsHealer.Core.Tests.Healing;

/// <summary>LVM facts, pure: sysfs dm/uuid + dm/name, lvs output, snapshot names.</summary>
public class LvmParsingTests
{
    private sealed class MemSysfs(Dictionary<string, string> files) : ISysfsView
    {
        public string? Read(string path) => files.GetValueOrDefault(path);
        public IReadOnlyList<string> List(string path) => [];
        public string? Canonical(string path) => null;
        public string? DeviceOfFile(string hostPath) => null;
    }

    private const string VgUuid = "Xq0cCv3GmRqgLkcEtB6Ji1b9hTu1Xo8W", LvUuid = "a5hxTz7aWwqbe3YPeCcO1oIbKp1M0hYQ";

    [Theory]
    [InlineData("vg0-root", "vg0", "root")]
    [InlineData("vg--a-lv--b", "vg-a", "lv-b")]
    [InlineData("fshealer--t--1-data", "fshealer-t-1", "data")]
    [InlineData("vg-lv.fshealer--e2scrub", "vg", "lv.fshealer-e2scrub")]
    [InlineData("a-b-c", "a", "b-c")]   // only the first single dash separates (lvm never makes this, but it is what it means)
    public void Dm_names_split_into_vg_and_lv(string dm, string vg, string lv) =>
        Assert.Equal((vg, lv), Lvm.SplitDmName(dm));

    [Theory]
    [InlineData("nodash")]
    [InlineData("-lv")]
    [InlineData("vg-")]
    [InlineData("vg--only")]
    [InlineData("")]
    [InlineData(null)]
    public void Dm_names_that_are_not_vg_lv_are_refused(string? dm) => Assert.Null(Lvm.SplitDmName(dm));

    [Fact]
    public void Only_an_lv_itself_has_an_lvm_uuid()
    {
        Assert.True(Lvm.IsLogicalVolumeUuid($"LVM-{VgUuid}{LvUuid}\n"));
        Assert.False(Lvm.IsLogicalVolumeUuid($"LVM-{VgUuid}{LvUuid}-real"));   // the origin layer under a snapshot
        Assert.False(Lvm.IsLogicalVolumeUuid($"LVM-{VgUuid}{LvUuid}-cow"));
        Assert.False(Lvm.IsLogicalVolumeUuid("CRYPT-LUKS2-0123456789abcdef0123456789abcdef-luks"));
        Assert.False(Lvm.IsLogicalVolumeUuid("mpath-3600508b400105e210000900000490000"));
        Assert.False(Lvm.IsLogicalVolumeUuid(null));
    }

    [Fact]
    public void Identify_reads_the_dm_attributes_of_the_device()
    {
        var sys = new MemSysfs(new()
        {
            ["dev/block/253:3/dm/uuid"] = $"LVM-{VgUuid}{LvUuid}\n", ["dev/block/253:3/dm/name"] = "vg--data-home\n",
            ["dev/block/253:4/dm/uuid"] = "CRYPT-LUKS2-0123-home\n", ["dev/block/253:4/dm/name"] = "home_crypt\n",
        });
        Assert.Equal(("vg-data", "home"), Lvm.Identify(sys, "253:3"));
        Assert.Null(Lvm.Identify(sys, "253:4"));   // dm-crypt: not LVM
        Assert.Null(Lvm.Identify(sys, "7:3"));     // a loop device: no dm directory
    }

    [Fact]
    public void Lvs_output_gives_the_vg_free_space_and_the_attributes()
    {
        // lvs --noheadings --nosuffix --units b --separator '|' -o vg_name,lv_name,vg_free,lv_attr vg0/data, with a warning
        const string output = "  WARNING: Failed to connect to lvmetad. Falling back to device scanning.\n  vg0|data|398458880|-wi-ao----\n";
        var lv = Lvm.ParseLvs(output, "vg0", "data", out var error);
        Assert.Null(error);
        Assert.Equal(new LvmVolume("vg0", "data", 398458880, "-wi-ao----"), lv);
        Assert.False(lv!.IsSnapshot);
        Assert.False(lv.IsInvalidSnapshot);
        Assert.Null(Lvm.ParseLvs(output, "vg0", "other", out error));
        Assert.Contains("lvs did not list vg0/other", error);
        Assert.Null(Lvm.ParseLvs("  vg0|data|lots|-wi-ao----\n", "vg0", "data", out error));
        Assert.Contains("cannot read the free space of volume group vg0", error);
        Assert.Null(Lvm.ParseLvs("", "vg0", "data", out error));
        Assert.NotNull(error);
        Assert.Equal(["--noheadings", "--nosuffix", "--units", "b", "--separator", "|", "-o", "vg_name,lv_name,vg_free,lv_attr", "vg0/data"], Lvm.LvsArgs("vg0", "data"));
    }

    [Fact]
    public void Snapshot_attributes_say_snapshot_and_invalid()
    {
        Assert.True(new LvmVolume("v", "s", 0, "swi-a-s---").IsSnapshot);
        Assert.False(new LvmVolume("v", "s", 0, "swi-a-s---").IsInvalidSnapshot);
        Assert.True(new LvmVolume("v", "s", 0, "swi-I-s---").IsInvalidSnapshot);   // overflowed
        Assert.True(new LvmVolume("v", "s", 0, "Swi-a-s---").IsSnapshot);          // merging
        Assert.False(new LvmVolume("v", "s", 0, "owi-aos---").IsSnapshot);         // an origin
        Assert.False(new LvmVolume("v", "s", 0, "").IsSnapshot);
    }

    [Fact]
    public void The_snapshot_name_is_fixed_per_lv_and_valid()
    {
        var suffix = RepairTools.SnapshotCheck["ext4"].SnapshotSuffix;
        Assert.Equal("home.fshealer-e2scrub", Lvm.SnapshotName("home", suffix));
        Assert.Null(Lvm.InvalidName(Lvm.SnapshotName("home", suffix)));
        Assert.NotNull(Lvm.InvalidName(Lvm.SnapshotName(new string('l', 120), suffix)));   // 138 characters
        Assert.NotNull(Lvm.InvalidName("a/b"));
        Assert.NotNull(Lvm.InvalidName("-x"));
    }
}

/// <summary>Plan selection for the scheduled check of ext4 on LVM, and the snapshot removed whatever happens.</summary>
public class SnapshotCheckPlanTests
{
    private static readonly FilesystemIdentity Ext4 = new(FilesystemIdentity.DevKeyOf(253, 3), "ext4", Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae"));
    private static readonly FilesystemIdentity Xfs = new(FilesystemIdentity.DevKeyOf(253, 4), "xfs", Guid.Parse("d5f355a5-f04e-420b-a3e5-b4b99e9635ae"));
    private static readonly LvmVolume Roomy = new("vg0", "data", 1L << 30, "-wi-ao----");

    private static OfflineFacts F(HealAction wanted, LvmVolume? lv = null, FilesystemIdentity? id = null) => new()
    {
        Identity = id ?? Ext4, Path = "/srv", Device = "/dev/dm-3", Wanted = wanted, CanIdleIo = true, Lvm = lv,
        Remount = RemountSpec.From(new FsHealer.Mounts.MountEntry { FsType = (id ?? Ext4).FsType, MountOptions = "rw,relatime", SuperOptions = "rw" }),
    };

    private static readonly string[] SnapshotKinds = ["ProveMountStep", "RemoveSnapshotStep", "CreateSnapshotStep", "SnapshotCheckStep", "RemoveSnapshotStep"];

    [Theory]
    [InlineData(HealAction.Report)]
    [InlineData(HealAction.Schedule)]
    [InlineData(HealAction.OfflineRepair)]
    public void Ext4_on_an_lv_with_room_is_checked_on_a_snapshot_whatever_the_offline_policy(HealAction wanted)
    {
        var plan = OfflinePlanner.PlanCheck(F(wanted, Roomy), new CheckBudget(true, TimeSpan.FromHours(2)));
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.True(plan.IsCheck);
        Assert.Equal(SnapshotKinds, plan.Steps.Select(s => s.GetType().Name));
        Assert.DoesNotContain(plan.Steps, s => s is UnmountStep or RemountStep or FsckStep or ScheduleStep);
        Assert.Equal(new CheckBudget(true, TimeSpan.FromHours(2)), plan.Budget);
        var leftover = Assert.IsType<RemoveSnapshotStep>(plan.Steps[1]);
        var create = Assert.IsType<CreateSnapshotStep>(plan.Steps[2]);
        var check = Assert.IsType<SnapshotCheckStep>(plan.Steps[3]);
        var cleanup = Assert.IsType<RemoveSnapshotStep>(plan.Steps[4]);
        Assert.True(leftover.Leftover);
        Assert.False(cleanup.Leftover);
        // one name per LV: what a killed daemon left behind is what the next check removes first
        Assert.Equal(("vg0", "data.fshealer-e2scrub"), (create.Vg, create.Snapshot));
        Assert.Equal((create.Vg, create.Snapshot), (leftover.Vg, leftover.Snapshot));
        Assert.Equal((create.Vg, create.Snapshot), (cleanup.Vg, cleanup.Snapshot));
        Assert.Equal(256L << 20, create.Bytes);
        Assert.Equal("/dev/vg0/data.fshealer-e2scrub", check.Device);
        Assert.Contains("lvcreate --snapshot --size 268435456b --name data.fshealer-e2scrub vg0/data", create.Description);
        Assert.Contains("e2fsck -E journal_only -p /dev/vg0/data.fshealer-e2scrub, then e2fsck -f -n -E fixes_only /dev/vg0/data.fshealer-e2scrub", check.Description);
        Assert.Contains(plan.Reasons, r => r.Contains("on an LVM snapshot") && r.Contains("nothing is unmounted"));
    }

    [Fact]
    public void The_root_filesystem_is_checked_on_a_snapshot_too()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair, Roomy) with { IsRootFilesystem = true }, CheckBudget.None);
        Assert.Equal(SnapshotKinds, plan.Steps.Select(s => s.GetType().Name));
    }

    [Fact]
    public void The_snapshot_size_is_configured()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.Report, Roomy) with { SnapshotBytes = 512L << 20 }, CheckBudget.None);
        Assert.Equal(512L << 20, plan.Steps.OfType<CreateSnapshotStep>().Single().Bytes);
    }

    [Fact]
    public void No_room_in_the_vg_falls_back_to_the_offline_rule_and_says_why()
    {
        var tight = Roomy with { VgFreeBytes = 100L << 20 };
        var offline = OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair, tight), CheckBudget.None);
        Assert.Contains(offline.Steps, s => s is UnmountStep);
        Assert.DoesNotContain(offline.Steps, s => s is CreateSnapshotStep);
        var why = Assert.Single(offline.Reasons, r => r.StartsWith("no check on an LVM snapshot:"));
        Assert.Contains("volume group vg0 has 100 MiB free, the snapshot needs 256 MiB (ext4.snapshot_size_mb)", why);
        // schedule policy: the boot-time check; report: it cannot be checked — each says why no snapshot
        var schedule = OfflinePlanner.PlanCheck(F(HealAction.Schedule, tight), CheckBudget.None);
        Assert.Equal(HealDecision.Schedule, schedule.Decision);
        Assert.Contains(schedule.Reasons, r => r.StartsWith("no check on an LVM snapshot:"));
        var report = OfflinePlanner.PlanCheck(F(HealAction.Report, tight), CheckBudget.None);
        Assert.Equal(HealDecision.Report, report.Decision);
        Assert.Contains(report.Reasons, r => r.StartsWith("no check on an LVM snapshot:"));
    }

    [Fact]
    public void Without_lvm_the_plan_is_unchanged()
    {
        foreach (var wanted in new[] { HealAction.Report, HealAction.Schedule, HealAction.OfflineRepair })
        {
            var without = OfflinePlanner.PlanCheck(F(wanted), CheckBudget.None);
            Assert.DoesNotContain(without.Steps, s => s is CreateSnapshotStep or RemoveSnapshotStep or SnapshotCheckStep);
            Assert.DoesNotContain(without.Reasons, r => r.Contains("snapshot"));
        }
        Assert.Contains(OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair), CheckBudget.None).Steps, s => s is UnmountStep);
    }

    [Fact]
    public void An_lv_that_cannot_be_snapshotted_falls_back_with_its_reason()
    {
        (OfflineFacts Facts, string Why)[] cases =
        [
            (F(HealAction.OfflineRepair) with { LvmProblem = "vg0/data is an LVM logical volume but lvm2 is not installed (lvs not found in PATH)" }, "lvm2 is not installed"),
            (F(HealAction.OfflineRepair, Roomy with { Attr = "swi-aos---" }), "is itself a snapshot"),
            (F(HealAction.OfflineRepair, Roomy) with { MissingLvmPrograms = ["lvcreate"] }, "not found in PATH: lvcreate (lvm2)"),
            (F(HealAction.OfflineRepair, Roomy with { Lv = new string('l', 120) }), "at most 127"),
        ];
        foreach (var (facts, why) in cases)
        {
            var plan = OfflinePlanner.PlanCheck(facts, CheckBudget.None);
            Assert.DoesNotContain(plan.Steps, s => s is CreateSnapshotStep);
            Assert.Contains(plan.Steps, s => s is UnmountStep);
            Assert.Contains(plan.Reasons, r => r.StartsWith("no check on an LVM snapshot:") && r.Contains(why));
        }
    }

    [Fact]
    public void Only_a_scheduled_check_of_ext4_uses_a_snapshot()
    {
        // a repair of a known problem is the offline ladder (a snapshot cannot repair)
        Assert.DoesNotContain(OfflinePlanner.Plan(F(HealAction.OfflineRepair, Roomy)).Steps, s => s is CreateSnapshotStep);
        // XFS on LVM: no snapshot check (xfs_repair on a snapshot needs a UUID change: not e2scrub's method)
        Assert.DoesNotContain(OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair, Roomy, Xfs), CheckBudget.None).Steps, s => s is CreateSnapshotStep);
        // a target that is gone is refused before anything else
        Assert.Equal(HealDecision.Refuse, OfflinePlanner.PlanCheck(F(HealAction.Report, Roomy) with { NotTheTarget = "gone" }, CheckBudget.None).Decision);
    }

    [Fact]
    public void Ionice_is_dropped_when_it_is_missing()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.Report, Roomy) with { CanIdleIo = false }, new CheckBudget(true, null));
        Assert.False(plan.Budget.IdleIoClass);
    }

    [Fact]
    public void Snapshot_size_is_validated_and_applied_per_rule()
    {
        var ok = ConfigLoader.Parse("""{ "ext4": { "snapshot_size_mb": "1G" }, "rules": [ { "match": { "mount_point": "/srv" }, "ext4": { "snapshot_size_mb": 64 } } ] }"""u8.ToArray(), "c.json");
        Assert.True(ok.Ok, string.Join("\n", ok.Errors));
        Assert.Equal(1024, ok.Config!.Global.Ext4SnapshotSizeMb);
        Assert.Equal(64, ok.Config.PolicyFor(new FsIdentity("/srv", "ext4")).Ext4SnapshotSizeMb);
        Assert.Equal(256, EffectivePolicy.Defaults.Ext4SnapshotSizeMb);
        foreach (var bad in new[] { "0", "-5", "99999999999" })
        {
            var r = ConfigLoader.Parse(System.Text.Encoding.UTF8.GetBytes($$"""{ "ext4": { "snapshot_size_mb": {{bad}} } }"""), "c.json");
            Assert.False(r.Ok);
            Assert.Contains(r.Errors, e => e.JsonPath == "$.ext4.snapshot_size_mb" && e.Message.Contains("between 1 and"));
        }
    }
}

/// <summary>The executor over a tiny simulated LVM: the snapshot is removed on every path once lvcreate was tried.</summary>
public class SnapshotCheckExecutorTests
{
    private static readonly FilesystemIdentity Target = new(FilesystemIdentity.DevKeyOf(253, 3), "ext4", Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae"));

    private sealed class LvmHost : IHealHost
    {
        public readonly HashSet<string> Snapshots = [];
        public readonly List<string> Calls = [];
        public Func<IReadOnlyList<string>, CancellationToken, ToolResult> E2fsck = (_, _) => new(0, "");
        public Func<ToolResult>? Lvcreate;
        public string SnapshotState = "a";
        public int BusyRemovals;
        public MountProbe ProbeMount(string path) => new(Target.DevKey, "ext4", Target.Uuid, 42);
        public DeviceProbe ProbeDevice(string device) => throw new InvalidOperationException("a snapshot check never probes the device for a write");
        public int Unmount(string path) => throw new InvalidOperationException("a snapshot check never unmounts");
        public int Mount(string device, string path, RemountSpec spec, out string detail) => throw new InvalidOperationException("never mounts");
        public int ReplayLog(string device, string fsType, out string detail) => throw new InvalidOperationException();
        public void Sleep(TimeSpan t) { }
        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
        {
            Calls.Add($"{program} {string.Join(' ', args)}");
            string last = args[^1];
            switch (program)
            {
                case "lvs": return Snapshots.Contains(last) ? new(0, $"  swi-{SnapshotState}-s---\n") : new(5, $"  Failed to find logical volume \"{last}\"");
                case "lvcreate":
                    if (Lvcreate?.Invoke() is { } r) return r;
                    Snapshots.Add($"{last.Split('/')[0]}/{args[Array.IndexOf(args.ToArray(), "--name") + 1]}");
                    return new(0, "  Logical volume \"data.fshealer-e2scrub\" created.");
                case "lvremove":
                    if (BusyRemovals-- > 0) return new(5, "  Logical volume vg0/data.fshealer-e2scrub contains a filesystem in use.");
                    return Snapshots.Remove(last) ? new(0, "  Logical volume \"data.fshealer-e2scrub\" successfully removed.") : new(5, "not found");
                case "e2fsck": return E2fsck(args, abort);
                default: return new(127, $"{program}: not scripted");
            }
        }
    }

    private static HealPlan Plan(CheckBudget? budget = null) => OfflinePlanner.PlanCheck(new OfflineFacts
    {
        CanIdleIo = budget?.IdleIoClass ?? false,
        Identity = Target, Path = "/srv", Device = "/dev/dm-3", Wanted = HealAction.Report, Lvm = new LvmVolume("vg0", "data", 1L << 30, "-wi-ao----"),
    }, budget ?? CheckBudget.None);

    private const string Snap = "vg0/data.fshealer-e2scrub";

    [Fact]
    public void Clean_snapshot_check_is_verified_and_the_snapshot_removed()
    {
        var h = new LvmHost();
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.Equal(
        [
            $"lvs --noheadings -o lv_attr {Snap}",
            $"lvcreate --snapshot --size 268435456b --name data.fshealer-e2scrub vg0/data",
            "e2fsck -E journal_only -p /dev/vg0/data.fshealer-e2scrub",
            "e2fsck -f -n -E fixes_only /dev/vg0/data.fshealer-e2scrub",
            $"lvs --noheadings -o lv_attr {Snap}",
            $"lvremove --force {Snap}",
        ], h.Calls);
        Assert.Empty(h.Snapshots);
        Assert.True(o.Verified && o.FoundClean && o.Success, o.Summary);
        Assert.Equal("checked on an LVM snapshot: no damage found", o.Summary);
    }

    [Theory]
    [InlineData(4, "damage")]          // e2fsck -n: errors left uncorrected
    [InlineData(8, "could not check")] // operational error
    [InlineData(-1, "could not check")]// did not run / timed out
    public void Whatever_e2fsck_says_the_snapshot_is_removed(int exit, string kind)
    {
        var h = new LvmHost { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(exit, "Inode 12 has a extra size (1234) which is invalid") };
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.Empty(h.Snapshots);
        Assert.Equal($"lvremove --force {Snap}", h.Calls[^1]);
        Assert.False(o.Verified);
        Assert.False(o.Success);
        if (kind == "damage") { Assert.Contains("e2fsck exit 4", o.DamageFound); Assert.Equal("checked on an LVM snapshot: DAMAGE FOUND", o.Summary); }
        else { Assert.Null(o.DamageFound); Assert.StartsWith("could not check on an LVM snapshot:", o.Summary); }
    }

    [Fact]
    public void An_overflowed_snapshot_is_not_damage()
    {
        var h = new LvmHost { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(8, "Error reading block 1234 (Input/output error)") };
        h.SnapshotState = "I";
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.Null(o.DamageFound);
        Assert.Contains("overflowed", o.CouldNotCheck);
        Assert.Contains("ext4.snapshot_size_mb", o.CouldNotCheck);
        Assert.Empty(h.Snapshots);
        // even a "damage" exit on an invalid snapshot is not damage
        var h2 = new LvmHost { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(4, "Block bitmap differences") };
        h2.SnapshotState = "I";
        Assert.Null(new OfflineExecutor(h2, Target, 42).Execute(Plan()).DamageFound);
    }

    [Fact]
    public void A_journal_replay_that_fixes_orphans_is_normal_and_the_full_check_decides()
    {
        var h = new LvmHost { E2fsck = (a, _) => a.Contains("journal_only") ? new(1, "recovering journal") : new(0, "") };
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.True(o.Verified, o.Summary);
        Assert.Contains("e2fsck -f -n -E fixes_only /dev/vg0/data.fshealer-e2scrub", h.Calls);
    }

    [Fact]
    public void A_leftover_snapshot_is_removed_before_the_check()
    {
        var h = new LvmHost();
        h.Snapshots.Add(Snap);
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.Equal($"lvremove --force {Snap}", h.Calls[1]);
        Assert.StartsWith("lvcreate", h.Calls[2]);
        Assert.True(o.Verified);
        Assert.Empty(h.Snapshots);
        Assert.Contains(o.Steps, s => s.Step is RemoveSnapshotStep { Leftover: true } && s.Ok && s.Detail.Contains("left behind"));
    }

    [Fact]
    public void A_busy_snapshot_removal_is_retried()
    {
        var h = new LvmHost { BusyRemovals = 3 };
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.Empty(h.Snapshots);
        Assert.Equal(4, h.Calls.Count(c => c.StartsWith("lvremove")));
        Assert.True(o.Success);
        Assert.Null(o.SnapshotLeftBehind);
    }

    [Fact]
    public void A_snapshot_that_cannot_be_removed_is_said_loudly()
    {
        var h = new LvmHost { BusyRemovals = 1000 };
        var log = new List<string>();
        var o = new OfflineExecutor(h, Target, 42, log.Add).Execute(Plan());
        Assert.Equal(OfflineExecutor.SnapshotRemoveAttempts, h.Calls.Count(c => c.StartsWith("lvremove")));
        Assert.False(o.Success);
        Assert.Contains("lvremove -f vg0/data.fshealer-e2scrub", o.SnapshotLeftBehind);
        Assert.Contains("SNAPSHOT LEFT BEHIND", o.Summary);
        Assert.Contains(log, l => l.StartsWith("SNAPSHOT LEFT BEHIND"));
    }

    [Fact]
    public void A_failed_lvcreate_checks_nothing_and_still_cleans_up()
    {
        var h = new LvmHost { Lvcreate = () => new(5, "  Volume group \"vg0\" has insufficient free space (10 extents): 64 required.") };
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan());
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("e2fsck"));
        Assert.Contains(h.Calls, c => c.StartsWith("lvremove"));   // lvcreate may have left a half-made LV
        Assert.Contains("insufficient free space", o.CouldNotCheck);
        Assert.False(o.Verified);
        Assert.Null(o.DamageFound);
    }

    [Fact]
    public void A_stop_request_before_the_snapshot_makes_none()
    {
        var h = new LvmHost();
        var c = new HealControl();
        c.RequestStop();
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan(), c);
        Assert.DoesNotContain(h.Calls, x => x.StartsWith("lvcreate") || x.StartsWith("e2fsck"));
        Assert.True(o.Aborted);
        Assert.Empty(h.Snapshots);
    }

    [Fact]
    public void A_stop_request_during_e2fsck_kills_it_at_once_and_removes_the_snapshot()
    {
        var c = new HealControl();
        var h = new LvmHost
        {
            E2fsck = (a, abort) =>
            {
                if (a.Contains("journal_only")) return new(0, "");
                c.RequestStop();   // the daemon is asked to stop while the check runs
                return abort.IsCancellationRequested ? new(-1, "killed", Killed: true) : new(0, "");
            },
        };
        var o = new OfflineExecutor(h, Target, 42).Execute(Plan(), c);
        Assert.True(o.Aborted);
        Assert.False(o.Verified);
        Assert.Null(o.DamageFound);
        Assert.Empty(h.Snapshots);
        Assert.Equal($"lvremove --force {Snap}", h.Calls[^1]);
        Assert.Equal("the check on an LVM snapshot was stopped (the daemon is stopping): nothing checked", o.Summary);
    }

    [Fact]
    public void Over_budget_kills_e2fsck_removes_the_snapshot_and_idle_io_class_applies()
    {
        var h = new LvmHost
        {
            E2fsck = (a, abort) =>
            {
                if (a.Contains("journal_only")) return new(0, "");
                var until = DateTime.UtcNow.AddSeconds(20);
                while (!abort.IsCancellationRequested && DateTime.UtcNow < until) Thread.Sleep(5);
                return abort.IsCancellationRequested ? new(-1, "killed", Killed: true) : new(0, "");
            },
        };
        // the LvmHost records ionice's arguments under "ionice": let e2fsck through it
        var wrapped = new IoniceHost(h);
        var o = new OfflineExecutor(wrapped, Target, 42).Execute(Plan(new CheckBudget(true, TimeSpan.FromMilliseconds(200))));
        Assert.True(o.OverBudget);
        Assert.False(o.Aborted);
        Assert.Empty(h.Snapshots);
        Assert.Contains(wrapped.Calls, c => c == "ionice -c 3 -- e2fsck -f -n -E fixes_only /dev/vg0/data.fshealer-e2scrub");
        Assert.DoesNotContain(wrapped.Calls, c => c.StartsWith("ionice -c 3 -- lv"));   // lvm tools are not slowed down
        Assert.StartsWith("the check on an LVM snapshot ran longer than its budget", o.Summary);
    }

    private sealed class IoniceHost(LvmHost inner) : IHealHost
    {
        public readonly List<string> Calls = [];
        public MountProbe ProbeMount(string path) => inner.ProbeMount(path);
        public DeviceProbe ProbeDevice(string device) => inner.ProbeDevice(device);
        public int Unmount(string path) => inner.Unmount(path);
        public int Mount(string device, string path, RemountSpec spec, out string detail) => inner.Mount(device, path, spec, out detail);
        public int ReplayLog(string device, string fsType, out string detail) => inner.ReplayLog(device, fsType, out detail);
        public void Sleep(TimeSpan t) { }
        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
        {
            Calls.Add($"{program} {string.Join(' ', args)}");
            return program == "ionice" ? inner.Run(args[3], args.Skip(4).ToList(), abort) : inner.Run(program, args, abort);
        }
    }
}
