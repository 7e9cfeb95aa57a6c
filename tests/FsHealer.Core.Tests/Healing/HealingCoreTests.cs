using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Model;
using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Healing;

public class IdentityProofTests
{
    private static readonly Guid U = Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae");
    private static readonly Guid Other = Guid.Parse("25d2f4e3-679a-497c-8875-c45ce689a40f");
    private static readonly FilesystemIdentity A = new(FilesystemIdentity.DevKeyOf(7, 3), "ext4", U);

    [Fact]
    public void Identity_has_a_stable_id_and_names_itself()
    {
        Assert.Equal("uuid:c5f355a5-f04e-420b-a3e5-b4b99e9635ae", A.Id);
        Assert.Equal("7:3", A.Dev);
        Assert.Equal("dev:7:3", (A with { Uuid = null }).Id);
        Assert.Equal("ext4 c5f355a5-f04e-420b-a3e5-b4b99e9635ae on dev 7:3", A.ToString());
    }

    [Fact]
    public void Same_mount_is_proven()
    {
        Assert.Null(IdentityProof.Mount(A, 42, "/mnt/a", new MountProbe(A.DevKey, "ext4", U, 42)));
        // unknown mount ids (mountinfo fallback) do not fail the proof; the device and UUID still must match
        Assert.Null(IdentityProof.Mount(A, 0, "/mnt/a", new MountProbe(A.DevKey, "ext4", U, 99)));
        Assert.Null(IdentityProof.Mount(A, 42, "/mnt/a", new MountProbe(A.DevKey, "ext4", null, 0)));
    }

    [Theory]
    [InlineData(8, "ext4", true, 42, "now holds another filesystem")]       // another device mounted over it
    [InlineData(3, "xfs", true, 42, "now holds a xfs filesystem")]           // same dev number, other type
    [InlineData(3, "ext4", false, 42, "the device was reused")]               // same dev, other UUID
    [InlineData(3, "ext4", true, 43, "the topmost mount is now mount 43")]    // same fs mounted over itself
    public void Anything_else_at_the_place_is_refused_with_both_named(uint minor, string type, bool sameUuid, ulong mnt, string why)
    {
        var seen = new MountProbe(FilesystemIdentity.DevKeyOf(7, minor), type, sameUuid ? U : Other, mnt);
        var r = IdentityProof.Mount(A, 42, "/mnt/a", seen);
        Assert.NotNull(r);
        Assert.Contains("/mnt/a", r);
        Assert.Contains(why, r);
        if (minor != 3) Assert.Contains(A.ToString(), r);
        Assert.NotNull(IdentityProof.Mount(A, 42, "/mnt/a", MountProbe.Failed("statx: ENOENT")));
    }

    [Fact]
    public void Device_must_be_the_target_carry_its_superblock_and_be_held_by_nobody()
    {
        var good = new DeviceProbe("/dev/loop3", A.DevKey, "ext4", U, false, []);
        Assert.Null(IdentityProof.Device(A, good));
        Assert.Contains("is device 7:4", IdentityProof.Device(A, good with { Rdev = FilesystemIdentity.DevKeyOf(7, 4) }));
        Assert.Contains("superblock UUID is 25d2f4e3", IdentityProof.Device(A, good with { Uuid = Other }));
        Assert.Contains("carries a xfs superblock", IdentityProof.Device(A, good with { FsType = "xfs" }));
        Assert.Contains("no ext4 superblock", IdentityProof.Device(A, good with { FsType = null }));
        Assert.Contains("still mounted at /srv/x", IdentityProof.Device(A, good with { MountedAt = ["/srv/x"] }));
        Assert.Contains("another mount namespace", IdentityProof.Device(A, good with { Busy = true }));
        Assert.Contains("cannot look", IdentityProof.Device(A, DeviceProbe.Failed("/dev/loop3", "stat: ENOENT")));
    }
}

public class RepairToolsTests
{
    [Theory]
    [InlineData("ext4", FsckMode.Repair, 0, FsckOutcome.Clean)]
    [InlineData("ext4", FsckMode.Repair, 1, FsckOutcome.Repaired)]
    [InlineData("ext4", FsckMode.Repair, 2, FsckOutcome.Repaired)]
    [InlineData("ext4", FsckMode.Repair, 3, FsckOutcome.Repaired)]
    [InlineData("ext4", FsckMode.Repair, 4, FsckOutcome.Damaged)]
    [InlineData("ext4", FsckMode.Repair, 5, FsckOutcome.Damaged)]
    [InlineData("ext4", FsckMode.Repair, 8, FsckOutcome.Failed)]
    [InlineData("ext4", FsckMode.Repair, 12, FsckOutcome.Failed)]
    [InlineData("ext4", FsckMode.Check, 4, FsckOutcome.Damaged)]
    [InlineData("ext4", FsckMode.Check, 0, FsckOutcome.Clean)]
    [InlineData("ext4", FsckMode.Repair, -1, FsckOutcome.Failed)]
    [InlineData("ext4", FsckMode.Repair, 64, FsckOutcome.Failed)]   // no known bit: not "clean"
    [InlineData("xfs", FsckMode.Repair, 0, FsckOutcome.Repaired)]   // xfs_repair exits 0 whether or not it changed anything
    [InlineData("xfs", FsckMode.Repair, 1, FsckOutcome.Failed)]
    [InlineData("xfs", FsckMode.Repair, 2, FsckOutcome.DirtyLog)]
    [InlineData("xfs", FsckMode.Check, 0, FsckOutcome.Clean)]
    [InlineData("xfs", FsckMode.Check, 1, FsckOutcome.Damaged)]
    [InlineData("xfs", FsckMode.Check, 2, FsckOutcome.DirtyLog)]
    [InlineData("xfs", FsckMode.Check, 4, FsckOutcome.Failed)]
    public void Exit_statuses_mean_what_the_man_pages_say(string fs, FsckMode mode, int exit, FsckOutcome outcome) =>
        Assert.Equal(outcome, RepairTools.Fsck[fs].Classify(mode, exit));

    [Fact]
    public void Arguments_never_contain_dangerous_switches()
    {
        Assert.Equal(["-f", "-y", "/dev/sdb1"], RepairTools.Fsck["ext4"].Arguments(FsckMode.Repair, "/dev/sdb1"));
        Assert.Equal(["-f", "-n", "/dev/sdb1"], RepairTools.Fsck["ext4"].Arguments(FsckMode.Check, "/dev/sdb1"));
        Assert.Equal(["/dev/sdb1"], RepairTools.Fsck["xfs"].Arguments(FsckMode.Repair, "/dev/sdb1"));   // never -L
        Assert.Equal(["-n", "/dev/sdb1"], RepairTools.Fsck["xfs"].Arguments(FsckMode.Check, "/dev/sdb1"));
        Assert.Equal(["e2fsck", "tune2fs"], RepairTools.ProgramsFor("ext4"));
        Assert.Equal(["xfs_repair"], RepairTools.ProgramsFor("xfs"));
        Assert.Equal(["btrfs"], RepairTools.ProgramsFor("btrfs"));
    }

    [Fact]
    public void Superblocks_are_recognised_from_the_device_head()
    {
        var head = new byte[SuperblockLayout.BytesNeeded];
        Assert.Equal((null, null), SuperblockLayout.Identify(head));
        var uuid = Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae");
        // ext4: magic 0xEF53 (le16) at 1024+0x38, UUID at 1024+0x68
        head[1024 + 0x38] = 0x53; head[1024 + 0x39] = 0xEF;
        uuid.TryWriteBytes(head.AsSpan(1024 + 0x68, 16), bigEndian: true, out _);
        Assert.Equal(("ext4", uuid), SuperblockLayout.Identify(head));
        // XFS: "XFSB" at 0, UUID at 32
        var x = new byte[SuperblockLayout.BytesNeeded];
        "XFSB"u8.CopyTo(x);
        uuid.TryWriteBytes(x.AsSpan(32, 16), bigEndian: true, out _);
        Assert.Equal(("xfs", uuid), SuperblockLayout.Identify(x));
        // btrfs: "_BHRfS_M" at 64 KiB + 0x40, fsid at 64 KiB + 0x20
        var b = new byte[SuperblockLayout.BytesNeeded];
        "_BHRfS_M"u8.CopyTo(b.AsSpan(0x10040));
        uuid.TryWriteBytes(b.AsSpan(0x10020, 16), bigEndian: true, out _);
        Assert.Equal(("btrfs", uuid), SuperblockLayout.Identify(b));
        // too short: nothing
        Assert.Equal((null, null), SuperblockLayout.Identify(x.AsSpan(0, 40)));
    }
}

public class RemountSpecTests
{
    [Fact]
    public void Per_mount_options_become_flags_and_filesystem_options_the_data()
    {
        var m = new MountEntry { FsType = "xfs", MountOptions = "rw,nosuid,nodev,noatime", SuperOptions = "rw,attr2,inode64,logbufs=8,logbsize=32k,noquota" };
        var s = RemountSpec.From(m);
        Assert.Equal(RemountSpec.MS_NOSUID | RemountSpec.MS_NODEV | RemountSpec.MS_NOATIME, s.Flags);
        Assert.Equal("inode64,logbufs=8,logbsize=32k,noquota", s.Data);   // attr2 is deprecated as an option
        Assert.Equal("rw,nosuid,nodev,noatime,inode64,logbufs=8,logbsize=32k,noquota", s.OptionsText);
    }

    [Fact]
    public void Read_only_comes_back_read_only_and_state_options_never_come_back()
    {
        var ro = RemountSpec.From(new MountEntry { FsType = "ext4", MountOptions = "ro,relatime", SuperOptions = "ro,errors=continue" });
        Assert.Equal(RemountSpec.MS_RDONLY | RemountSpec.MS_RELATIME, ro.Flags);
        Assert.Equal("errors=continue", ro.Data);
        var e = RemountSpec.From(new MountEntry { FsType = "ext4", MountOptions = "rw", SuperOptions = "rw,errors=remount-ro,emergency_ro,shutdown,seclabel" });
        Assert.Equal(0ul, e.Flags);
        Assert.Equal("errors=remount-ro", e.Data);
        var sbRo = RemountSpec.From(new MountEntry { FsType = "btrfs", MountOptions = "rw,relatime", SuperOptions = "ro,space_cache=v2,subvolid=5" });
        Assert.Equal(RemountSpec.MS_RDONLY | RemountSpec.MS_RELATIME, sbRo.Flags);
        Assert.Equal("space_cache=v2,subvolid=5", sbRo.Data);
    }
}

public class OfflinePlannerTests
{
    private static readonly FilesystemIdentity Ext4 = new(FilesystemIdentity.DevKeyOf(7, 3), "ext4", Guid.NewGuid());
    private static readonly FilesystemIdentity Xfs = new(FilesystemIdentity.DevKeyOf(7, 4), "xfs", Guid.NewGuid());
    private static readonly RemountSpec Spec = RemountSpec.From(new MountEntry { FsType = "ext4", MountOptions = "rw,relatime", SuperOptions = "rw,errors=remount-ro" });

    private static OfflineFacts F(FilesystemIdentity id, HealAction wanted = HealAction.OfflineRepair) => new()
    {
        Identity = id, Path = "/mnt/x", Device = "/dev/loop3", Wanted = wanted, Remount = Spec,
    };

    [Fact]
    public void Offline_repair_steps_prove_identity_before_every_destructive_step()
    {
        var p = OfflinePlanner.Plan(F(Ext4));
        Assert.Equal(HealDecision.OfflineRepair, p.Decision);
        Assert.Equal([typeof(ProveMountStep), typeof(UnmountStep), typeof(ProveDeviceStep), typeof(FsckStep), typeof(ProveDeviceStep),
                      typeof(FsckStep), typeof(RemountStep), typeof(ProveRemountedStep)], p.Steps.Select(s => s.GetType()));
        Assert.Equal(FsckMode.Repair, ((FsckStep)p.Steps[3]).Mode);
        Assert.Equal(FsckMode.Check, ((FsckStep)p.Steps[5]).Mode);
        Assert.Equal("/dev/loop3", ((RemountStep)p.Steps[6]).Device);
        Assert.Equal(new ScheduleStep(RepairTools.Schedule["ext4"], "/dev/loop3"), p.Fallback);
        Assert.Contains("never lazily", p.Steps[1].Description);
        // XFS: same ladder, its own tool, no boot-time check to fall back to
        var x = OfflinePlanner.Plan(F(Xfs));
        Assert.Equal(HealDecision.OfflineRepair, x.Decision);
        Assert.Equal("xfs_repair", ((FsckStep)x.Steps[3]).Tool.Program);
        Assert.Null(x.Fallback);
    }

    [Theory]
    [InlineData("durable", "not durable")]
    [InlineData("root", "root filesystem")]
    [InlineData("bind", "bind mount of a subdirectory")]
    [InlineData("other", "also mounted at /srv/x (mount namespace of pid 7)")]
    [InlineData("tools", "not found in PATH: e2fsck")]
    [InlineData("device", "no device node")]
    [InlineData("options", "mount options are unknown")]
    public void Unsafe_offline_repair_falls_back_to_scheduling(string what, string reason)
    {
        var f = F(Ext4);
        f = what switch
        {
            "durable" => f with { Durable = false, NotDurableReason = "disk full" },
            "root" => f with { IsRootFilesystem = true },
            "bind" => f with { IsBindOfSubtree = true },
            "other" => f with { OtherMounts = ["/srv/x (mount namespace of pid 7)"] },
            "tools" => f with { MissingPrograms = ["e2fsck"] },
            "device" => f with { Device = null },
            _ => f with { Remount = null },
        };
        var p = OfflinePlanner.Plan(f);
        Assert.Contains(p.Reasons, r => r.Contains(reason));
        Assert.DoesNotContain(p.Steps, s => s is UnmountStep or FsckStep or RemountStep);
        // ext4 can schedule (when the device is known); otherwise report
        Assert.Equal(what == "device" ? HealDecision.Report : HealDecision.Schedule, p.Decision);
        // XFS has no boot-time check: report
        Assert.Equal(HealDecision.Report, OfflinePlanner.Plan(f with { Identity = Xfs, MissingPrograms = what == "tools" ? ["xfs_repair"] : f.MissingPrograms }).Decision);
    }

    [Fact]
    public void Something_else_at_the_place_is_refused_before_anything_else()
    {
        var p = OfflinePlanner.Plan(F(Ext4) with { NotTheTarget = "/mnt/x now holds another filesystem", IsRootFilesystem = true });
        Assert.Equal(HealDecision.Refuse, p.Decision);
        Assert.Empty(p.Steps);
        Assert.Contains("refused: /mnt/x now holds another filesystem", p.Reasons);
    }

    [Fact]
    public void Report_and_schedule_policies()
    {
        Assert.Equal(HealDecision.Report, OfflinePlanner.Plan(F(Ext4, HealAction.Report)).Decision);
        var s = OfflinePlanner.Plan(F(Ext4, HealAction.Schedule));
        Assert.Equal(HealDecision.Schedule, s.Decision);
        Assert.IsType<ScheduleStep>(Assert.Single(s.Steps));
        var xs = OfflinePlanner.Plan(F(Xfs, HealAction.Schedule));
        Assert.Equal(HealDecision.Report, xs.Decision);
        Assert.Contains(xs.Reasons, r => r.Contains("xfs has no boot-time check"));
    }

    [Fact]
    public void Policy_decides_what_is_wanted_per_type()
    {
        var d = EffectivePolicy.Defaults;
        Assert.Equal(HealAction.Report, OfflinePlanner.Wanted("ext4", d));
        Assert.Equal(HealAction.Schedule, OfflinePlanner.Wanted("ext4", d with { Ext4 = Ext4Policy.Schedule }));
        Assert.Equal(HealAction.OfflineRepair, OfflinePlanner.Wanted("ext4", d with { Ext4 = Ext4Policy.OfflineRepair }));
        // XFS offline repair is its own setting, not the ext4 policy
        Assert.Equal(HealAction.Report, OfflinePlanner.Wanted("xfs", d with { Ext4 = Ext4Policy.OfflineRepair }));
        Assert.Equal(HealAction.OfflineRepair, OfflinePlanner.Wanted("xfs", d with { XfsOfflineRepair = true }));
        Assert.Equal(HealAction.Report, OfflinePlanner.Wanted("btrfs", d with { Ext4 = Ext4Policy.OfflineRepair, XfsOfflineRepair = true }));
    }
}

public class WatchedFilesystemTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now = DateTimeOffset.Parse("2026-12-05T12:00:00Z");
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly FilesystemIdentity Id = new(FilesystemIdentity.DevKeyOf(7, 3), "ext4", Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae"));

    [Fact]
    public void A_move_changes_the_path_and_nothing_else()
    {
        var t = new ManualTime();
        var fs = new WatchedFilesystem(Id, "/mnt/a", 42, "/dev/loop3", EffectivePolicy.Defaults with { Rule = "r1" }, t);
        var gate = fs.Gate(ActionKind.OfflineRepair);
        Assert.True(gate.TryAcquire(out _));
        fs.MovedTo("/srv/a", 43);
        Assert.Equal("/srv/a", fs.Path);
        Assert.Equal(43ul, fs.MountId);
        Assert.Equal("r1", fs.Policy.Rule);
        Assert.Same(gate, fs.Gate(ActionKind.OfflineRepair));
        Assert.False(fs.Gate(ActionKind.OfflineRepair).TryAcquire(out _));   // still rate limited after the move
        var e = fs.Event(EventClass.MetadataCorrupt, Severity.Error, "x");
        Assert.Equal(("/srv/a", Id.Id, "/dev/loop3", "ext4"), (e.Mount, e.FsId, e.Device, e.FsType));
        // the notification/dedup key is the identity's, so it does not change with the mount point
        Assert.Equal(e.Key, (e with { Mount = "/mnt/a" }).Key);
    }

    [Fact]
    public void A_filesystem_that_comes_back_keeps_its_rate_limits()
    {
        var t = new ManualTime();
        var before = new WatchedFilesystem(Id, "/mnt/a", 42, "/dev/loop3", EffectivePolicy.Defaults, t);
        Assert.True(before.Gate(ActionKind.OfflineRepair).TryAcquire(out _));
        var after = new WatchedFilesystem(Id, "/mnt/a", 44, "/dev/loop3", EffectivePolicy.Defaults, t);
        after.InheritGates(before);
        Assert.False(after.Gate(ActionKind.OfflineRepair).TryAcquire(out _));
        t.Now += TimeSpan.FromMinutes(2);
        Assert.True(after.Gate(ActionKind.OfflineRepair).TryAcquire(out _));
    }

    [Fact]
    public void Full_check_gate_follows_the_policy_including_zero()
    {
        var t = new ManualTime();
        var fs = new WatchedFilesystem(Id, "/mnt/a", 42, "/dev/loop3", EffectivePolicy.Defaults with { FullCheckInterval = TimeSpan.Zero }, t);
        for (int i = 0; i < 5; i++) Assert.True(fs.Gate(ActionKind.FullCheck).TryAcquire(out _));   // 0 = no limit (xfs_healer)
        fs.ChangePolicy(EffectivePolicy.Defaults with { FullCheckInterval = TimeSpan.FromMinutes(5) });
        Assert.True(fs.Gate(ActionKind.FullCheck).TryAcquire(out _));
        Assert.False(fs.Gate(ActionKind.FullCheck).TryAcquire(out _));
    }

    [Fact]
    public void Full_check_interval_from_the_configuration_reaches_the_gate_with_one_meaning_of_zero()
    {
        var c = ConfigLoader.Parse("""
            { "full_check_interval_seconds": "10m",
              "rules": [ { "name": "nolimit", "match": { "mount_point": "/srv/x" }, "full_check_interval_seconds": 0 } ] }
            """).Config!;
        var t = new ManualTime();
        WatchedFilesystem At(string mnt) => new(Id, mnt, 42, "/dev/loop3", c.PolicyFor(new FsIdentity(mnt, "xfs")), t);
        var limited = At("/mnt/a");
        Assert.Equal(TimeSpan.FromMinutes(10), limited.Policy.FullCheckInterval);
        Assert.True(limited.Gate(ActionKind.FullCheck).TryAcquire(out _));
        Assert.False(limited.Gate(ActionKind.FullCheck).TryAcquire(out var next));
        Assert.Equal(t.Now + TimeSpan.FromMinutes(10), next);
        var unlimited = At("/srv/x");
        Assert.Equal(TimeSpan.Zero, unlimited.Policy.FullCheckInterval);
        for (int i = 0; i < 3; i++) Assert.True(unlimited.Gate(ActionKind.FullCheck).TryAcquire(out _));   // 0: no limit, as xfs_healer
        // no key at all: the default (5 minutes), never "no limit"
        var d = ConfigLoader.Parse("{}").Config!.PolicyFor(new FsIdentity("/mnt/a", "xfs"));
        Assert.Equal(EffectivePolicy.DefaultFullCheckInterval, d.FullCheckInterval);
    }
}
