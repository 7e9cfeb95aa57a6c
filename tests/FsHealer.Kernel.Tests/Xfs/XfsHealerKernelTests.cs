using FsHealer.Xfs;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;
using FsHealer.Xfs.Live;

namespace FsHealer.Kernel.Tests.Xfs;

/// <summary>xfs_healer parity on this machine's real kernel (6.18: no health monitor, no online scrub).</summary>
public class XfsHealerKernelTests
{
    [Fact]
    public void Supported_OnKernelWithoutHealthMonitor_Exit1_WithMessage()
    {
        using var fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-supported");
        var r = Sh.Fshealer("xfs-healer", "--supported", fs.Mnt);
        Assert.Equal(1, r.Code);
        Assert.Equal($"{fs.Mnt}: Only logging errors per autofsck directive.\n", r.Out);
        Assert.Equal($"{fs.Mnt}: XFS health monitoring not supported.\n", r.Err);
        // the daemon mode reports it cleanly too (exit 1, no stack trace) and leaves nothing pinned
        r = Sh.Fshealer("xfs-healer", fs.Mnt);
        Assert.Equal(1, r.Code);
        Assert.Equal($"{fs.Mnt}: XFS health monitoring not supported.\n", r.Err);
        fs.Umount(fs.Mnt);
    }

    [Fact]
    public void Repair_OnKernelWithoutOnlineScrub_IsFatal()
    {
        using var fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-repair");
        var r = Sh.Fshealer("xfs-healer", "--supported", fs.Mnt, "--repair");
        Assert.Equal(255, r.Code);
        Assert.Equal($"{fs.Mnt}: XFS online repair is not supported, exiting\n", r.Err);
    }

    [Fact]
    public void AutofsckProperty_IsRead_FromTrustedXattr()
    {
        Sh.RequireTools("setfattr");
        using var fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-autofsck");
        Sh.Check("setfattr", "-n", "trusted.xfs:autofsck", "-v", "none", fs.Mnt);
        var r = Sh.Fshealer("xfs-healer", "--supported", fs.Mnt);
        Assert.Equal(1, r.Code);
        Assert.Equal($"{fs.Mnt}: Disabling daemon per autofsck directive.\n", r.Out);
        Sh.Check("setfattr", "-n", "trusted.xfs:autofsck", "-v", "repair", fs.Mnt);
        r = Sh.Fshealer("xfs-healer", "--supported", fs.Mnt);
        Assert.Equal($"{fs.Mnt}: Automatically repairing per autofsck directive.\n{fs.Mnt}: XFS online repair is not supported, will report only\n", r.Out);
        Assert.Equal($"{fs.Mnt}: XFS health monitoring not supported.\n", r.Err);
        Assert.Equal(1, r.Code);
    }

    [Fact]
    public void NotAnXfsMountPoint_Exit255()
    {
        using var fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-notmnt");
        Directory.CreateDirectory(Path.Combine(fs.Mnt, "sub"));
        var r = Sh.Fshealer("xfs-healer", "--supported", Path.Combine(fs.Mnt, "sub"));
        Assert.Equal(255, r.Code);
        Assert.Equal($"{fs.Mnt}/sub: Not a XFS mount point.\n", r.Err);
        r = Sh.Fshealer("xfs-healer", "--supported", "/proc");
        Assert.Equal(255, r.Code);
        Assert.Equal("/proc: Inappropriate ioctl for device\n", r.Err);
        r = Sh.Fshealer("xfs-healer", "--supported", "/does/not/exist");
        Assert.Equal("/does/not/exist: No such file or directory\n", r.Err);
    }

    [Fact]
    public void Healthmon_Probe_ReportsMissingIoctl()
    {
        using var fs = ScratchFs.Create("xfs", tag: "xfs-healthmon");
        var r = Sh.Fshealer("healthmon", "-p", fs.Mnt);
        Assert.Equal(1, r.Code);
        Assert.Equal("XFS_IOC_HEALTH_MONITOR: Inappropriate ioctl for device\n", r.Err);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/mnt/scratch")]
    [InlineData("/mnt/my disk")]
    [InlineData("/mnt/a-b--c")]
    [InlineData("/mnt/trailing///")]
    [InlineData("//double//slashes")]
    [InlineData("/mnt/./dot")]
    [InlineData("/.hidden/x")]
    [InlineData("/mnt/ünïcödé/日本")]
    [InlineData("/mnt/back\\slash")]
    [InlineData("/mnt/tab\there")]
    [InlineData("/mnt/colon:under_score.dot")]
    [InlineData("/mnt/@at+plus%pct")]
    public void Svcname_MatchesSystemdEscape(string path)
    {
        Sh.RequireTools("systemd-escape");
        var expected = Sh.Run("systemd-escape", "--template", "xfs_healer@.service", "--path", path);
        var r = Sh.Fshealer("xfs-healer", "--svcname", path);
        Assert.Equal(0, expected.Code);
        Assert.Equal(expected.Out, r.Out);
        Assert.Equal(0, r.Code);
    }

    [Fact]
    public void Svcname_DotDot_IsRejectedLikeSystemdEscape()
    {
        Sh.RequireTools("systemd-escape");
        var expected = Sh.Run("systemd-escape", "--template", "xfs_healer@.service", "--path", "/mnt/../x");
        var r = Sh.Fshealer("xfs-healer", "--svcname", "/mnt/../x");
        Assert.NotEqual(0, expected.Code);
        Assert.Equal(1, r.Code);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void WeakHandle_ReopensAfterMove_AndGoesStaleAfterUnmount()
    {
        using var fs = ScratchFs.Create("xfs", mkfsArgs: ["-m", "rmapbt=1"], tag: "xfs-weak");
        using var root = Libc.Open(fs.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        Assert.Equal(0, XfsIoctl.GetGeometry(root, out var geo));
        Assert.True(geo.HasRmapBt);
        Assert.Equal(0, LinuxXfsTarget.Create(root, fs.Mnt, fs.Loop!, geo, out var target));
        root.Dispose();

        using (var fd = target!.Reopen(validate: true, out int err)) Assert.NotNull(fd);
        // move: bind elsewhere, unmount the original place (xfs/1900)
        var moved = Path.Combine(fs.Dir, "moved");
        Directory.CreateDirectory(moved);
        fs.Mount(fs.Mnt, moved, "--bind");
        fs.Umount(fs.Mnt);
        using (var fd = target.Reopen(validate: true, out int err))
        {
            Assert.NotNull(fd);
            Assert.Equal(moved, target.CurrentMountpoint);
        }
        // gone: nothing acceptable mounted → ESTALE, and the weak handle pinned nothing (umount succeeded)
        fs.Umount(moved);
        Assert.Null(target.Reopen(validate: true, out int e2));
        Assert.Equal(116, e2);
        Assert.Equal(116, target.OpenForRepair(out var h));
        Assert.Null(h);
    }

    [Fact]
    public void WeakHandle_DifferentFilesystemOverSameMountpoint_IsStale()
    {
        using var a = ScratchFs.Create("xfs", tag: "xfs-wrong-a");
        using var b = ScratchFs.Create("xfs", tag: "xfs-wrong-b");
        using var root = Libc.Open(a.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        XfsIoctl.GetGeometry(root, out var geo);
        LinuxXfsTarget.Create(root, a.Mnt, a.Loop!, geo, out var target);
        root.Dispose();
        // another XFS mounted on top of the same directory: its root handle differs (other UUID/fsid)
        a.Mount(b.Loop!, a.Mnt);
        Assert.Null(target!.Reopen(validate: true, out int err));
        Assert.Equal(116, err);
        a.Umount(a.Mnt);
        using var again = target.Reopen(validate: true, out _);
        Assert.NotNull(again);
    }

    [Fact]
    public void WeakHandle_ByteIdenticalClone_MountedNouuidOverSameMountpoint_IsStale() // xfs/1901 analog
    {
        using var a = ScratchFs.Create("xfs", tag: "xfs-clone");
        File.WriteAllText(Path.Combine(a.Mnt, "victim"), "data");
        using var root = Libc.Open(a.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        XfsIoctl.GetGeometry(root, out var geo);
        LinuxXfsTarget.Create(root, a.Mnt, a.Loop!, geo, out var target);
        root.Dispose();
        a.Umount(a.Mnt);
        var clone = Path.Combine(a.Dir, "clone.img");
        Sh.Check("cp", "--sparse=always", a.Image, clone);
        a.Mount(a.Loop!, a.Mnt);
        var cloneLoop = a.Attach(clone);
        a.Mount(cloneLoop, a.Mnt, "-o", "nouuid");
        // same UUID, same root ino/gen, same XFS fsid: only the device (and on 7.0 the monitor ioctl) differ
        Assert.Null(target!.Reopen(validate: true, out int err));
        Assert.Equal(116, err);
        a.Umount(a.Mnt);
        using var ok = target.Reopen(validate: true, out _);
        Assert.NotNull(ok);
    }

    [Fact]
    public void WeakHandle_FollowsMountMove() // mount --move keeps the unique mount id: statmount(mnt_id) finds it
    {
        using var fs = ScratchFs.Create("xfs", tag: "xfs-move");
        using var root = Libc.Open(fs.Mnt, Libc.O_RDONLY | Libc.O_DIRECTORY, out _);
        XfsIoctl.GetGeometry(root, out var geo);
        Assert.Equal(0, LinuxXfsTarget.Create(root, fs.Mnt, fs.Loop!, geo, out var target));
        root.Dispose();
        Assert.NotEqual(0UL, target!.MountId);
        var moved = Path.Combine(fs.Dir, "moved");
        Directory.CreateDirectory(moved);
        var mv = Sh.Run("mount", "--move", fs.Mnt, moved);
        if (mv.Code != 0) Assert.Skip($"mount --move not possible here (shared parent mount? run inside unshare -m --propagation private): {mv.Err.Trim()}");
        try
        {
            using var fd = target.Reopen(validate: true, out int err);
            Assert.NotNull(fd);
            Assert.Equal(moved, target.CurrentMountpoint);
        }
        finally { Sh.Run("umount", moved); }
    }
}
