using System.Security.Cryptography;
using FsHealer.Config;
using FsHealer.Ext4;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Kernel.Tests.XfsPoll;
using FsHealer.Mounts.Live;
using FsHealer.Xfs.Live;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>The host as the executor sees it, with every call recorded and faults injectable per program.</summary>
internal sealed class RecordingHost(IHealHost inner) : IHealHost
{
    public List<string> Calls { get; } = [];
    public Func<string, IReadOnlyList<string>, ToolResult?>? RunFault { get; init; }
    public Func<string, string, int?>? MountFault { get; init; }

    public MountProbe ProbeMount(string path) => inner.ProbeMount(path);
    public DeviceProbe ProbeDevice(string device) => inner.ProbeDevice(device);
    public int Unmount(string path) { Calls.Add($"umount {path}"); return inner.Unmount(path); }
    public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
    {
        Calls.Add($"{program} {string.Join(' ', args)}");
        return RunFault?.Invoke(program, args) ?? inner.Run(program, args, abort);
    }
    public int Mount(string device, string path, RemountSpec spec, out string detail)
    {
        Calls.Add($"mount {device} {path}");
        if (MountFault?.Invoke(device, path) is { } e) { detail = "injected failure"; return e; }
        return inner.Mount(device, path, spec, out detail);
    }
    public int ReplayLog(string device, string fsType, out string detail) { Calls.Add($"replay {device}"); return inner.ReplayLog(device, fsType, out detail); }
    public void Sleep(TimeSpan t) => inner.Sleep(t);
}

/// <summary>
/// The one offline ladder (plan + executor + live host) on real ext4 and XFS: repairs that work, busy filesystems,
/// injected tool and mount failures, and — the point of identities — a filesystem mounted over the damaged one's
/// mount point, or the damaged one's device mounted somewhere else: nothing is done to the wrong filesystem.
/// </summary>
[Collection("ext4-kernel")]
public class OfflineLadderKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static readonly EffectivePolicy Offline = EffectivePolicy.Defaults with { Ext4 = Ext4Policy.OfflineRepair, XfsOfflineRepair = true };

    private static (HealPlan Plan, HealOutcome Outcome, RecordingHost Host) Heal(WatchedFilesystem fs, HealAction wanted = HealAction.OfflineRepair,
        RecordingHost? host = null)
    {
        host ??= new RecordingHost(new LiveHealHost());
        var plan = OfflinePlanner.Plan(LiveHealHost.Facts(fs, wanted));
        Out($"plan: {plan}");
        var outcome = new OfflineExecutor(host, fs.Identity, fs.MountId, Out).Execute(plan);
        Out($"outcome: {outcome.Summary}");
        return (plan, outcome, host);
    }

    private static WatchedFilesystem Attach(string mnt)
    {
        var fs = LiveHealHost.Attach(mnt, Offline, out var err);
        Assert.True(fs is not null, err);
        Out($"attached {fs}");
        return fs;
    }

    [Fact]
    public void Ext4_corruption_is_repaired_verified_and_remounted_with_the_same_options_data_intact()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"], mountOptions: "errors=remount-ro,noatime");
        fs.CatInChild("d1/f3");
        var before = Ext4MountOptions.Of(Ext4SysfsReader.FindMount(fs.Mnt)!);
        Assert.True(before.EmergencyReadOnly, before.ToString());
        var watched = Attach(fs.Mnt);
        Assert.NotNull(watched.Identity.Uuid);

        var (plan, outcome, host) = Heal(watched);
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.True(outcome.Success && outcome.Verified, outcome.Summary);
        Assert.Equal([$"umount {fs.Mnt}", $"e2fsck -f -y {fs.Device}", $"e2fsck -f -n {fs.Device}", $"mount {fs.Device} {fs.Mnt}"], host.Calls);
        Assert.Contains(outcome.Steps, s => s.Step is ProveDeviceStep && s.Ok);
        Assert.Contains(outcome.Steps, s => s.Step is ProveRemountedStep && s.Ok);

        var after = Ext4SysfsReader.FindMount(fs.Mnt)!;
        var afterOptions = Ext4MountOptions.Of(after);
        Out($"mount options after: {afterOptions}");
        Assert.Equal(fs.Device, after.Source);
        Assert.False(afterOptions.EmergencyReadOnly);
        Assert.Equal(Ext4ErrorsPolicy.RemountRo, afterOptions.ErrorsPolicy);
        Assert.Contains("noatime", afterOptions.Options);
        Assert.Equal("0", fs.Sysfs("errors_count"));
        foreach (var (rel, sum) in fs.Checksums)
            if (rel != "d1/f3") Assert.Equal(sum, fs.Sha(rel));
        File.WriteAllText(Path.Combine(fs.Mnt, "d2", "new"), "writable again");
        Assert.Equal(0, Ext4Loop.Run("umount", fs.Mnt).Exit);
        var (rc, output) = Ext4Loop.Run("e2fsck", "-f", "-n", fs.Device);
        Assert.True(rc == 0, output);
    }

    [Fact]
    public void Ext4_busy_is_never_unmounted_lazily_and_falls_back_to_scheduling()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        fs.TriggerFsError();
        using var open = File.OpenRead(Path.Combine(fs.Mnt, "d2", "f1"));
        var (plan, outcome, host) = Heal(Attach(fs.Mnt));
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.Equal(HealDecision.Schedule, outcome.Final);
        Assert.True(outcome.Success, outcome.Summary);
        Assert.Contains(outcome.Steps, s => s.Step is UnmountStep && s.Detail.Contains("EBUSY") && s.Detail.Contains("attempt 4"));
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("e2fsck") || c.StartsWith("mount"));
        Assert.Contains(host.Calls, c => c == $"tune2fs -E force_fsck {fs.Device}");
        Assert.True(fs.IsMounted());
        Assert.Equal(fs.Checksums["d2/f1"], Convert.ToHexString(SHA256.HashData(open)));
    }

    [Fact]
    public void Ext4_schedule_policy_sets_force_fsck_on_the_superblock()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        fs.TriggerFsError();
        var (plan, outcome, host) = Heal(Attach(fs.Mnt), HealAction.Schedule);
        Assert.Equal(HealDecision.Schedule, plan.Decision);
        Assert.True(outcome.Success, outcome.Summary);
        Assert.Equal([$"tune2fs -E force_fsck {fs.Device}"], host.Calls);
        Assert.True(fs.IsMounted());
        var (rc, dump) = Ext4Loop.Run("dumpe2fs", "-h", fs.Device);
        Out(dump.Split('\n').FirstOrDefault(l => l.StartsWith("Filesystem state")) ?? "");
        Assert.Equal(0, rc);
    }

    /// <summary>Issue 14, defect 1: an error on A waits; B is mounted over A's mount point. Nothing is done to B —
    /// no unmount, no fsck of B's device — and the refusal names both.</summary>
    [Fact]
    public void Ext4_filesystem_mounted_over_the_damaged_one_is_never_touched()
    {
        Ext4Loop.SkipUnlessPossible();
        using var a = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        a.CatInChild("d1/f3");
        var watchedA = Attach(a.Mnt);                      // the daemon attached A and queued its repair
        using var b = new Ext4Loop(files: 2);              // a healthy B ...
        Assert.Equal(0, Ext4Loop.Run("mount", b.Device, a.Mnt).Exit);        // ... mounted over A's mount point
        string bUuid = Ext4Loop.Must("blkid", "-p", "-o", "value", "-s", "UUID", b.Device).Trim();
        try
        {
            string bDumpBefore = Ext4Loop.Run("dumpe2fs", "-h", b.Device).Output;
            var (plan, outcome, host) = Heal(watchedA);
            Assert.Equal(HealDecision.Refuse, plan.Decision);
            Assert.Empty(host.Calls);                      // no unmount, no e2fsck, no mount
            string why = string.Join("; ", plan.Reasons);
            Out(why);
            // names the place, what is there now (B) and what was expected (A)
            Assert.Contains($"{a.Mnt} now holds another filesystem", why);
            Assert.Contains(bUuid, why);
            Assert.Contains(watchedA.Identity.Uuid!.Value.ToString("D"), why);
            Assert.NotNull(outcome.Refusal);
            Assert.Equal(bDumpBefore, Ext4Loop.Run("dumpe2fs", "-h", b.Device).Output);   // B's superblock untouched
            Assert.True(ScratchFs.IsMounted(b.Mnt));
        }
        finally { Ext4Loop.Run("umount", a.Mnt); }
        // A itself is still there, still damaged, still mounted
        Assert.True(a.IsMounted());
        Assert.NotEqual("0", a.Sysfs("errors_count"));
    }

    /// <summary>The damaged filesystem's device is mounted a second time (bind mount of its root elsewhere, and in
    /// another mount namespace): unmounting the watched place would not free it; nothing is unmounted.</summary>
    [Fact]
    public void Ext4_device_also_mounted_elsewhere_or_in_another_namespace_is_not_unmounted()
    {
        Ext4Loop.SkipUnlessPossible();
        using var a = new Ext4Loop();
        a.TriggerFsError();
        var watched = Attach(a.Mnt);
        string second = Path.Combine(a.Dir, "second");
        Directory.CreateDirectory(second);
        Assert.Equal(0, Ext4Loop.Run("mount", "--bind", a.Mnt, second).Exit);
        try
        {
            var (plan, _, host) = Heal(watched);
            Assert.Equal(HealDecision.Schedule, plan.Decision);
            Assert.Contains(plan.Reasons, r => r.Contains("also mounted at") && r.Contains(second));
            Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount") || c.StartsWith("e2fsck"));
        }
        finally { Ext4Loop.Run("umount", second); }

        // another mount namespace holding a mount of A's device
        string nsMnt = Path.Combine(a.Dir, "ns");
        Directory.CreateDirectory(nsMnt);
        using var holder = new System.Diagnostics.Process
        {
            StartInfo = new("unshare", ["-m", "--propagation", "private", "sh", "-c", $"mount {a.Device} {nsMnt} && echo ready && exec sleep 60"])
                { RedirectStandardOutput = true, UseShellExecute = false },
        };
        holder.Start();
        try
        {
            Assert.Equal("ready", holder.StandardOutput.ReadLine());
            var (plan, _, host) = Heal(watched);
            Assert.Equal(HealDecision.Schedule, plan.Decision);
            Assert.Contains(plan.Reasons, r => r.Contains("mount namespace of pid"));
            Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount") || c.StartsWith("e2fsck"));
        }
        finally { holder.Kill(); holder.WaitForExit(); }
        Assert.True(a.IsMounted());
    }

    [Fact]
    public void Xfs_directory_corruption_is_repaired_offline_verified_and_remounted_data_unchanged()
    {
        XfsPristine.RequireEnvironment();
        if (!Sh.Has("xfs_repair")) Assert.Skip("xfs_repair not installed");
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir", "dblock 0", "write -d dhdr.hdr.magic 0");
        var sums = new[] { "f1" }.Concat(Enumerable.Range(1, 20).Select(i => $"data{i}"))
            .ToDictionary(n => n, n => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(fs.Mount, n)))));
        var optsBefore = MountTable.FindTopmost(fs.Mount, out _)!.MountOptions;
        Sh.Run("ls", Path.Combine(fs.Mount, "bigdir"));

        var (plan, outcome, host) = Heal(Attach(fs.Mount));
        Assert.Equal(HealDecision.OfflineRepair, plan.Decision);
        Assert.True(outcome.Success && outcome.Verified, outcome.Summary);
        Assert.Equal([$"umount {fs.Mount}", $"xfs_repair {fs.Loop}", $"xfs_repair -n {fs.Loop}", $"mount {fs.Loop} {fs.Mount}"], host.Calls);
        var after = MountTable.FindTopmost(fs.Mount, out _)!;
        Assert.Equal(("xfs", fs.Loop), (after.FsType, after.Source));
        Assert.Equal(optsBefore, after.MountOptions);
        foreach (var (n, sum) in sums) Assert.Equal(sum, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(fs.Mount, n)))));
        Assert.Equal(0, Sh.Run("ls", Path.Combine(fs.Mount, "bigdir")).Code);
        Assert.True(fs.Unmount());
        var n2 = Sh.Run("xfs_repair", "-n", fs.Loop);
        Assert.True(n2.Code == 0, n2.Err + n2.Out);
    }

    [Fact]
    public void Xfs_busy_root_and_non_targets_are_refused_or_not_unmounted()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true);
        using (var held = File.OpenRead(Path.Combine(fs.Mount, "data1")))
        {
            var (_, outcome, host) = Heal(Attach(fs.Mount));
            // XFS has no boot-time check to schedule: busy means report only
            Assert.Equal(HealDecision.OfflineRepair, outcome.Final);
            Assert.False(outcome.Success);
            Assert.Contains(outcome.Steps, s => s.Step is UnmountStep && s.Detail.Contains("EBUSY"));
            Assert.DoesNotContain(host.Calls, c => c.StartsWith("xfs_repair") || c.StartsWith("mount"));
            Assert.True(ScratchFs.IsMounted(fs.Mount));
            Assert.True(held.ReadByte() >= 0, "the holder was not disturbed");
        }
        // the root filesystem is never unmounted (judged by device)
        if (LiveHealHost.Attach("/", Offline, out _) is { } root)
        {
            var plan = OfflinePlanner.Plan(LiveHealHost.Facts(root, HealAction.OfflineRepair));
            Assert.NotEqual(HealDecision.OfflineRepair, plan.Decision);
            Assert.Contains(plan.Reasons, r => r.Contains("root filesystem"));
        }
        Assert.Null(LiveHealHost.Attach("/proc", Offline, out var notFs));
        Out(notFs!);
        string gone = Path.Combine(Path.GetTempPath(), "fshealer-gone-" + Guid.NewGuid().ToString("N"));
        Assert.Null(LiveHealHost.Attach(gone, Offline, out var goneErr));
        Assert.Contains(gone, goneErr);
    }

    [Fact]
    public void Xfs_repair_failure_mounts_it_again_unchanged_and_says_so()
    {
        ScratchFs.Require("xfs", "xfs_repair");
        using var fs = ScratchFs.Create("xfs", tag: "offl");
        var host = new RecordingHost(new LiveHealHost()) { RunFault = (p, _) => p == "xfs_repair" ? new ToolResult(4, "fatal error -- injected") : null };
        var (_, outcome, _) = Heal(Attach(fs.Mnt), host: host);
        Assert.False(outcome.Success);
        Assert.False(outcome.LeftUnmounted);
        Assert.Contains(outcome.Steps, s => s.Step is FsckStep { Mode: FsckMode.Repair } && !s.Ok && s.Detail.Contains("injected"));
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("xfs_repair -n"));   // no verify of a failed repair
        Assert.Contains(outcome.Steps, s => s.Step is RemountStep && s.Ok);
        Assert.True(ScratchFs.IsMounted(fs.Mnt));
    }

    [Fact]
    public void Remount_failure_is_reported_as_left_unmounted_naming_device_and_mount_point()
    {
        ScratchFs.Require("xfs", "xfs_repair");
        using var fs = ScratchFs.Create("xfs", tag: "offl");
        var host = new RecordingHost(new LiveHealHost()) { MountFault = (_, _) => FsHealer.Text.Errno.EINVAL };
        var messages = new List<string>();
        var watched = Attach(fs.Mnt);
        var plan = OfflinePlanner.Plan(LiveHealHost.Facts(watched, HealAction.OfflineRepair));
        var outcome = new OfflineExecutor(host, watched.Identity, watched.MountId, messages.Add).Execute(plan);
        try
        {
            Assert.True(outcome.LeftUnmounted);
            Assert.False(outcome.Success);
            Assert.Contains(messages, m => m.StartsWith($"REMOUNT FAILED: {fs.Loop} is NO LONGER MOUNTED at {fs.Mnt}"));
            Assert.Contains("NOT MOUNTED", outcome.Summary);
            Assert.DoesNotContain(outcome.Steps, s => s.Step is ProveRemountedStep);   // no false "proven"
            Assert.False(ScratchFs.IsMounted(fs.Mnt));
        }
        finally { if (!ScratchFs.IsMounted(fs.Mnt)) Sh.Run("mount", fs.Loop, fs.Mnt); }
    }
}
