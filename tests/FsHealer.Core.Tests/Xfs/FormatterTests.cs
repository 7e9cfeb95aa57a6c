using FsHealer.Xfs;

namespace FsHealer.Core.Tests.Xfs;

/// <summary>Every line format of libfrog/healthevent.c, byte for byte.</summary>
public class FormatterTests
{
    private static string F(HealthMonitorEvent e, string? path = null) => XfsEventFormatter.FormatEvent(e, "/mnt", path)!;

    [Fact] public void Running() => Assert.Equal("/mnt: monitoring started", F(HealthMonitorEvent.Running()));
    [Fact] public void Unmount() => Assert.Equal("/mnt: filesystem unmounted", F(HealthMonitorEvent.Unmount()));
    [Fact] public void Lost() => Assert.Equal("/mnt: 32 events lost", F(HealthMonitorEvent.Lost(32)));

    [Fact]
    public void Shutdown_ReasonsJoinedAndUnknownBitsHex()
    {
        Assert.Equal("/mnt: filesystem shut down due to forced unmount", F(HealthMonitorEvent.Shutdown(4)));
        Assert.Equal("/mnt: filesystem shut down due to metadata I/O error, log I/O error, forced unmount, in-memory state corruption, ondisk metadata corruption, device removed",
            F(HealthMonitorEvent.Shutdown(0x3f)));
        Assert.Equal("/mnt: filesystem shut down due to device removed, 0xc0", F(HealthMonitorEvent.Shutdown(0xe0)));
        Assert.Equal("/mnt: filesystem shut down due to ", F(HealthMonitorEvent.Shutdown(0)));
    }

    [Fact]
    public void FsMetadata()
    {
        Assert.Equal("/mnt fscounters, nlinks: sick", F(HealthMonitorEvent.Fs(HealthEventType.Sick, 0x81)));
        Assert.Equal("/mnt metadir, metapath, 0x400: corrupt", F(HealthMonitorEvent.Fs(HealthEventType.Corrupt, 0x700)));
        Assert.Equal("/mnt usrquota, grpquota, prjquota, bitmap, summary, quotacheck: healthy", F(HealthMonitorEvent.Fs(HealthEventType.Healthy, 0x7e)));
    }

    [Fact]
    public void AgAndRtgroup()
    {
        Assert.Equal("/mnt agno 0x5 bnobt, rmapbt: sick", F(HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 5, 0x110)));
        Assert.Equal("/mnt agno 0x1f super, agf, agfl, agi, bnobt, cntbt, inobt, finobt, rmapbt, refcountbt, inodes: corrupt",
            F(HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Corrupt, 31, 0x7ff)));
        Assert.Equal("/mnt rgno 0x5 bitmap: corrupt", F(HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Corrupt, 5, 2)));
        Assert.Equal("/mnt rgno 0x0 super, summary, rmapbt, refcountbt, 0x20: healthy", F(HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Healthy, 0, 0x3d)));
    }

    [Fact]
    public void Inode_WithAndWithoutPath()
    {
        var e = HealthMonitorEvent.Inode(HealthEventType.Corrupt, 131, 0x3a2b, 0x90);
        Assert.Equal("/mnt ino 131 gen 0x3a2b directory, parent: corrupt", F(e));
        Assert.Equal("/mnt/some/victimdir directory, parent: corrupt", F(e, "/mnt/some/victimdir"));
        Assert.Equal("/mnt ino 1 gen 0x0 core, datafork, attrfork, cowfork, directory, xattr, symlink, parent, dirtree, 0xfe00: sick",
            F(HealthMonitorEvent.Inode(HealthEventType.Sick, 1, 0, 0xffff)));
    }

    [Fact]
    public void UnknownTypeInMetadataDomain_PrintsUnknownValue() =>
        Assert.Equal("/mnt fscounters: unknown value", F(HealthMonitorEvent.Fs((HealthEventType)99, 1)));

    [Fact]
    public void Media()
    {
        Assert.Equal("/mnt datadev daddr 0x13 bbcount 0x5: media error", F(HealthMonitorEvent.Media(HealthDomain.DataDev, 0x13, 5)));
        Assert.Equal("/mnt rtdev daddr 0x0 bbcount 0x1: media error", F(HealthMonitorEvent.Media(HealthDomain.RtDev, 0, 1)));
        Assert.Equal("/mnt logdev daddr 0xffffffffffffffff bbcount 0x8: media error", F(HealthMonitorEvent.Media(HealthDomain.LogDev, ulong.MaxValue, 8)));
    }

    [Theory]
    [InlineData(HealthEventType.BufRead, "buffered_read")]
    [InlineData(HealthEventType.BufWrite, "buffered_write")]
    [InlineData(HealthEventType.DioRead, "directio_read")]
    [InlineData(HealthEventType.DioWrite, "directio_write")]
    public void FileIoErrors(HealthEventType t, string name)
    {
        var e = HealthMonitorEvent.FileRange(t, 12, 0x3, 8192, 4096, 5);
        Assert.Equal($"/mnt/a pos 8192 len 4096: {name}: Input/output error", F(e, "/mnt/a"));
        Assert.Equal($"/mnt ino 12 gen 0x3 pos 8192 len 4096: {name}: Input/output error", F(e));
    }

    [Fact]
    public void FileIo_DataLostAndZeroError_PrintFailed()
    {
        Assert.Equal("/mnt/a pos 0 len 4096: media failed", F(HealthMonitorEvent.FileRange(HealthEventType.DataLost, 1, 1, 0, 4096, 5), "/mnt/a"));
        Assert.Equal("/mnt/a pos 0 len 512: buffered_read failed", F(HealthMonitorEvent.FileRange(HealthEventType.BufRead, 1, 1, 0, 512, 0), "/mnt/a"));
        Assert.Equal("/mnt/a pos 0 len 512: unknown value failed", F(HealthMonitorEvent.FileRange((HealthEventType)3, 1, 1, 0, 512, 0), "/mnt/a"));
    }

    [Fact]
    public void FileIo_UnknownErrno_IsGlibcText() =>
        Assert.Equal("/mnt/a pos 0 len 1: directio_write: Unknown error 4000", F(HealthMonitorEvent.FileRange(HealthEventType.DioWrite, 1, 1, 0, 1, 4000), "/mnt/a"));

    [Fact]
    public void UnknownDomainOrMountType_PrintsNothing()
    {
        Assert.Null(XfsEventFormatter.FormatEvent(new HealthMonitorEvent((HealthDomain)9, HealthEventType.Sick, 0, 1, 0, 0, 0, 0, 0), "/mnt"));
        Assert.Null(XfsEventFormatter.FormatEvent(new HealthMonitorEvent(HealthDomain.Mount, HealthEventType.Sick, 0, 1, 0, 0, 0, 0, 0), "/mnt"));
        Assert.Equal("domain 0x9 (unknown) type sick", XfsEventFormatter.Describe(new HealthMonitorEvent((HealthDomain)9, HealthEventType.Sick, 0, 0, 0, 0, 0, 0, 0)));
    }

    [Fact]
    public void RepairLines_OnePerStructure()
    {
        var ino = HealthMonitorEvent.Inode(HealthEventType.Sick, 131, 0x3a2b, 0x90);
        Assert.Equal("/mnt/some/victimdir directory: Repairs successful.", XfsEventFormatter.FormatRepair(ino, 0x10, RepairOutcome.Success, "/mnt", "/mnt/some/victimdir"));
        Assert.Equal("/mnt ino 131 gen 0x3a2b parent: Repair unsuccessful; offline repair required.", XfsEventFormatter.FormatRepair(ino, 0x80, RepairOutcome.Failed, "/mnt"));
        var ag = HealthMonitorEvent.Group(HealthDomain.Ag, HealthEventType.Sick, 3, 0x10);
        Assert.Equal("/mnt agno 0x3 bnobt: Seems correct but cross-referencing failed; offline repair recommended.", XfsEventFormatter.FormatRepair(ag, 0x10, RepairOutcome.ProbablyOk, "/mnt"));
        var rg = HealthMonitorEvent.Group(HealthDomain.RtGroup, HealthEventType.Sick, 2, 0x1);
        Assert.Equal("/mnt rgno 0x2 super: No modification needed.", XfsEventFormatter.FormatRepair(rg, 0x1, RepairOutcome.Unnecessary, "/mnt"));
        var fs = HealthMonitorEvent.Fs(HealthEventType.Sick, 0x1);
        Assert.Equal("/mnt fscounters: Repairs successful.", XfsEventFormatter.FormatRepair(fs, 0x1, RepairOutcome.Success, "/mnt"));
        Assert.Null(XfsEventFormatter.FormatRepair(HealthMonitorEvent.Running(), 1, RepairOutcome.Success, "/mnt"));
    }
}
