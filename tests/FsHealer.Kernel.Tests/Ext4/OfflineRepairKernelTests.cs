using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;

namespace FsHealer.Kernel.Tests.Ext4;

[Collection("ext4-kernel")]
public class OfflineRepairKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static Ext4HealInput InputFor(Ext4Loop fs, Ext4HealPolicy policy)
    {
        var m = Ext4SysfsReader.FindMount(fs.Mnt)!;
        var st = Ext4SysfsReader.Read(fs.DevName);
        Assert.Empty(st.Diagnostics);
        return new Ext4HealInput
        {
            MountPoint = fs.Mnt, Device = fs.Device, Options = Ext4MountOptions.Of(m), HasErrors = st.HasErrors,
            IsRootFs = false, Busy = null, Policy = policy,
        };
    }

    [Fact]
    public void CorruptDetectRepairRemount_KeepsUndamagedData()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"], mountOptions: "errors=remount-ro,noatime");
        using (var h = new WatchHarness(false, fs.Mnt))
        {
            fs.CatInChild("d1/f3");
            var ev = h.Next(x => x.Event.Kind == FsErrorKind.Error, TimeSpan.FromSeconds(5));
            Out($"detected: {ev}");
        }
        var before = Ext4MountOptions.Of(Ext4SysfsReader.FindMount(fs.Mnt)!);
        Out($"mount options before: {before}");
        Assert.True(before.EmergencyReadOnly);
        Assert.Equal(Ext4ErrorsPolicy.RemountRo, before.ErrorsPolicy);

        var plan = Ext4HealPlanner.Plan(InputFor(fs, Ext4HealPolicy.OfflineRepair));
        Out($"plan: {plan}");
        Assert.Equal(Ext4PlanDecision.OfflineRepair, plan.Decision);
        var outcome = new OfflineRepairExecutor(new ProcessCommandRunner(), Out).Execute(plan);
        Out($"outcome: {outcome}");
        Assert.True(outcome.Success, outcome.ToString());
        Assert.Equal(Ext4PlanDecision.OfflineRepair, outcome.Final);
        var repair = outcome.Steps.Single(s => s.Step.Kind == Ext4StepKind.Repair);
        Assert.True(repair.Status is 1 or 2, $"e2fsck -fy should have corrected errors: {repair}");

        var after = Ext4SysfsReader.FindMount(fs.Mnt)!;
        var afterOptions = Ext4MountOptions.Of(after);
        Out($"mount options after: {afterOptions}");
        Assert.Equal(fs.Mnt, after.MountPoint);
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
        Out($"e2fsck -fn after repair: exit {rc}");
        Assert.True(rc == 0, output);
    }

    [Fact]
    public void BusyFilesystem_IsNotUnmounted_FallsBackToSchedule()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        fs.TriggerFsError();
        using var open = File.OpenRead(Path.Combine(fs.Mnt, "d2", "f1"));
        var plan = Ext4HealPlanner.Plan(InputFor(fs, Ext4HealPolicy.OfflineRepair));
        Assert.Equal(Ext4PlanDecision.OfflineRepair, plan.Decision);
        var outcome = new OfflineRepairExecutor(new ProcessCommandRunner(), Out).Execute(plan);
        Out($"outcome: {outcome}");
        Assert.Equal(Ext4PlanDecision.Schedule, outcome.Final);
        Assert.True(outcome.Success, outcome.ToString());
        Assert.Contains(outcome.Steps, s => s.Step.Kind == Ext4StepKind.Unmount && s.Status == 16 && s.Detail.Contains("EBUSY"));
        Assert.Contains(outcome.Steps, s => s.Step.Kind == Ext4StepKind.ScheduleFsck && s.Ok);
        Assert.DoesNotContain(outcome.Steps, s => s.Step.Kind == Ext4StepKind.Repair);
        Assert.True(fs.IsMounted());
        Assert.Equal(fs.Checksums["d2/f1"], Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(open)));
    }

    [Fact]
    public void SchedulePolicy_SetsForceFsck_OnTheSuperblock()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        fs.TriggerFsError();
        Assert.Equal(0, Ext4Loop.Run("umount", fs.Mnt).Exit);
        var plan = Ext4HealPlanner.Plan(new Ext4HealInput { MountPoint = fs.Mnt, Device = fs.Device, HasErrors = true, Policy = Ext4HealPolicy.Schedule });
        var outcome = new OfflineRepairExecutor(new ProcessCommandRunner(), Out).Execute(plan);
        Assert.True(outcome.Success, outcome.ToString());
        var sb = new byte[Ext4Superblock.Size];
        using (var dev = File.OpenRead(fs.Device)) { dev.Position = Ext4Superblock.DeviceOffset; dev.ReadExactly(sb); }
        var parsed = Ext4Superblock.Parse(sb, out var diag);
        Assert.True(parsed is not null, diag);
        Out($"superblock state 0x{parsed.State:x}, error count {parsed.ErrorCount}, first error func {parsed.FirstErrorFunc}");
        Assert.True(parsed.ErrorFlag);
        Assert.Equal("trigger_test_error", parsed.FirstErrorFunc);
    }
}
