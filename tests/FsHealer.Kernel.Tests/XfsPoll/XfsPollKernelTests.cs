using System.Diagnostics;
using FsHealer.Kmsg;
using FsHealer.Xfs;
using FsHealer.Interop;
using FsHealer.Xfs.Live;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.XfsPoll;

/// <summary>
/// Real-kernel tests of the XFS health poller on 6.18 (no health monitor, no online scrub): the corruption recipes
/// (xfs_db on the pristine image of <see cref="XfsPristine"/>), each detected with the right domain/structure in one poll after the trigger.
/// </summary>
[Collection("xfspoll-kernel")]
public class XfsPollKernelTests
{
    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static ulong Ino(string path) => ulong.Parse(Sh.Check("stat", "-c", "%i", path).Trim());

    private static List<string> Lines(XfsPollResult r, string mnt)
    {
        var lines = r.Events.Select(e => XfsEventFormatter.FormatEvent(e, mnt) ?? "?").ToList();
        foreach (var l in lines) Log("event: " + l);
        foreach (var d in r.Diagnostics) Log("diag: " + d);
        Log($"stats: {r.Stats}");
        return lines;
    }

    /// <summary>Baseline poll, trigger, poll: the second poll must report exactly the new sick state.</summary>
    private static (List<string> Lines, XfsPollResult Result, List<KernelFsEvent> Kmsg) DetectAfterTrigger(XfsScratch fs, Action trigger)
    {
        var poller = new XfsHealthPoller(fs.Mount);
        Assert.Equal(fs.DeviceName, poller.Device);
        var baseline = poller.Poll();
        Assert.False(baseline.ShutDown);
        Assert.DoesNotContain(baseline.Events, e => e.Type == HealthEventType.Sick);
        using var kmsg = KmsgReader.Open(out var kdiag);
        trigger();
        var r = poller.Poll();
        Assert.True(r.Complete);
        var kernel = new List<KernelFsEvent>();
        if (kmsg is not null)
        {
            foreach (var k in kmsg.ReadAvailable())
                if (k.Record is not null && KmsgClassifier.Classify(k.Record.Message) is KernelFsEvent ev && KmsgClassifier.SameDevice(ev.Device, fs.DeviceName))
                    kernel.Add(ev);
        }
        else Log("kmsg unavailable: " + kdiag);
        return (Lines(r, fs.Mount), r, kernel);
    }

    [Fact]
    public void DirectoryBlockCorruption_IsReportedAsInodeDirectorySick_AndSeenInKmsg()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir", "dblock 0", "write -d dhdr.hdr.magic 0");
        var dir = Path.Combine(fs.Mount, "bigdir");
        ulong ino = Ino(dir);
        var (lines, r, kernel) = DetectAfterTrigger(fs, () => Assert.NotEqual(0, Sh.Run("ls", dir).Code));
        var e = Assert.Single(r.Events, e => e.Domain == HealthDomain.Inode);
        Assert.Equal(HealthEventType.Sick, e.Type);
        Assert.Equal(ino, e.InodeIno);
        Assert.Matches($"^{fs.Mount} ino {ino} gen 0x[0-9a-f]+ directory: sick$", lines.Single(l => l.Contains(" ino ")));
        Assert.Contains(kernel, k => k.Filesystem == "xfs" && k.Kind == KernelLogKind.Corruption);
        // nothing changed since: the next poll is silent
        Assert.DoesNotContain(new XfsHealthPoller(fs.Mount).Poll().Events, x => x.Type == HealthEventType.Healthy);
    }

    [Fact]
    public void XattrLeafCorruption_IsReportedAsInodeXattrSick()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /f1", "ablock 0", "write -d hdr.info.hdr.magic 0");
        var f1 = Path.Combine(fs.Mount, "f1");
        ulong ino = Ino(f1);
        var (lines, r, _) = DetectAfterTrigger(fs, () => Sh.Run("getfattr", "-d", f1));
        var e = Assert.Single(r.Events);
        Assert.Equal((HealthDomain.Inode, HealthEventType.Sick, ino, 0x20u), (e.Domain, e.Type, e.InodeIno, e.Mask));
        Assert.Matches($"^{fs.Mount} ino {ino} gen 0x[0-9a-f]+ xattr: sick$", lines[0]);
    }

    [Fact]
    public void RemoteSymlinkCorruption_IsReportedAsInodeSymlinkSick()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /remotelink", "dblock 0", "type symlink", "write -d magic 0");
        var link = Path.Combine(fs.Mount, "remotelink");
        ulong ino = ulong.Parse(Sh.Check("stat", "-c", "%i", link).Trim());
        var (lines, r, _) = DetectAfterTrigger(fs, () => Assert.NotEqual(0, Sh.Run("readlink", link).Code));
        var e = Assert.Single(r.Events);
        Assert.Equal((HealthDomain.Inode, ino, 0x40u), (e.Domain, e.InodeIno, e.Mask));
        Assert.Matches($"^{fs.Mount} ino {ino} gen 0x[0-9a-f]+ symlink: sick$", lines[0]);
    }

    [Fact]
    public void InodeClusterCorruption_SetsAgInodes_AndTheScanSkipsPastTheBadCluster()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir/file_with_long_name_100", "write -d core.magic 0");
        var poller = new XfsHealthPoller(fs.Mount);
        // the poll's own bulkstat reads the bad cluster, as `cat` would: it is detected in the first poll
        var r = poller.Poll();
        var lines = Lines(r, fs.Mount);
        Assert.Contains(r.Events, e => e.Domain == HealthDomain.Ag && e.Type == HealthEventType.Sick && (e.Mask & 0x400) != 0);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, $"^{fs.Mount} agno 0x[0-9a-f]+ inodes: sick$"));
        Assert.True(r.NewUnreadableInodes.Count >= 1, "the unreadable inodes are named");
        Assert.All(r.NewUnreadableInodes, u => Assert.Equal(117, u.Errno));
        // one 32-inode cluster is unreadable; every other inode (the pristine fs has ~425) was still scanned
        Assert.Equal(32, r.Stats.InodesFailed);
        Assert.Equal(32, r.NewUnreadableInodes.Count);
        Assert.True(r.Stats.InodesScanned >= 390, $"scan continued past the bad cluster: {r.Stats}");
        // second poll: unchanged → silent, bad inodes not retried per inode
        var r2 = poller.Poll();
        Assert.Empty(r2.Events);
        Assert.Empty(r2.NewUnreadableInodes);
        Log($"first poll {r.Stats.Elapsed.TotalMilliseconds:F1} ms ({r.Stats.IoctlCalls} ioctls), second {r2.Stats.Elapsed.TotalMilliseconds:F1} ms ({r2.Stats.IoctlCalls} ioctls)");
    }

    [Fact]
    public void DinodeVerifierFailure_SetsNoSickBit_ButTheInodeIsNamedUnreadable()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /data5", "write -d core.nextents 100");
        ulong ino = Ino(Path.Combine(fs.Mount, "data6")) - 1; // stat of data5 itself fails; data1..20 were created in a row
        var first = new XfsHealthPoller(fs.Mount).Poll();
        Lines(first, fs.Mount);
        // measured on 6.18: no bs_sick, no ag_sick for this corruption; only BULKSTAT's EUCLEAN tells
        Assert.DoesNotContain(first.Events, e => e.Type == HealthEventType.Sick && e.Domain == HealthDomain.Inode);
        var bad = Assert.Single(first.NewUnreadableInodes);
        Assert.Equal(117, bad.Errno);
        Assert.NotEqual(0, Sh.Run("stat", Path.Combine(fs.Mount, "data5")).Code);
        Log($"unreadable inode {bad.Ino} (data5 by creation order: {ino})");
        Assert.Equal(ino, bad.Ino);
    }

    [Fact]
    public void InobtRootCorruption_IsReportedAsAgInobtSick()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "agi 1", "addr root", "write -d magic 0");
        var poller = new XfsHealthPoller(fs.Mount);
        // INUMBERS (read-only) is the trigger here, and the poll does it before reading the AGs
        var r = poller.Poll();
        var lines = Lines(r, fs.Mount);
        Assert.Contains($"{fs.Mount} agno 0x1 inobt: sick", lines);
        Assert.False(r.ShutDown);
        // the walk skipped AG1 and went on: inodes of AGs 2 and 3 (if any) and AG0 were scanned
        Assert.Contains(r.Diagnostics, d => d.Contains("XFS_IOC_INUMBERS") && d.Contains("EUCLEAN") && d.Contains("agno 1"));
        Assert.True(r.Stats.InodeWalkWrapped);
    }

    [Fact]
    public void BnobtRootCorruption_IsReportedAsAgBnobtSick()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "agf 1", "addr bnoroot", "write -d magic 0");
        var (lines, r, _) = DetectAfterTrigger(fs, () => Sh.Run("xfs_io", "-c", "fsmap -d", fs.Mount));
        Assert.Contains($"{fs.Mount} agno 0x1 bnobt: sick", lines);
        Assert.All(r.Events, e => Assert.Equal(HealthDomain.Ag, e.Domain));
    }

    [Fact]
    public void ForcedShutdown_IsReportedOnce_WithReasonFromKmsg_AndNotRepaired()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true);
        var poller = new XfsHealthPoller(fs.Mount);
        var blind = new XfsHealthPoller(fs.Mount); // never sees the kernel log
        Assert.Empty(poller.Poll().Events);
        blind.Poll();
        using var kmsg = KmsgReader.Open(out var kdiag);
        if (kmsg is null) Assert.Skip("/dev/kmsg: " + kdiag);
        Sh.Check("xfs_io", "-x", "-c", "shutdown", fs.Mount);
        var sw = Stopwatch.StartNew();
        bool sawShutdownLine = false;
        foreach (var k in kmsg.ReadAvailable())
            if (k.Record is not null && KmsgClassifier.Classify(k.Record.Message) is KernelFsEvent ev && poller.NoteKernelEvent(ev) && ev.Kind == KernelLogKind.Shutdown)
                sawShutdownLine = true;
        Assert.True(sawShutdownLine, "the kernel log names the shutdown of this device");
        var r = poller.Poll();
        var lines = Lines(r, fs.Mount);
        Log($"shutdown detected {sw.Elapsed.TotalMilliseconds:F1} ms after the command returned");
        Assert.True(r.ShutDown);
        var e = Assert.Single(r.Events);
        Assert.Equal(HealthEventType.Shutdown, e.Type);
        Assert.True((e.ShutdownReasons & 0x4) != 0, $"forced unmount bit in 0x{e.ShutdownReasons:x}");
        Assert.StartsWith($"{fs.Mount}: filesystem shut down due to ", lines[0]);
        Assert.Contains("forced unmount", lines[0]);
        Assert.True(RepairPlanner.IsNotActionable(e.Type));
        Assert.Empty(RepairPlanner.Plan(e));
        Assert.Empty(poller.Poll().Events); // reported once

        var rb = blind.Poll();
        Lines(rb, fs.Mount);
        var eb = Assert.Single(rb.Events);
        Assert.Equal((HealthEventType.Shutdown, 0u), (eb.Type, eb.ShutdownReasons));
        Assert.Contains(rb.Diagnostics, d => d.Contains("reason unknown") && d.Contains("No repair"));
        Assert.True(fs.Unmount(), "a shut-down fs still unmounts: the poller holds no fd");
    }

    [Fact]
    public void MissingOnlineScrub_IsDetected_AndTheCliNotesItOnce()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir", "dblock 0", "write -d dhdr.hdr.magic 0");
        var support = XfsHealthPoller.ProbeSupport(fs.Mount, out var diag);
        Assert.Null(diag);
        if (support.HasOnlineRepair) Assert.Skip("this kernel has online scrub");
        Assert.Contains(support.ScrubErrno, new[] { 25, 95 });
        Assert.Contains("not supported", support.Note(fs.Mount));
        Sh.Run("ls", Path.Combine(fs.Mount, "bigdir"));

        var o = new StringWriter(); var err = new StringWriter();
        int rc = FsHealer.Cli.Commands.XfsPollCommand.Run(fs.Mount, 1, once: true, 0, o, err, TestContext.Current.CancellationToken);
        Log("stdout: " + o); Log("stderr: " + err);
        Assert.Equal(0, rc);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(err.ToString(), "XFS_IOC_SCRUB_METADATA\\) not supported"));
        Assert.Matches($"(?m)^{fs.Mount} ino \\d+ gen 0x[0-9a-f]+ directory: sick$", o.ToString());
    }

    [Fact]
    public async Task ContinuousCli_ReportsCorruptionWithinOneInterval_AndExitsOnShutdown()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /remotelink", "dblock 0", "type symlink", "write -d magic 0");
        var o = new SyncWriter(); var err = new SyncWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var task = Task.Run(() => FsHealer.Cli.Commands.XfsPollCommand.Run(fs.Mount, 2, false, 0, o, err, cts.Token), TestContext.Current.CancellationToken);
        Thread.Sleep(500);
        var sw = Stopwatch.StartNew();
        Sh.Run("readlink", Path.Combine(fs.Mount, "remotelink"));
        while (!o.Text.Contains("symlink: sick") && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        Log($"symlink corruption reported {sw.Elapsed.TotalMilliseconds:F0} ms after the trigger (interval 2 s)");
        Assert.Contains("symlink: sick", o.Text);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), "within one polling interval (+ margin)");
        Sh.Check("xfs_io", "-x", "-c", "shutdown -f", fs.Mount);
        // like xfs_healer, it reports the shutdown and stays until the filesystem is unmounted
        sw.Restart();
        while (!o.Text.Contains("filesystem shut down") && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        Assert.Contains($"{fs.Mount}: filesystem shut down", o.Text);
        Assert.False(task.IsCompleted, "still attached after the shutdown");
        Assert.True(fs.Unmount());
        var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.True(done == task, "the CLI exits after the unmount");
        Log("stdout: " + o.Text); Log("stderr: " + err.Text);
        Assert.Equal(0, await task);
        Assert.Matches($"(?m)^{fs.Mount}: filesystem shut down due to .*forced unmount", o.Text);
    }

    [Fact]
    public async Task Cli_NeverPinsTheMount_AndReportsTheUnmount()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true);
        var o = new SyncWriter(); var err = new SyncWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var task = Task.Run(() => FsHealer.Cli.Commands.XfsPollCommand.Run(fs.Mount, 1, false, 0, o, err, cts.Token), TestContext.Current.CancellationToken);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        // plain umount: EBUSY if the poller held anything open. A poll in progress holds the mount point for the
        // length of its ioctls (as xfs_healer's do); pinning would hold it for good: a few tries 200 ms apart tell them apart
        var umount = Sh.Run("umount", fs.Mount);
        for (int i = 0; i < 10 && umount.Code != 0; i++)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
            umount = Sh.Run("umount", fs.Mount);
        }
        Assert.True(umount.Code == 0, umount.Err);
        var done = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Log("stdout: " + o.Text); Log("stderr: " + err.Text);
        Assert.True(done == task, "the CLI exits after the unmount");
        Assert.Equal(0, await task);
        Assert.Contains($"{fs.Mount}: filesystem unmounted", o.Text);
    }

    [Fact]
    public void ScanCost_Per1000Inodes_IsMeasured()
    {
        XfsPristine.RequireEnvironment();
        using var fs = new XfsScratch(XfsPristine.Image, true);
        var many = Path.Combine(fs.Mount, "many");
        Directory.CreateDirectory(many);
        for (int i = 0; i < 10000; i++) File.WriteAllBytes(Path.Combine(many, $"f{i}"), []);
        var poller = new XfsHealthPoller(fs.Mount);
        poller.Poll();
        var r = poller.Poll();
        double perK = r.Stats.Elapsed.TotalMilliseconds * 1000.0 / r.Stats.InodesScanned;
        Log($"full poll: {r.Stats.InodesScanned} inodes, {r.Stats.Chunks} chunks, {r.Stats.IoctlCalls} ioctls, {r.Stats.Elapsed.TotalMilliseconds:F1} ms = {perK:F2} ms per 1000 inodes");
        Assert.True(r.Stats.InodesScanned >= 10000);
        Assert.True(perK < 200, $"{perK} ms per 1000 inodes");

        // cold: remount so that no inode of this fs is cached
        Assert.True(fs.Unmount());
        Sh.Check("mount", "-t", "xfs", fs.Loop!, fs.Mount);
        var cold = new XfsHealthPoller(fs.Mount).Poll();
        Log($"cold poll: {cold.Stats.InodesScanned} inodes, {cold.Stats.Elapsed.TotalMilliseconds:F1} ms = {cold.Stats.Elapsed.TotalMilliseconds * 1000.0 / cold.Stats.InodesScanned:F2} ms per 1000 inodes");
        Assert.Equal(r.Stats.InodesScanned, cold.Stats.InodesScanned);

        var budgeted = new XfsHealthPoller(fs.Mount, new XfsPollOptions { InodeBudget = 3000 });
        var b = budgeted.Poll();
        Assert.InRange(b.Stats.InodesScanned, 3000, 3000 + 64);
        Log($"budgeted poll: {b.Stats.InodesScanned} inodes in {b.Stats.Elapsed.TotalMilliseconds:F1} ms");
        Assert.False(b.Stats.InodeWalkWrapped);
        // the walk resumes: four budgeted polls cover the whole fs (~10.4k inodes) and wrap
        int total = b.Stats.InodesScanned;
        bool wrappedOnce = false;
        for (int i = 0; i < 4 && !wrappedOnce; i++) { var n = budgeted.Poll(); total += n.Stats.InodesScanned; wrappedOnce = n.Stats.InodeWalkWrapped; }
        Assert.True(wrappedOnce, "the budgeted walk reached the end and wrapped");
        Assert.True(total >= r.Stats.InodesScanned, $"{total} inodes over the budgeted polls");
    }
}

internal sealed class SyncWriter : TextWriter
{
    private readonly System.Text.StringBuilder _sb = new();
    public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
    public override void Write(char value) { lock (_sb) _sb.Append(value); }
    public override void Write(string? value) { lock (_sb) _sb.Append(value); }
    public string Text { get { lock (_sb) return _sb.ToString(); } }
}
