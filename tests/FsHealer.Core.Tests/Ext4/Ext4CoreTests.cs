using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Mounts;

namespace FsHealer.Core.Tests.Ext4;

public class Ext4SysfsTests
{
    internal static Dictionary<string, string> Attrs(ulong count, ulong time = 1795284995, int errcode = 5, ulong ino = 12) => new()
    {
        ["errors_count"] = $"{count}\n", ["msg_count"] = "1\n", ["warning_count"] = "0\n",
        ["first_error_time"] = $"{time}\n", ["first_error_ino"] = $"{ino}\n", ["first_error_block"] = "0\n",
        ["first_error_line"] = "1789\n", ["first_error_func"] = "ext4_lookup\n", ["first_error_errcode"] = $"{errcode}\n",
        ["last_error_time"] = $"{time}\n", ["last_error_ino"] = $"{ino}\n", ["last_error_block"] = "76\n",
        ["last_error_line"] = "1789\n", ["last_error_func"] = "ext4_lookup\n", ["last_error_errcode"] = $"{errcode}\n",
    };

    [Fact]
    public void Parse_MeasuredExample()
    {
        var s = Ext4SysfsState.Parse("loop3", Attrs(2));
        Assert.Empty(s.Diagnostics);
        Assert.Equal(2UL, s.ErrorsCount);
        Assert.True(s.HasErrors);
        Assert.Equal("ext4_lookup", s.FirstError!.Function);
        Assert.Equal(1789u, s.FirstError.Line);
        Assert.Equal("EFSCORRUPTED", s.FirstError.ErrCodeName);
        Assert.Equal(12UL, s.LastError!.Inode);
        Assert.Equal(76UL, s.LastError.Block);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1795284995), s.FirstError.Time);
        Assert.Contains("ext4_lookup:1789 EFSCORRUPTED inode 12", s.LastError.ToString());
    }

    [Fact]
    public void Parse_NoErrors_TimeZeroMeansNone()
    {
        var s = Ext4SysfsState.Parse("loop3", Attrs(0, time: 0, errcode: 0, ino: 0));
        Assert.False(s.HasErrors);
        Assert.Null(s.FirstError);
        Assert.Null(s.LastError);
    }

    [Fact]
    public void Parse_GarbageAndMissing_AreDiagnostics()
    {
        var a = Attrs(1);
        a["errors_count"] = "lots";
        a.Remove("msg_count");
        a["first_error_time"] = "99999999999999999";
        var s = Ext4SysfsState.Parse("sda1", a);
        Assert.Null(s.ErrorsCount);
        Assert.Null(s.MsgCount);
        Assert.Contains(s.Diagnostics, d => d.Contains("errors_count: not a number"));
        Assert.Contains(s.Diagnostics, d => d.Contains("msg_count: missing"));
        Assert.Null(s.FirstError!.Time);
    }

    [Theory]
    [InlineData(2, "EIO", 5)]
    [InlineData(4, "EFSBADCRC", 74)]
    [InlineData(5, "EFSCORRUPTED", 117)]
    [InlineData(16, "ESHUTDOWN", 108)]
    [InlineData(1, "UNKNOWN", 117)]
    [InlineData(200, "EXT4_ERR_200", 117)]
    public void Ext4ErrCodes_Table(int code, string name, int errno)
    {
        Assert.Equal(name, Ext4ErrorCodes.Name(code));
        Assert.Equal(errno, Ext4ErrorCodes.ToErrno(code));
    }

    [Fact]
    public void Superblock_ErrorFields()
    {
        var sb = new byte[1024];
        sb[0x38] = 0x53; sb[0x39] = 0xEF;
        sb[0x3A] = 0x3; sb[0x3C] = 2;
        sb[0x194] = 7;
        sb[0x19C] = 15;
        "ext4_ext_check_inode"u8.CopyTo(sb.AsSpan(0x1A8));
        "0123456789abcdef0123456789abcdef"u8.CopyTo(sb.AsSpan(0x1E0)); // not NUL-terminated
        sb[0x27A] = 5; sb[0x27B] = 16;
        var s = Ext4Superblock.Parse(sb, out var diag)!;
        Assert.Null(diag);
        Assert.True(s.ErrorFlag);
        Assert.Equal(7u, s.ErrorCount);
        Assert.Equal(15u, s.FirstErrorIno);
        Assert.Equal("ext4_ext_check_inode", s.FirstErrorFunc);
        Assert.Equal(32, s.LastErrorFunc.Length);
        Assert.Equal(16, s.LastErrCode);
        Assert.Null(Ext4Superblock.Parse(new byte[1024], out diag));
        Assert.Contains("magic", diag);
        Assert.Null(Ext4Superblock.Parse(new byte[10], out diag));
    }
}

public class Ext4ReconcilerTests
{
    private static readonly FsId Id = new(1, 2);
    private static Ext4SysfsState St(ulong n) => Ext4SysfsState.Parse("loop3", Ext4SysfsTests.Attrs(n, time: n == 0 ? 0UL : 1795284995UL));
    private static FsErrorEvent Ev(uint count, FsId? id = null) => new() { Fsid = id ?? Id, Error = 117, ErrorCount = count };

    [Fact]
    public void ErrorsBeforeStart_AreReportedAsMissed()
    {
        var r = new Ext4ErrorReconciler(Id, "loop3");
        var m = r.Reconcile(St(3))!;
        Assert.Equal(FsErrorKind.Missed, m.Kind);
        Assert.Equal(3u, m.ErrorCount);
        Assert.Equal(117, m.Error);
        Assert.Equal(12u, m.Inode);
        Assert.Contains(m.Notes, n => n.Contains("before the watcher started"));
        Assert.Null(r.Reconcile(St(3)));
    }

    [Fact]
    public void CleanStart_NothingMissed()
    {
        var r = new Ext4ErrorReconciler(Id, "loop3");
        Assert.Null(r.Reconcile(St(0)));
    }

    [Fact]
    public void RiseExplainedByEvents_IsNotMissed_UnexplainedRiseIs()
    {
        var r = new Ext4ErrorReconciler(Id, "loop3");
        Assert.Null(r.Reconcile(St(0)));
        r.Observe(Ev(2));
        r.Observe(Ev(5, new FsId(9, 9))); // another filesystem: ignored
        Assert.Null(r.Reconcile(St(2)));
        r.Observe(Ev(1));
        var m = r.Reconcile(St(10))!;
        Assert.Equal(7u, m.ErrorCount); // rise 8, one reported
        Assert.Contains(m.Notes, n => n.Contains("rose from 2 to 10"));
    }

    [Fact]
    public void EventsAheadOfCounter_CarryOver()
    {
        var r = new Ext4ErrorReconciler(Id, "loop3");
        r.Reconcile(St(0));
        r.Observe(Ev(3));
        Assert.Null(r.Reconcile(St(1))); // counter read before the last two were counted
        Assert.Null(r.Reconcile(St(3)));
    }

    [Fact]
    public void CounterDrop_IsNewBaseline()
    {
        var r = new Ext4ErrorReconciler(Id, "loop3");
        r.Reconcile(St(5));
        var notes = new List<string>();
        Assert.Null(r.Reconcile(St(0), notes));
        Assert.Contains(notes, n => n.Contains("fell from 5 to 0"));
        Assert.Equal(1u, r.Reconcile(St(1))!.ErrorCount);
    }
}

public class Ext4MountOptionsTests
{
    [Theory]
    [InlineData("rw,relatime,errors=remount-ro,emergency_ro", Ext4ErrorsPolicy.RemountRo, true)]
    [InlineData("rw,relatime,errors=continue", Ext4ErrorsPolicy.Continue, false)]
    [InlineData("rw,errors=panic", Ext4ErrorsPolicy.Panic, false)]
    [InlineData("rw,relatime", Ext4ErrorsPolicy.Default, false)]
    [InlineData("", Ext4ErrorsPolicy.Default, false)]
    public void Policy_And_EmergencyRo(string opts, Ext4ErrorsPolicy policy, bool ero)
    {
        var o = Ext4MountOptions.Parse(opts);
        Assert.Equal(policy, o.ErrorsPolicy);
        Assert.Equal(ero, o.EmergencyReadOnly);
        Assert.Equal(ero, o.ReadOnly);
    }

    [Fact]
    public void Remount_DropsStateOnlyOptions()
    {
        var m = new FsHealer.Mounts.MountEntry { FsType = "ext4", MountOptions = "rw,nosuid,relatime", SuperOptions = "rw,errors=remount-ro,emergency_ro" };
        var spec = FsHealer.Healing.RemountSpec.From(m);
        Assert.Equal("rw,nosuid,relatime,errors=remount-ro", spec.OptionsText);
        Assert.Equal("errors=remount-ro", spec.Data);
        Assert.Equal(FsHealer.Healing.RemountSpec.MS_NOSUID | FsHealer.Healing.RemountSpec.MS_RELATIME, spec.Flags);
    }

    [Fact]
    public void MountInfo_ParsesAndUnescapes()
    {
        const string text =
            "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n" +
            "95 22 7:3 / /tmp/a\\040b rw,relatime shared:50 master:2 - ext4 /dev/loop3 rw,errors=remount-ro,emergency_ro\n" +
            "garbage line\n";
        var bad = new List<string>();
        var list = MountInfoParser.ParseAll(text, bad);
        Assert.Single(bad);
        Assert.Equal(2, list.Count);
        var e = list[1];
        Assert.Equal("/tmp/a b", e.MountPoint);
        Assert.Equal((7u, 3u), (e.DevMajor, e.DevMinor));
        Assert.Equal("ext4", e.FsType);
        Assert.Equal("/dev/loop3", e.Source);
        Assert.True(Ext4MountOptions.Of(e).EmergencyReadOnly);
        Assert.Equal(Ext4ErrorsPolicy.RemountRo, Ext4MountOptions.Of(e).ErrorsPolicy);
        Assert.Equal("a\\b\\9", MountInfoParser.Unescape("a\\134b\\9"));
    }
}

public class HandleResolutionGuardTests
{
    private static FsErrorEvent Ev(uint ino, uint gen = 7, int pid = 100) =>
        new() { Fsid = new FsId(1, 2), Inode = ino, Generation = gen, Error = 117, ErrorCount = 1, Pid = pid, HandleType = 1 };

    [Fact]
    public void ResolvesEachInodeOnce()
    {
        var g = new HandleResolutionGuard(ownPid: 42);
        var t = DateTimeOffset.UnixEpoch;
        Assert.True(g.ShouldResolve(Ev(15), t));
        Assert.False(g.ShouldResolve(Ev(15), t.AddSeconds(10)));
        Assert.Equal("already resolved once", g.LastReason);
    }

    [Fact]
    public void NeverResolves_OwnPid_GenZero_FilesystemWide()
    {
        var g = new HandleResolutionGuard(ownPid: 42);
        var t = DateTimeOffset.UnixEpoch;
        Assert.False(g.ShouldResolve(Ev(15, pid: 42), t));
        Assert.Contains("feedback loop", g.LastReason);
        Assert.False(g.ShouldResolve(Ev(16, gen: 0), t));
        Assert.Contains("generation 0", g.LastReason);
        Assert.False(g.ShouldResolve(new FsErrorEvent { Fsid = new FsId(1, 2), FilesystemWide = true, Pid = 5 }, t));
    }

    [Fact]
    public void FeedbackStorm_IsBounded()
    {
        // Simulate the measured loop: every resolution of inode 15 raises a new event for inode 15 from our own pid.
        var g = new HandleResolutionGuard(ownPid: 42);
        var t = DateTimeOffset.UnixEpoch;
        int resolutions = 0;
        var queue = new Queue<FsErrorEvent>([Ev(15)]);
        for (int i = 0; i < 100_000 && queue.Count > 0; i++)
        {
            var e = queue.Dequeue();
            if (g.ShouldResolve(e, t)) { resolutions++; queue.Enqueue(Ev(15, pid: 42)); queue.Enqueue(Ev(15, pid: 100)); }
        }
        Assert.Equal(1, resolutions);
    }

    [Fact]
    public void RateLimit_ThenRecovers()
    {
        var g = new HandleResolutionGuard(ownPid: 42, maxPerWindow: 3, window: TimeSpan.FromSeconds(1));
        var t = DateTimeOffset.UnixEpoch;
        Assert.True(g.ShouldResolve(Ev(1), t));
        Assert.True(g.ShouldResolve(Ev(2), t));
        Assert.True(g.ShouldResolve(Ev(3), t));
        Assert.False(g.ShouldResolve(Ev(4), t));
        Assert.Contains("rate limit", g.LastReason);
        Assert.True(g.ShouldResolve(Ev(4), t.AddSeconds(2))); // a rate-limited inode is not marked as seen
    }
}

public class E2fsckExitTests
{
    [Theory]
    [InlineData(0, "no errors", true)]
    [InlineData(1, "file system errors corrected", true)]
    [InlineData(2, "file system errors corrected, system should be rebooted", true)]
    [InlineData(4, "file system errors left uncorrected", false)]
    [InlineData(8, "operational error", false)]
    [InlineData(16, "usage or syntax error", false)]
    [InlineData(32, "e2fsck canceled by user request", false)]
    [InlineData(128, "shared library error", false)]
    public void SingleBits(int status, string meaning, bool clean)
    {
        Assert.Equal([meaning], E2fsckExit.Meanings(status));
        Assert.Equal(clean, E2fsckExit.IsClean(status));
    }

    [Fact]
    public void CombinedAndOdd()
    {
        Assert.Equal(["file system errors corrected", "file system errors left uncorrected"], E2fsckExit.Meanings(5));
        Assert.Contains("unknown status bits 0x40", E2fsckExit.Describe(64));
        Assert.False(E2fsckExit.IsClean(-1));
        Assert.Contains("did not exit normally", E2fsckExit.Describe(-1));
    }
}
