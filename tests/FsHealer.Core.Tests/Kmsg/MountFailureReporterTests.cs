using FsHealer.Kmsg;

namespace FsHealer.Core.Tests.Kmsg;

/// <summary>Issue 17, unmountable filesystems: the kernel's lines about one refused mount become one report naming
/// the device; damage is told apart from an unsupported feature.</summary>
public class MountFailureReporterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 23, 30, 0, TimeSpan.Zero);
    private static MountFailureEvent D(string line) => MountFailureLog.Decode(line) ?? throw new InvalidOperationException("not decoded: " + line);

    private const string BadGeometry = "EXT4-fs (loop7): bad geometry: block count 999999999 exceeds size of device (65536 blocks)";
    private const string BtrfsEvidence = "BTRFS error (device loop5): failed to read chunk tree: -5";
    private const string BtrfsFinal = "BTRFS error (device loop5): open_ctree failed: -5";
    private const string Unsupported = "EXT4-fs (loop6): Couldn't mount because of unsupported optional features (10000)";

    [Fact]
    public void A_final_damage_line_is_reported_at_once_naming_the_device_and_the_remedy()
    {
        var r = new MountFailureReporter();
        var rep = Assert.Single(r.Observe([D(BadGeometry)], T0));
        Assert.Equal(("ext4", "loop7", true, true), (rep.Filesystem, rep.Device, rep.Damage, rep.Final));
        Assert.Equal([MountFailureReason.BadGeometry], rep.Reasons);
        var text = rep.Describe();
        Assert.StartsWith("/dev/loop7: ext4 mount failed: the filesystem is damaged (BadGeometry)", text);
        Assert.Contains("e2fsck -f on /dev/loop7", text);
        Assert.Contains("bad geometry: block count 999999999", text);
    }

    [Fact]
    public void Btrfs_evidence_then_open_ctree_failed_is_one_report_with_the_damage()
    {
        var r = new MountFailureReporter();
        Assert.Empty(r.Observe([D(BtrfsEvidence)], T0));
        var final = D(BtrfsFinal);
        Assert.True(final.Final);
        var rep = Assert.Single(r.Observe([final], T0.AddMilliseconds(50)));
        Assert.True(rep.Damage);
        Assert.Equal(2, rep.Lines.Count);
        Assert.Contains("failed to read chunk tree", rep.Lines[0]);
        Assert.Contains("btrfs check", rep.Remedy);
    }

    [Fact]
    public void Damage_evidence_without_a_final_line_is_reported_after_the_settle_time()
    {
        var r = new MountFailureReporter();
        Assert.Empty(r.Observe([D(BtrfsEvidence)], T0));
        Assert.Empty(r.Observe([], T0 + MountFailureReporter.Settle - TimeSpan.FromMilliseconds(1)));
        var rep = Assert.Single(r.Observe([], T0 + MountFailureReporter.Settle));
        Assert.False(rep.Final);   // the caller confirms the device is not mounted
        Assert.True(rep.Damage);
    }

    [Fact]
    public void An_unsupported_feature_is_reported_as_not_damage()
    {
        var rep = Assert.Single(new MountFailureReporter().Observe([D(Unsupported)], T0));
        Assert.False(rep.Damage);
        Assert.Contains("not damage", rep.Describe());
    }

    [Fact]
    public void A_retrying_mount_is_reported_once_per_window_per_device()
    {
        var r = new MountFailureReporter();
        Assert.Single(r.Observe([D(BadGeometry)], T0));
        for (int i = 1; i < 50; i++) Assert.Empty(r.Observe([D(BadGeometry)], T0.AddSeconds(i)));
        Assert.Single(r.Observe([D(BadGeometry.Replace("loop7", "loop8"))], T0.AddSeconds(51)));
        Assert.Single(r.Observe([D(BadGeometry)], T0 + MountFailureReporter.RepeatWindow + TimeSpan.FromSeconds(1)));
    }
}

