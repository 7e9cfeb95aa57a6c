using System.Security.Cryptography;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Xfs.Live;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.XfsPoll;

[Collection("xfspoll-kernel")]
public class XfsOfflineRepairKernelTests
{
    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static Dictionary<string, string> Checksums(string mnt) =>
        new[] { "f1" }.Concat(Enumerable.Range(1, 20).Select(i => $"data{i}"))
            .ToDictionary(n => n, n => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(mnt, n)))));

    private static MountEntry? Entry(string mnt)
    {
        var e = MountTable.FindTopmost(mnt, out var error);
        Assert.Null(error);
        return e;
    }

    [Fact]
    public void DirectoryCorruption_IsRepairedOffline_VerifiedClean_Remounted_DataUnchanged()
    {
        XfsPristine.RequireEnvironment();
        if (!Sh.Has("xfs_repair")) Assert.Skip("xfs_repair not installed");
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir", "dblock 0", "write -d dhdr.hdr.magic 0");
        var before = Checksums(fs.Mount);
        var optsBefore = Entry(fs.Mount)!.MountOptions;
        var poller = new XfsHealthPoller(fs.Mount);
        poller.Poll();
        Sh.Run("ls", Path.Combine(fs.Mount, "bigdir"));
        Assert.Contains(poller.Poll().Events, e => e.Domain == FsHealer.Xfs.HealthDomain.Inode && e.Mask == 0x10);

        var report = XfsOfflineRepair.Repair(fs.Mount);
        foreach (var s in report.Steps) Log(s.ToString());
        Log(report.Summary);
        Assert.Equal(OfflineRepairOutcome.Repaired, report.Outcome);
        Assert.Equal(["unmount", "repair", "verify", "remount"], report.Steps.Select(s => s.Name));
        Assert.All(report.Steps, s => Assert.True(s.Ok, s.ToString()));

        var after = Entry(fs.Mount);
        Assert.NotNull(after);
        Assert.Equal(("xfs", fs.Loop), (after.FsType, after.Source));
        Assert.Equal(optsBefore, after.MountOptions);
        Assert.Equal(before, Checksums(fs.Mount));
        Assert.Equal(0, Sh.Run("ls", Path.Combine(fs.Mount, "bigdir")).Code);
        // the fresh mount has no sick state
        Assert.DoesNotContain(new XfsHealthPoller(fs.Mount).Poll().Events, e => e.Type == FsHealer.Xfs.HealthEventType.Sick);
        // and offline it is clean
        Assert.True(fs.Unmount());
        var n = Sh.Run("xfs_repair", "-n", fs.Loop!);
        Assert.True(n.Code == 0, n.Err + n.Out);
    }

    [Fact]
    public void BusyFilesystem_IsRefused_NeverLazilyUnmounted()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true);
        using (var held = File.OpenRead(Path.Combine(fs.Mount, "data1")))
        {
            var report = XfsOfflineRepair.Repair(fs.Mount);
            foreach (var s in report.Steps) Log(s.ToString());
            Log(report.Summary);
            Assert.Equal(OfflineRepairOutcome.Refused, report.Outcome);
            Assert.Contains("EBUSY", report.Summary);
            Assert.Equal(["unmount"], report.Steps.Select(s => s.Name));
            Assert.True(fs.IsMounted());
            Assert.True(held.ReadByte() >= 0, "the holder was not disturbed");
        }
        var notXfs = XfsOfflineRepair.Repair("/proc");
        Assert.Equal(OfflineRepairOutcome.Refused, notXfs.Outcome);
        Assert.Empty(notXfs.Steps);
        var rootFs = XfsOfflineRepair.Repair("/");
        Assert.Equal(OfflineRepairOutcome.Refused, rootFs.Outcome);
        Assert.Empty(rootFs.Steps);
    }
}
