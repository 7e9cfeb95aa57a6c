using FsHealer.Btrfs;
using FsHealer.Config;
using FsHealer.Healing;

namespace FsHealer.Core.Tests.Healing;

/// <summary>The scheduled check of a btrfs (issue 17): a full scrub online, then btrfs check offline by policy.</summary>
public class BtrfsScheduledCheckPlanTests
{
    // btrfs: the superblock's st_dev is anonymous (0:NN); the members are real block devices
    private static readonly FilesystemIdentity Btrfs = new(FilesystemIdentity.DevKeyOf(0, 45), "btrfs", Guid.Parse("e5f355a5-f04e-420b-a3e5-b4b99e9635ae"));
    private static readonly MemberDevice M1 = new("/dev/loop3", FilesystemIdentity.DevKeyOf(7, 3)), M2 = new("/dev/loop4", FilesystemIdentity.DevKeyOf(7, 4));

    private static OfflineFacts F(HealAction wanted, bool repair = false) => new()
    {
        Identity = Btrfs, Path = "/mnt/b", Device = null, Wanted = wanted, CanIdleIo = true, Members = [M1, M2], RepairAfterCheck = repair,
        Remount = RemountSpec.From(new FsHealer.Mounts.MountEntry { FsType = "btrfs", MountOptions = "rw,relatime", SuperOptions = "rw,space_cache=v2,subvolid=5,subvol=/" }),
    };

    private static List<string> Kinds(HealPlan p) => [.. p.Steps.Select(s => s.GetType().Name)];

    [Fact]
    public void Without_the_offline_policy_the_check_is_a_full_scrub_online()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.Report), new CheckBudget(true, TimeSpan.FromHours(2)));
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.True(plan.IsCheck);
        Assert.Equal(["ProveMountStep", "FullScrubStep"], Kinds(plan));
        Assert.False(Assert.IsType<FullScrubStep>(plan.Steps[1]).ReadOnly);
        Assert.True(plan.Budget.IdleIoClass);
        Assert.Equal(TimeSpan.FromHours(2), plan.Budget.MaxDuration);
        Assert.Contains(plan.Reasons, r => r.Contains("btrfs.offline_check is false"));
        Assert.DoesNotContain(plan.Steps, s => s is UnmountStep);
        // the read-only scrub policy carries over
        Assert.True(Assert.IsType<FullScrubStep>(OfflinePlanner.PlanCheck(F(HealAction.Report) with { ScrubReadOnly = true }, CheckBudget.None).Steps[1]).ReadOnly);
    }

    [Fact]
    public void With_offline_check_every_member_is_proven_before_btrfs_check_readonly_and_nothing_is_repaired()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair), CheckBudget.None);
        Assert.Equal(["ProveMountStep", "FullScrubStep", "UnmountStep", "ProveDeviceStep", "ProveDeviceStep", "SurveyStep", "RemountStep", "ProveRemountedStep"], Kinds(plan));
        var proofs = plan.Steps.OfType<ProveDeviceStep>().ToList();
        Assert.Equal([("/dev/loop3", (ulong?)M1.Rdev), ("/dev/loop4", (ulong?)M2.Rdev)], proofs.Select(p => (p.Device, p.Rdev)));
        var survey = Assert.IsType<SurveyStep>(plan.Steps[5]);
        Assert.Equal(["check", "--readonly", "/dev/loop3"], survey.Tool.Arguments(FsckMode.Check, survey.Device));
        Assert.Equal("btrfs", survey.Tool.Program);
        Assert.DoesNotContain(plan.Steps, s => s is FsckStep);
        Assert.Equal("/dev/loop3", Assert.IsType<RemountStep>(plan.Steps[6]).Device);
        Assert.True(Assert.IsType<ProveRemountedStep>(plan.Steps[7]).NewDevKey);
        Assert.Contains(plan.Reasons, r => r.Contains("btrfs.offline_repair is false"));
    }

    [Fact]
    public void With_offline_repair_the_repair_and_a_verifying_check_follow_each_after_proving_all_members()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair, repair: true), CheckBudget.None);
        var repair = plan.Steps.OfType<FsckStep>().ToList();
        Assert.Equal([FsckMode.Repair, FsckMode.Check], repair.Select(r => r.Mode));
        Assert.Equal(["check", "--repair", "/dev/loop3"], repair[0].Tool.Arguments(FsckMode.Repair, "/dev/loop3"));
        Assert.DoesNotContain("--force", repair[0].Description);
        for (int i = 0; i < plan.Steps.Count; i++)
            if (plan.Steps[i] is SurveyStep or FsckStep)
                Assert.Equal(["ProveDeviceStep", "ProveDeviceStep"], plan.Steps.Skip(i - 2).Take(2).Select(s => s.GetType().Name));
    }

    [Theory]
    [InlineData("root", "root filesystem")]
    [InlineData("other", "also mounted at /srv/b")]
    [InlineData("subvol", "bind mount of a subdirectory (or a subvolume)")]
    [InlineData("noprog", "not found in PATH: btrfs")]
    [InlineData("nomembers", "no member device found")]
    [InlineData("nodurable", "action journal is not durable")]
    public void A_precondition_that_fails_keeps_the_scrub_and_drops_the_offline_part(string what, string reason)
    {
        var f = F(HealAction.OfflineRepair, repair: true);
        f = what switch
        {
            "root" => f with { IsRootFilesystem = true },
            "other" => f with { OtherMounts = ["/srv/b"] },
            "subvol" => f with { IsBindOfSubtree = true },
            "noprog" => f with { MissingPrograms = ["btrfs"] },
            "nomembers" => f with { Members = [] },
            _ => f with { Durable = false },
        };
        var plan = OfflinePlanner.PlanCheck(f, CheckBudget.None);
        Assert.Equal(["ProveMountStep", "FullScrubStep"], Kinds(plan));
        Assert.Contains(plan.Reasons, r => r.Contains(reason));
    }

    [Fact]
    public void A_moved_or_replaced_btrfs_is_refused()
    {
        var plan = OfflinePlanner.PlanCheck(F(HealAction.OfflineRepair) with { NotTheTarget = "another filesystem is there" }, CheckBudget.None);
        Assert.Equal(HealDecision.Refuse, plan.Decision);
        Assert.Empty(plan.Steps);
    }

    [Fact]
    public void The_policy_decides_what_a_check_may_do_offline_and_repairs_of_known_problems_stay_online()
    {
        Assert.Equal(HealAction.Report, OfflinePlanner.WantedCheck("btrfs", EffectivePolicy.Defaults));
        Assert.Equal(HealAction.OfflineRepair, OfflinePlanner.WantedCheck("btrfs", EffectivePolicy.Defaults with { BtrfsOfflineCheck = true }));
        // a btrfs problem is healed by scrub, never by an offline btrfs check --repair
        Assert.Equal(HealAction.Report, OfflinePlanner.Wanted("btrfs", EffectivePolicy.Defaults with { BtrfsOfflineCheck = true, BtrfsOfflineRepair = true }));
        Assert.Equal(HealAction.OfflineRepair, OfflinePlanner.WantedCheck("xfs", EffectivePolicy.Defaults with { XfsOfflineRepair = true }));
    }
}

public class BtrfsCheckToolTests
{
    private static readonly FsckTool T = RepairTools.Fsck["btrfs"];

    [Theory]
    [InlineData(FsckMode.Check, 0, "", FsckOutcome.Clean)]
    [InlineData(FsckMode.Check, 1, "ERROR: errors found in fs roots\nfound 1234 bytes used, error(s) found", FsckOutcome.Damaged)]
    [InlineData(FsckMode.Check, 1, "ERROR: cannot open file system", FsckOutcome.Failed)]
    [InlineData(FsckMode.Check, 1, "ERROR: /dev/loop3 is currently mounted, use --force if you really intend to check the filesystem", FsckOutcome.Failed)]
    [InlineData(FsckMode.Check, 1, "No valid Btrfs found on /dev/loop3", FsckOutcome.Failed)]
    [InlineData(FsckMode.Check, -1, "", FsckOutcome.Failed)]
    [InlineData(FsckMode.Repair, 0, "", FsckOutcome.Repaired)]
    [InlineData(FsckMode.Repair, 1, "ERROR: errors found in extent allocation tree", FsckOutcome.Damaged)]
    public void Exit_and_output_say_clean_damaged_or_failed(FsckMode mode, int exit, string output, FsckOutcome expected) =>
        Assert.Equal(expected, T.Classify(mode, exit, output));

    [Fact]
    public void The_program_is_needed_before_anything_is_unmounted() => Assert.Equal(["btrfs"], RepairTools.ProgramsFor("btrfs"));
}

public class FullScrubResultTests
{
    private static ScrubOutcome Done(ulong devid, ulong corrected = 0, ulong uncorrectable = 0, ulong csum = 0) =>
        ScrubOutcome.Classify(devid, 0, ScrubProgress.Empty with { DataBytesScrubbed = 1 << 20, CsumErrors = csum, CorrectedErrors = corrected, UncorrectableErrors = uncorrectable }, $"/dev/loop{devid}");

    [Fact]
    public void Verdicts()
    {
        Assert.Equal(FullScrubVerdict.Clean, new FullScrubResult([Done(1), Done(2)], false, [], []).Verdict);
        var corrected = new FullScrubResult([Done(1), Done(2, corrected: 3, csum: 3)], false, [], []);
        Assert.Equal(FullScrubVerdict.Corrected, corrected.Verdict);
        Assert.Equal(3ul, corrected.Corrected);
        Assert.Contains("3 error(s) found and corrected from good copies", corrected.Describe());
        var bad = new FullScrubResult([Done(1), Done(2, uncorrectable: 1, csum: 1)], false, ["/mnt/b/f"], []) { Paths = new Dictionary<ulong, string> { [2] = "/dev/loop2" } };
        Assert.Equal(FullScrubVerdict.Uncorrectable, bad.Verdict);
        Assert.Equal(["/dev/loop2"], bad.BadDevices);
        Assert.Contains("1 UNCORRECTABLE", bad.Describe());
        Assert.Contains("files hurt: /mnt/b/f", bad.Describe());
        // a read-only scrub repairs nothing: errors found are damage
        Assert.Equal(FullScrubVerdict.Uncorrectable, new FullScrubResult([Done(1, csum: 2)], true, [], []).Verdict);
        Assert.Equal(FullScrubVerdict.Clean, new FullScrubResult([Done(1)], true, [], []).Verdict);
        // anything that did not cover the filesystem is no check
        Assert.Equal(FullScrubVerdict.Failed, new FullScrubResult([Done(1), ScrubOutcome.Classify(2, FsHealer.Text.Errno.ECANCELED, null, "/dev/loop2")], false, [], []).Verdict);
        Assert.Equal(FullScrubVerdict.Failed, new FullScrubResult([Done(1), ScrubOutcome.Classify(2, FsHealer.Text.Errno.EINPROGRESS, null, "/dev/loop2")], false, [], []).Verdict);
        Assert.Equal(FullScrubVerdict.Failed, new FullScrubResult([Done(1)], false, [], [], Killed: true).Verdict);
        Assert.Equal(FullScrubVerdict.Failed, new FullScrubResult([], false, [], []).Verdict);
        var failed = FullScrubResult.Failed("/mnt/b: open: ENOENT");
        Assert.Equal(FullScrubVerdict.Failed, failed.Verdict);
        Assert.Contains("ENOENT", failed.Describe());
    }
}

public class BtrfsIdentityProofTests
{
    private static readonly FilesystemIdentity B = new(FilesystemIdentity.DevKeyOf(0, 45), "btrfs", Guid.Parse("e5f355a5-f04e-420b-a3e5-b4b99e9635ae"));

    [Fact]
    public void A_member_is_proven_by_its_own_device_number_and_the_filesystem_uuid()
    {
        ulong loop3 = FilesystemIdentity.DevKeyOf(7, 3);
        var ok = new DeviceProbe("/dev/loop3", loop3, "btrfs", B.Uuid, false, []);
        Assert.Null(IdentityProof.Device(B, ok, loop3));
        Assert.Contains("not 0:45", IdentityProof.Device(B, ok));                                        // without the member's number
        Assert.Contains("not 7:4", IdentityProof.Device(B, ok, FilesystemIdentity.DevKeyOf(7, 4)));      // another device
        Assert.Contains("in use", IdentityProof.Device(B, ok with { Busy = true }, loop3));              // still held (mounted elsewhere)
        Assert.Contains("superblock UUID", IdentityProof.Device(B, ok with { Uuid = Guid.NewGuid() }, loop3));
    }

    [Fact]
    public void After_the_remount_the_new_anonymous_device_is_accepted_by_type_and_uuid()
    {
        var remounted = new MountProbe(FilesystemIdentity.DevKeyOf(0, 46), "btrfs", B.Uuid, 99);
        Assert.Null(IdentityProof.Remounted(B, "/mnt/b", remounted));
        // a btrfs is proven by UUID and mount id, never by st_dev (each subvolume stats as an anonymous device of its own)
        Assert.Null(IdentityProof.Mount(B, 99, "/mnt/b", remounted));
        Assert.Contains("not the watched mount 42", IdentityProof.Mount(B, 42, "/mnt/b", remounted));
        Assert.Contains("UUID", IdentityProof.Mount(B, 99, "/mnt/b", remounted with { Uuid = Guid.NewGuid() }));
        Assert.Contains("without its UUID", IdentityProof.Mount(B, 99, "/mnt/b", remounted with { Uuid = null }));
        Assert.Contains("ext4", IdentityProof.Mount(B, 99, "/mnt/b", remounted with { FsType = "ext4" }));
        // other types keep the device-number proof
        var x = new FilesystemIdentity(FilesystemIdentity.DevKeyOf(7, 4), "xfs", B.Uuid);
        Assert.Contains("another filesystem", IdentityProof.Mount(x, 0, "/mnt/b", remounted with { FsType = "xfs" }));
        Assert.Contains("UUID", IdentityProof.Remounted(B, "/mnt/b", remounted with { Uuid = Guid.NewGuid() }));
        Assert.Contains("ext4", IdentityProof.Remounted(B, "/mnt/b", remounted with { FsType = "ext4" }));
        Assert.Contains("no UUID", IdentityProof.Remounted(B with { Uuid = null }, "/mnt/b", remounted));
    }
}

public class BtrfsCheckConfigTests
{
    [Fact]
    public void Off_by_default_and_read_with_rules()
    {
        var g = ConfigLoader.Parse("{}").Config!.Global;
        Assert.False(g.BtrfsOfflineCheck);
        Assert.False(g.BtrfsOfflineRepair);
        var r = ConfigLoader.Parse("""
            { "max_check_age_seconds": 60, "scheduled_check": { "enabled": true }, "btrfs": { "offline_check": true },
              "rules": [ { "match": { "mount_point": "/data" }, "btrfs": { "offline_repair": true } } ] }
            """);
        Assert.Empty(r.Errors);
        Assert.True(r.Config!.Global.BtrfsOfflineCheck);
        Assert.False(r.Config.Global.BtrfsOfflineRepair);
        var data = r.Config.PolicyFor(new FsIdentity("/data", "btrfs"));
        Assert.True(data.BtrfsOfflineCheck && data.BtrfsOfflineRepair);
        Assert.Contains("btrfs check --readonly (--repair if damaged)", data.Describe("btrfs"));
    }

    [Fact]
    public void Repair_while_switching_the_check_off_is_refused()
    {
        var r = ConfigLoader.Parse("""{ "btrfs": { "offline_check": false, "offline_repair": true } }""");
        Assert.Null(r.Config);
        var e = Assert.Single(r.Errors);
        Assert.Equal("$.btrfs.offline_repair", e.JsonPath);
        Assert.Contains("needs btrfs.offline_check", e.ToString());
        Assert.Single(ConfigLoader.Parse("""{ "rules": [ { "match": { "fs_type": "btrfs" }, "btrfs": { "offline_check": false, "offline_repair": true } } ] }""").Errors);
    }
}
