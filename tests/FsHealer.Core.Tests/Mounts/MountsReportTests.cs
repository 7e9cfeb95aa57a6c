using FsHealer.Cli.Commands;
using System.Text.Json;
using FsHealer.Mounts.Live;
using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Mounts;

public class MountsReportTests
{
    private static readonly List<MountEntry> Table = MountInfoParser.ParseAll(
        "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n" +
        "23 22 0:21 / /proc rw,nosuid - proc proc rw\n" +
        "43 22 7:1 / /mnt/my\\040xfs rw - xfs /dev/loop1 rw,inode64\n" +
        "44 22 7:1 / /mnt/again rw - xfs /dev/loop1 rw,inode64\n" +
        "45 22 7:1 /dir /mnt/bind rw - xfs /dev/loop1 rw,inode64\n" +
        "46 22 7:2 / /mnt/v ro - vfat /dev/loop2 ro\n", []);

    [Fact]
    public void TableMarksTargetsBindsAndUnsupported()
    {
        var r = MountsReport.Build(Table, "mountinfo", all: false);
        Assert.DoesNotContain(r.Mounts, m => m.FsType == "proc");
        Assert.Contains(r.Mounts, m => m.FsType == "vfat" && m.Role == "unsupported"); // a /dev/ source is shown
        var text = MountsReport.FormatTable(r);
        var lines = text.Split('\n');
        Assert.StartsWith("MNT_ID", lines[0]);
        Assert.Contains(lines, l => l.Contains("/mnt/my xfs") && l.EndsWith("yes"));
        Assert.Contains(lines, l => l.Contains("/mnt/bind") && l.Contains("/dir") && l.EndsWith("no (subtree)"));
        Assert.Contains(lines, l => l.Contains("/mnt/v") && l.EndsWith("unsupported"));
        Assert.Contains("2 filesystem(s) to monitor (mount table from mountinfo)", text);
        Assert.Contains("xfs 7:1 /dev/loop1 at /mnt/my xfs (also /mnt/again)", text);
    }

    [Fact]
    public void JsonIsSourceGeneratedAndComplete()
    {
        var r = MountsReport.Build(Table, "mountinfo", all: true);
        var json = JsonSerializer.Serialize(r, MountsJsonContext.Default.MountsReportDto);
        using var doc = JsonDocument.Parse(json);
        var mounts = doc.RootElement.GetProperty("mounts");
        Assert.Equal(6, mounts.GetArrayLength());
        var x = mounts.EnumerateArray().Single(m => m.GetProperty("legacy_id").GetUInt32() == 43);
        Assert.Equal("/mnt/my xfs", x.GetProperty("mount_point").GetString());
        Assert.Equal("7:1", x.GetProperty("dev").GetString());
        Assert.Equal("target", x.GetProperty("role").GetString());
        Assert.False(x.GetProperty("read_only").GetBoolean());
        Assert.True(mounts.EnumerateArray().Single(m => m.GetProperty("legacy_id").GetUInt32() == 46).GetProperty("read_only").GetBoolean());
        var targets = doc.RootElement.GetProperty("targets");
        Assert.Equal(2, targets.GetArrayLength());
        Assert.Equal("mountinfo", doc.RootElement.GetProperty("method").GetString());
    }
}
