using FsHealer.Config;
using FsHealer.Healing;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Healing;

/// <summary>Issue 17, unmountable filesystems: fstab lookup, the mount spec from fstab options, the plan, the rate
/// limit, the configuration section and what status shows.</summary>
public class UnmountableTests
{
    private sealed class FakeTimeProvider(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan t) => _now += t;
    }

    private static readonly Guid U = Guid.Parse("c5f355a5-f04e-420b-a3e5-b4b99e9635ae");
    private static readonly ulong Loop3 = FilesystemIdentity.DevKeyOf(7, 3);
    private static readonly FilesystemIdentity Id = new(Loop3, "ext4", U);
    private const string Dev = "/dev/loop3";

    private const string Tab = """
        # /etc/fstab: static file system information.
        UUID=0b1c3a5e-0000-4000-8000-000000000001 /        ext4 errors=remount-ro 0 1
        /dev/sda2                                   none     swap sw 0 0
        LABEL=data                                  /srv/data xfs noatime,nofail 0 2
        UUID="C5F355A5-F04E-420B-A3E5-B4B99E9635AE" /srv/my\040disk ext4 noatime,nodev,errors=remount-ro,x-systemd.device-timeout=5s,nofail 0 2
        /dev/loop3                                  /srv/bypath ext4 defaults 0 2
        """;

    [Fact]
    public void Fstab_parses_fields_escapes_comments_and_defaults()
    {
        var problems = new List<string>();
        var e = Fstab.Parse(Tab + "\nbroken-line-with-one-field\n/dev/x /y ext4\n", problems);
        Assert.Equal(6, e.Count);
        Assert.Equal("/srv/my disk", e[3].Target);
        Assert.Equal(("UUID", "C5F355A5-F04E-420B-A3E5-B4B99E9635AE"), e[3].Tagged);
        Assert.Equal("defaults", e[5].Options);
        Assert.Equal(8, e[5].Line);
        Assert.Equal(["line 7: fewer than 3 fields"], problems);
    }

    [Fact]
    public void Fstab_matches_by_the_superblock_uuid_case_insensitively_before_a_path_line()
    {
        var e = Fstab.Find(Fstab.Parse(Tab), new DeviceFacts(Loop3, U), _ => null, out var why);
        Assert.NotNull(e);
        Assert.Equal("/srv/my disk", e!.Target);
        Assert.Contains("line 5: UUID=", why);
    }

    [Fact]
    public void Fstab_matches_a_device_path_or_a_udev_tag_link_by_device_number_never_another_uuid()
    {
        var resolve = new Dictionary<string, ulong> { ["/dev/loop3"] = Loop3, ["/dev/disk/by-label/data"] = FilesystemIdentity.DevKeyOf(8, 1) };
        ulong? R(string p) => resolve.TryGetValue(p, out var v) ? v : null;
        // another UUID on the superblock: the UUID= line is not it; the path line is
        var e = Fstab.Find(Fstab.Parse(Tab), new DeviceFacts(Loop3, Guid.NewGuid()), R, out var why);
        Assert.Equal("/srv/bypath", e!.Target);
        Assert.Contains("/dev/loop3 is this device", why);
        // LABEL= through its udev link
        var l = Fstab.Find(Fstab.Parse(Tab), new DeviceFacts(FilesystemIdentity.DevKeyOf(8, 1), null), R, out _);
        Assert.Equal("/srv/data", l!.Target);
        // a UUID= line whose link would resolve to this device is still not taken: the superblock says otherwise
        var onlyUuid = Fstab.Parse("UUID=0b1c3a5e-0000-4000-8000-000000000001 /x ext4 defaults 0 0\n");
        Assert.Null(Fstab.Find(onlyUuid, new DeviceFacts(Loop3, U), _ => Loop3, out var none));
        Assert.Contains($"no line names UUID={U:D}", none);
        // swap and "none" never
        Assert.Null(Fstab.Find(Fstab.Parse("/dev/loop3 none swap sw 0 0\n"), new DeviceFacts(Loop3, null), R, out _));
        Assert.Equal("/dev/disk/by-partuuid/abc-01", Fstab.PathOf(new FstabEntry("PARTUUID=abc-01", "/m", "ext4", "defaults", 1)));
        Assert.Null(Fstab.PathOf(new FstabEntry("LABEL=../../etc", "/m", "ext4", "defaults", 1)));
    }

    [Fact]
    public void Fstab_options_become_flags_and_data_without_what_only_mount8_reads()
    {
        var s = RemountSpec.FromFstab("ext4", "noatime,nodev,errors=remount-ro,x-systemd.device-timeout=5s,nofail,defaults,ro");
        Assert.Equal(RemountSpec.MS_NOATIME | RemountSpec.MS_NODEV | RemountSpec.MS_RDONLY, s.Flags);
        Assert.Equal("errors=remount-ro", s.Data);
        Assert.Equal("noatime,nodev,errors=remount-ro,x-systemd.device-timeout=5s,nofail,ro", s.OptionsText);
        var d = RemountSpec.FromFstab("xfs", "defaults");
        Assert.Equal(0UL, d.Flags);
        Assert.Equal("", d.Data);
        Assert.Equal("defaults", d.OptionsText);
    }

    private static UnmountableFacts Facts(UnmountablePolicy? policy = null, FstabEntry? fstab = null) => new()
    {
        Identity = Id, Device = Dev, Policy = policy ?? new UnmountablePolicy(Repair: true, FstabPath: "/t/fstab"),
        Fstab = fstab ?? new FstabEntry($"UUID={U}", "/srv/e4", "ext4", "noatime,errors=remount-ro,nofail", 3), FstabNote = "line 3: UUID",
    };

    [Fact]
    public void Plan_proves_the_device_before_each_tool_then_mounts_as_fstab_says_and_proves_it()
    {
        var p = UnmountablePlanner.Plan(Facts());
        Assert.Equal(HealDecision.OfflineRepair, p.Decision);
        Assert.True(p.StartsUnmounted);
        Assert.Collection(p.Steps,
            s => Assert.Equal(new ProveDeviceStep(Dev), s),
            s => Assert.Equal(FsckMode.Repair, Assert.IsType<FsckStep>(s).Mode),
            s => Assert.IsType<ProveDeviceStep>(s),
            s => Assert.Equal(FsckMode.Check, Assert.IsType<FsckStep>(s).Mode),
            s => { var r = Assert.IsType<RemountStep>(s); Assert.Equal("/srv/e4", r.Path); Assert.Equal(RemountSpec.MS_NOATIME, r.Spec.Flags); Assert.Equal("errors=remount-ro", r.Spec.Data); },
            s => Assert.Equal(new ProveRemountedStep("/srv/e4"), s));
        Assert.DoesNotContain(p.Steps, s => s is UnmountStep or ProveMountStep);
        Assert.Equal(["-f", "-y", Dev], ((FsckStep)p.Steps[1]).Tool.Arguments(FsckMode.Repair, Dev));
    }

    [Fact]
    public void Without_an_fstab_line_it_repairs_and_verifies_and_says_it_is_not_mounted()
    {
        var p = UnmountablePlanner.Plan(Facts() with { Fstab = null, FstabNote = "no line names UUID=x" });
        Assert.Equal(HealDecision.OfflineRepair, p.Decision);
        Assert.Equal(4, p.Steps.Count);
        Assert.DoesNotContain(p.Steps, s => s is RemountStep);
        Assert.Contains(p.Reasons, r => r.Contains("not mounted afterwards: no fstab entry for it in /t/fstab"));
        var nodir = UnmountablePlanner.Plan(Facts() with { TargetExists = false });
        Assert.DoesNotContain(nodir.Steps, s => s is RemountStep);
        Assert.Contains(nodir.Reasons, r => r.Contains("/srv/e4 (/t/fstab line 3) is not a directory"));
        var wrongType = UnmountablePlanner.Plan(Facts(fstab: new FstabEntry("/dev/loop3", "/srv/e4", "xfs", "defaults", 9)));
        Assert.DoesNotContain(wrongType.Steps, s => s is RemountStep);
    }

    [Fact]
    public void Off_by_default_btrfs_is_report_only_and_every_precondition_refuses_or_reports()
    {
        Assert.False(UnmountablePolicy.Off.Repair);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts(UnmountablePolicy.Off)).Decision);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts() with { Identity = Id with { FsType = "btrfs" } }).Decision);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts() with { Damage = false }).Decision);
        var noUuid = UnmountablePlanner.Plan(Facts() with { Identity = Id with { Uuid = null } });
        Assert.Equal(HealDecision.Refuse, noUuid.Decision);
        Assert.Contains("identity cannot be proven", noUuid.Reasons[0]);
        Assert.Equal(HealDecision.Refuse, UnmountablePlanner.Plan(Facts() with { MountedAt = ["/mnt/x (mount namespace of pid 9)"] }).Decision);
        Assert.Equal(HealDecision.Refuse, UnmountablePlanner.Plan(Facts() with { Busy = true }).Decision);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts() with { Durable = false }).Decision);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts() with { MissingPrograms = ["e2fsck"] }).Decision);
        Assert.All(new[] { Facts(UnmountablePolicy.Off), Facts() with { Busy = true } }, f => Assert.Empty(UnmountablePlanner.Plan(f).Steps));
        // the policy's match: by UUID glob, type, the fstab line's mount point
        Assert.Equal(HealDecision.OfflineRepair, UnmountablePlanner.Plan(Facts(new UnmountablePolicy(true, MatchUuid: "C5F355A5-*", MatchFsType: "ext*", MatchMountPoint: "/srv/*"))).Decision);
        var otherUuid = UnmountablePlanner.Plan(Facts(new UnmountablePolicy(true, MatchUuid: "0000*")));
        Assert.Equal(HealDecision.Report, otherUuid.Decision);
        Assert.Contains("does not match unmountable.match.uuid", otherUuid.Reasons[0]);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts(new UnmountablePolicy(true, MatchFsType: "xfs"))).Decision);
        Assert.Equal(HealDecision.Report, UnmountablePlanner.Plan(Facts(new UnmountablePolicy(true, MatchMountPoint: "/srv/*")) with { Fstab = null }).Decision);
        // XFS: xfs_repair; -L only when the policy says so
        var xfs = UnmountablePlanner.Plan(Facts(fstab: new FstabEntry("/dev/loop3", "/x", "auto", "defaults", 1)) with { Identity = Id with { FsType = "xfs" } });
        Assert.Equal("xfs_repair", Assert.IsType<FsckStep>(xfs.Steps[1]).Tool.Program);
        Assert.False(xfs.ZeroLogAllowed);
        Assert.Equal("xfs", Assert.IsType<RemountStep>(xfs.Steps[4]).Spec.FsType);
        Assert.True(UnmountablePlanner.Plan(Facts(new UnmountablePolicy(true, XfsZeroLog: true)) with { Identity = Id with { FsType = "xfs" } }).ZeroLogAllowed);
    }

    [Fact]
    public void One_attempt_per_window_and_a_failed_one_only_after_the_superblock_changed_or_a_reload()
    {
        var t = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T01:00:00Z"));
        var l = new UnmountableRepairLimiter(t);
        Assert.Null(l.TryStart("k", "fp1"));
        l.Finished("k", true, "fp2");
        Assert.Contains("one repair attempt per 10 minutes", l.TryStart("k", "fp3"));
        t.Advance(TimeSpan.FromMinutes(11));
        Assert.Null(l.TryStart("k", "fp3"));
        l.Finished("k", false, "fp4");
        t.Advance(TimeSpan.FromHours(5));
        Assert.Contains("failed and the superblock has not changed", l.TryStart("k", "fp4"));
        Assert.Null(l.TryStart("other", "fp4"));
        Assert.Null(l.TryStart("k", "fp5"));   // changed since the failed attempt
        l.Finished("k", false, "fp6");
        l.Reset();
        Assert.Null(l.TryStart("k", "fp6"));
    }

    [Fact]
    public void Config_section_is_parsed_validated_and_off_by_default()
    {
        var d = ConfigLoader.Parse("{}");
        Assert.True(d.Ok);
        Assert.False(d.Config!.Unmountable.Repair);
        Assert.Equal("/etc/fstab", d.Config.Unmountable.FstabPath);
        var r = ConfigLoader.Parse("""{ "unmountable": { "repair": true, "fstab": "/run/t/fstab", "mount": false, "xfs_zero_log": true } }""");
        Assert.True(r.Ok, string.Join("; ", r.Errors));
        Assert.Equal(new UnmountablePolicy(true, "/run/t/fstab", false, true), r.Config!.Unmountable);
        var m = ConfigLoader.Parse("""{ "unmountable": { "repair": true, "match": { "uuid": "c5f3*", "fs_type": "ext4", "mount_point": "/srv/*" } } }""");
        Assert.True(m.Ok, string.Join("; ", m.Errors));
        Assert.Equal(("c5f3*", "ext4", "/srv/*"), (m.Config!.Unmountable.MatchUuid, m.Config.Unmountable.MatchFsType, m.Config.Unmountable.MatchMountPoint));
        var lbl = ConfigLoader.Parse("""{ "unmountable": { "repair": true, "match": { "label": "x" } } }""");
        Assert.Contains(lbl.Errors, e => e.JsonPath == "$.unmountable.match.label");
        var bad = ConfigLoader.Parse("""{ "unmountable": { "repair": "yes", "fstab": "etc/fstab", "xfs_zero_log": true, "mount_options": 1 } }""");
        Assert.False(bad.Ok);
        Assert.Contains(bad.Errors, e => e.JsonPath == "$.unmountable.fstab" && e.Message.Contains("absolute path"));
        Assert.Contains(bad.Errors, e => e.JsonPath == "$.unmountable.repair");
        Assert.Contains(bad.Errors, e => e.JsonPath is not null && e.JsonPath.Contains("mount_options"));
    }

    private static FsEvent Ev(EventClass c, int sec, string? fsId, string mount = "", string? structure = null, Severity sev = Severity.Notice, string dev = Dev) => new()
    {
        Class = c, Severity = sev, Mount = mount, FsType = "ext4", Message = $"{c} at {sec}", Device = dev, FsId = fsId, Structure = structure,
        Time = DateTimeOffset.Parse("2026-12-06T01:00:00Z").AddSeconds(sec),
    };

    [Fact]
    public void Status_shows_a_refused_mount_until_it_is_attached_or_a_repair_is_verified()
    {
        string id = $"uuid:{U:D}";
        var report = Ev(EventClass.MetadataCorrupt, 0, id, structure: "mount", sev: Severity.Critical);
        var open = Assert.Single(UnmountableStatus.Open([report]));
        Assert.Equal(Dev, open.Device);
        Assert.Null(open.LastAction);
        // a refused repair keeps it open and says so
        var refused = Ev(EventClass.RepairRefused, 5, id, structure: "unmountable", sev: Severity.Error);
        Assert.Equal("RepairRefused at 5", Assert.Single(UnmountableStatus.Open([report, refused])).LastAction);
        // a failed repair too
        Assert.Single(UnmountableStatus.Open([report, Ev(EventClass.OfflineRepair, 5, id, structure: "unmountable", sev: Severity.Error)]));
        // a verified repair, or the filesystem attached (mounted) later, clears it
        Assert.Empty(UnmountableStatus.Open([report, Ev(EventClass.OfflineRepair, 9, id, structure: "unmountable")]));
        Assert.Empty(UnmountableStatus.Open([report, Ev(EventClass.Attached, 9, id, mount: "/srv/e4", sev: Severity.Info)]));
        // the same device attached with another filesystem (reformatted) clears it; another device does not
        Assert.Empty(UnmountableStatus.Open([report, Ev(EventClass.Attached, 9, "uuid:00000000-0000-0000-0000-000000000001", mount: "/x")]));
        Assert.Single(UnmountableStatus.Open([report, Ev(EventClass.Attached, 9, "uuid:x", mount: "/x", dev: "/dev/loop4")]));
        // an attach before the report does not clear it; a report of a mounted filesystem's problems is not one
        Assert.Single(UnmountableStatus.Open([Ev(EventClass.Attached, -9, id, mount: "/srv/e4"), report]));
        Assert.Empty(UnmountableStatus.Open([Ev(EventClass.MetadataCorrupt, 0, id, mount: "/srv/e4", structure: "mount")]));
    }
}
