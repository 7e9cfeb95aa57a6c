using System.Diagnostics;
using FsHealer.Mounts;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Interop;
using FsHealer.Mounts.Live;
using FsHealer.Text;
using FsHealer.Xfs.Live;

namespace FsHealer.Kernel.Tests.Mounts;

/// <summary>Real-kernel mount tracking: fanotify mount watcher + tracker, weak handle, no pinning.
/// One class (serial): the overflow test floods the namespace with mount events.</summary>
public class MountWatcherTests
{
    private static void Log(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static readonly IReadOnlySet<string> WithTmpfs = new HashSet<string> { "xfs", "ext4", "btrfs", "tmpfs" };

    private sealed class Watch : IDisposable
    {
        public readonly IMountSource Source;
        public readonly MountTracker Tracker;
        public readonly List<string> Diags = [];
        public readonly List<TargetEvent> Events = [];
        public Watch(IReadOnlySet<string>? types = null, bool fallback = false)
        {
            if (fallback) Source = MountInfoSource.Create(out _) ?? throw new IOException("open mountinfo");
            else
            {
                var f = FanotifyMountSource.Create(null, out int e, out var err);
                if (f is null) Assert.Skip($"no fanotify mount events: {err}");
                Source = f;
            }
            Tracker = new MountTracker(types);
            Tracker.Apply(Source.Snapshot(Diags));
        }
        /// <summary>Pump until <paramref name="done"/> holds; returns elapsed ms or -1 on timeout.</summary>
        public double PumpUntil(Func<bool> done, int timeoutMs = 5000)
        {
            var sw = Stopwatch.StartNew();
            while (!done())
            {
                if (sw.ElapsedMilliseconds > timeoutMs) return -1;
                Events.AddRange(MountFeed.Pump(Source, Tracker, 50, Diags, out int e));
                Assert.Equal(0, e);
            }
            return sw.Elapsed.TotalMilliseconds;
        }
        public MountTarget? TargetAt(string path) => Tracker.Targets.FirstOrDefault(t => t.Mounts.Any(m => m.MountPoint == path));
        public void Dispose() => Source.Dispose();
    }

    [Theory]
    [InlineData("xfs", 300)]
    [InlineData("ext4", 32)]
    [InlineData("btrfs", 128)]
    public void AttachAndDetachAreSeenQuickly(string fsType, int sizeMb)
    {
        ScratchFs.Require(fsType);
        using var s = new MountScratch();
        var img = s.MakeImage(fsType, fsType, sizeMb);
        var loop = s.Losetup(img);
        var dir = s.MkDir(fsType);
        using var w = new Watch();

        var sw = Stopwatch.StartNew();
        MountScratch.Mount(loop, dir, fsType);
        double mountMs = sw.Elapsed.TotalMilliseconds;
        double seen = w.PumpUntil(() => w.TargetAt(dir) is not null);
        double attachLatency = sw.Elapsed.TotalMilliseconds - mountMs;
        Assert.True(seen >= 0, $"attach of {fsType} at {dir} not seen; diags: {string.Join("; ", w.Diags)}");
        var ev = w.Events.Single(e => e.Kind == TargetEventKind.Attached && e.Target.PreferredPath == dir);
        Assert.Equal(fsType, ev.Target.FsType);
        Assert.Equal(loop, ev.Target.Source);

        sw.Restart();
        Assert.Equal(0, MountScratch.Umount(dir));
        double umountMs = sw.Elapsed.TotalMilliseconds;
        Assert.True(w.PumpUntil(() => w.TargetAt(dir) is null) >= 0, "detach not seen");
        double detachLatency = sw.Elapsed.TotalMilliseconds - umountMs;
        Assert.Single(w.Events, e => e.Kind == TargetEventKind.Detached && e.Target.PreferredPath == dir);
        Log($"{fsType}: mount(2) {mountMs:F1} ms, attach seen {attachLatency:F1} ms after mount returned; " +
            $"umount(2) {umountMs:F1} ms, detach seen {detachLatency:F1} ms after");
        Assert.True(attachLatency < 1000, $"attach latency {attachLatency} ms");
        Assert.True(detachLatency < 1000, $"detach latency {detachLatency} ms");
    }

    /// <summary>The weak handle the daemon and the xfs_healer drop-in use (<see cref="LinuxXfsTarget"/>) of the
    /// filesystem mounted at <paramref name="path"/>. Its identity checks (root handle, device, UUID) are not
    /// XFS-specific, so ext4 works too (without XFS geometry and XFS handle).</summary>
    private static LinuxXfsTarget Capture(string path, string source)
    {
        using var root = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out int e);
        Assert.False(root.IsInvalid, $"open {path}: errno {e}");
        XfsIoctl.GetGeometry(root, out var geo); // ENOTTY on ext4: no XFS facts
        Assert.Equal(0, LinuxXfsTarget.Create(root, path, source, geo, out var target));
        return target!;
    }

    [Fact]
    public void BindThenUmountOldPlaceIsAMoveAndReopenFollows()
    {
        ScratchFs.Require("xfs");
        using var s = new MountScratch();
        var loop = s.Losetup(s.MakeImage("xfs", "x", 300));
        var a = s.MkDir("a");
        var b = s.MkDir("b");
        var c = s.MkDir("c");
        MountScratch.Mount(loop, a, "xfs");
        using var w = new Watch();
        Assert.NotNull(w.TargetAt(a));
        var wh = Capture(a, loop);
        Log($"captured {a}: mnt_id {wh.MountId} dev {wh.Dev} root {wh.RootHandle} uuid {wh.Uuid?.ToString() ?? "none"}");
        Assert.NotNull(wh.Uuid);
        Assert.NotEqual(0UL, wh.MountId);

        // mount --bind a b; umount a
        Assert.Equal(0, MountScratch.mount(a, b, null, MountScratch.MS_BIND, null));
        Assert.True(w.PumpUntil(() => w.TargetAt(b) is not null) >= 0);
        Assert.Equal(a, w.TargetAt(b)!.PreferredPath); // same superblock: one target, still using a
        Assert.Equal(2, w.TargetAt(b)!.Mounts.Count);
        Assert.Equal(0, MountScratch.Umount(a));
        Assert.True(w.PumpUntil(() => w.TargetAt(a) is null) >= 0);
        var mv = w.Events.Single(e => e.Kind == TargetEventKind.Moved);
        Assert.Equal(a, mv.OldPath);
        Assert.Equal(b, mv.Target.PreferredPath);
        Assert.DoesNotContain(w.Events, e => e.Kind == TargetEventKind.Detached);

        var d = new List<string>();
        ulong firstMountId = wh.MountId;
        using (var fd = wh.Reopen(validate: true, out int err, d)) Assert.False(fd is null, $"reopen after bind+umount: errno {err}; {string.Join("; ", d)}");
        Assert.Equal(b, wh.CurrentMountpoint);
        Assert.Equal("mount table", wh.LastReopenVia); // the bind mount has a new mnt_id; found by source
        Assert.NotEqual(firstMountId, wh.MountId);      // and the weak handle now follows that mount's id
        Log($"reopen after bind+umount: {wh.CurrentMountpoint}; tried: {string.Join("; ", d)}");

        // mount --move b c: same mount id, found through statmount(mnt_id)
        Assert.Equal(0, MountScratch.mount(b, c, null, MountScratch.MS_MOVE, null));
        Assert.True(w.PumpUntil(() => w.TargetAt(c) is not null) >= 0);
        Assert.Equal(c, w.TargetAt(c)!.PreferredPath);
        Assert.Contains(w.Events, e => e.Kind == TargetEventKind.Moved && e.OldPath == b && e.Target.PreferredPath == c);
        using (var fd = wh.Reopen(validate: true, out _)) Assert.NotNull(fd);
        Assert.Equal(c, wh.CurrentMountpoint);
        Assert.Equal("statmount", wh.LastReopenVia); // moved mount keeps its mnt_id
        using (var fd = wh.Reopen(validate: true, out _)) Assert.NotNull(fd);
        Assert.Equal("stored path", wh.LastReopenVia);
        Assert.Equal(0, MountScratch.Umount(c));
        Assert.Null(wh.Reopen(validate: true, out int stale));
        Assert.Equal(Errno.ESTALE, stale);
    }

    [Theory]
    [InlineData("ext4", 32)]
    [InlineData("xfs", 300)]
    public void ByteIdenticalCloneIsRejectedWithEstale(string fsType, int sizeMb)
    {
        ScratchFs.Require(fsType, "cp");
        using var s = new MountScratch();
        var img = s.MakeImage(fsType, "orig", sizeMb);
        var loop = s.Losetup(img);
        var p = s.MkDir("p");
        MountScratch.Mount(loop, p, fsType);
        var wh = Capture(p, loop);
        Assert.Equal(0, MountScratch.Umount(p));

        var clone = Path.Combine(s.Dir, "clone.img");
        Sh.Check("cp", "--sparse=always", img, clone);
        var loop2 = s.Losetup(clone);
        MountScratch.Mount(loop2, p, fsType, fsType == "xfs" ? "nouuid" : null);
        // sanity: the clone really looks identical from the handle/uuid point of view
        var cloneWh = Capture(p, loop2);
        bool sameHandle = cloneWh.RootHandle.SameAs(wh.RootHandle);
        bool sameUuid = cloneWh.Uuid is not null && cloneWh.Uuid == wh.Uuid;
        Log($"{fsType} clone: same root handle {sameHandle}, same UUID {sameUuid}, dev {wh.Dev} vs {cloneWh.Dev}");

        var d = new List<string>();
        Assert.Null(wh.Reopen(validate: true, out int err, d));
        Assert.Equal(Errno.ESTALE, err);
        Log($"{fsType} clone at the same mount point: Reopen -> ESTALE, caught by the '{wh.LastMismatch}' check; {string.Join("; ", d)}");
        Assert.True(sameHandle && sameUuid, "expected the clone to be indistinguishable by handle and UUID");
        Assert.Equal("dev", wh.LastMismatch);
        Assert.Equal(p, wh.CurrentMountpoint);

        // the original filesystem back at the same place (same loop device): accepted again
        Assert.Equal(0, MountScratch.Umount(p));
        MountScratch.Mount(loop, p, fsType);
        using (var fd = wh.Reopen(validate: true, out _)) Assert.NotNull(fd);
        Assert.Equal("stored path", wh.LastReopenVia);
        Assert.Equal(0, MountScratch.Umount(p));
    }

    [Fact]
    public void OverflowTriggersRescanAndNothingIsMissed()
    {
        Sh.RequireRoot();
        using var s = new MountScratch();
        using var w = new Watch(WithTmpfs);
        var gone = s.MkDir("gone");
        MountScratch.Mount("fsh-gone", gone, "tmpfs");
        Assert.True(w.PumpUntil(() => w.TargetAt(gone) is not null) >= 0);

        // stop reading: one mount before the flood, a flood of bind mount/umount pairs, more mounts after it,
        // and the tracked 'gone' disappears while the queue is full
        var before = s.MkDir("before");
        MountScratch.Mount("fsh-before", before, "tmpfs");
        var src = s.MkDir("src");
        var flood = s.MkDir("flood");
        int max = int.Parse(File.ReadAllText("/proc/sys/fs/fanotify/max_queued_events").Trim());
        int pairs = max / 2 + 500;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < pairs; i++)
        {
            Assert.Equal(0, MountScratch.mount(src, flood, null, MountScratch.MS_BIND, null));
            Assert.Equal(0, MountScratch.Umount(flood));
        }
        Log($"{pairs * 2} mount events in {sw.ElapsedMilliseconds} ms (queue limit {max})");
        var after = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            var d = s.MkDir($"after{i}");
            MountScratch.Mount($"fsh-after{i}", d, "tmpfs");
            after.Add(d);
        }
        Assert.Equal(0, MountScratch.Umount(gone));

        var fan = (FanotifyMountSource)w.Source;
        Assert.True(w.PumpUntil(() => fan.Overflows > 0, 10000) >= 0, "no overflow seen");
        w.PumpUntil(() => false, 300); // drain what follows
        Assert.Contains(w.Diags, x => x.Contains("FAN_Q_OVERFLOW"));

        string[] expect = [before, .. after];
        var have = w.Tracker.Targets.SelectMany(t => t.Mounts).Select(m => m.MountPoint).Where(p => p.StartsWith(s.Mnt + "/")).Order().ToArray();
        Assert.Equal(expect.Order().ToArray(), have);
        foreach (var p in expect) Assert.Single(w.Events, e => e.Kind == TargetEventKind.Attached && e.Target.PreferredPath == p);
        Assert.Single(w.Events, e => e.Kind == TargetEventKind.Detached && e.Target.PreferredPath == gone);
        Assert.DoesNotContain(w.Events, e => e.Target.PreferredPath == flood);

        // and the tracker's whole table equals a fresh listmount
        var fresh = new List<MountEntry>();
        Assert.Equal(0, MountTable.ReadWithStatmount(null, fresh, []));
        Assert.Equal(fresh.Select(m => m.Key).Order(), w.Tracker.Mounts.Select(m => m.Key).Order());
    }

    [Fact]
    public void ThousandMountsAppearAndDisappearExactly()
    {
        Sh.RequireRoot();
        using var s = new MountScratch();
        using var w = new Watch(WithTmpfs);
        long rss0 = Environment.WorkingSet;
        const int N = 1000;
        var dirs = Enumerable.Range(0, N).Select(i => s.MkDir($"t{i}")).ToList();
        var sw = Stopwatch.StartNew();
        foreach (var d in dirs) MountScratch.Mount("fsh-many", d, "tmpfs", "size=64k");
        bool Mine(TargetEvent e) => e.Target.PreferredPath.StartsWith(s.Mnt + "/t");
        Assert.True(w.PumpUntil(() => w.Events.Count(e => Mine(e) && e.Kind == TargetEventKind.Attached) >= N, 30000) >= 0,
            $"only {w.Events.Count(Mine)} attach events");
        Log($"{N} tmpfs mounts tracked in {sw.ElapsedMilliseconds} ms");
        long rss1 = Environment.WorkingSet;
        Assert.Equal(N, w.Tracker.Targets.Count(t => t.PreferredPath.StartsWith(s.Mnt + "/t")));

        sw.Restart();
        foreach (var d in dirs) Assert.Equal(0, MountScratch.Umount(d));
        Assert.True(w.PumpUntil(() => w.Events.Count(e => Mine(e) && e.Kind == TargetEventKind.Detached) >= N, 30000) >= 0);
        Log($"{N} tmpfs umounts tracked in {sw.ElapsedMilliseconds} ms");
        w.PumpUntil(() => false, 200);
        Assert.Equal(N, w.Events.Count(e => Mine(e) && e.Kind == TargetEventKind.Attached));
        Assert.Equal(N, w.Events.Count(e => Mine(e) && e.Kind == TargetEventKind.Detached));
        Assert.DoesNotContain(w.Events, e => Mine(e) && e.Kind == TargetEventKind.Moved);
        Assert.Equal(0, w.Tracker.Targets.Count(t => t.PreferredPath.StartsWith(s.Mnt + "/t")));
        Assert.Equal(0, w.Tracker.Mounts.Count(m => m.MountPoint.StartsWith(s.Mnt + "/t")));
        Log($"RSS: {rss0 >> 20} MiB before, {rss1 >> 20} MiB with {N} mounts tracked, {Environment.WorkingSet >> 20} MiB after");
    }

    private static List<string> FdLinks()
    {
        var l = new List<string>();
        foreach (var f in Directory.GetFiles("/proc/self/fd"))
        {
            try { l.Add(new FileInfo(f).LinkTarget ?? ""); } catch (IOException) { }
        }
        return l;
    }

    [Fact]
    public void NeverPinsAndFdCountIsStable()
    {
        ScratchFs.Require("ext4");
        using var s = new MountScratch();
        var loop = s.Losetup(s.MakeImage("ext4", "e", 32));
        var p = s.MkDir("p");
        using var w = new Watch();
        MountScratch.Mount(loop, p, "ext4");
        Assert.True(w.PumpUntil(() => w.TargetAt(p) is not null) >= 0);
        var wh = Capture(p, loop);
        wh.Reopen(validate: true, out _)!.Dispose();
        var links = FdLinks();
        Assert.DoesNotContain(links, x => x.StartsWith(p, StringComparison.Ordinal));
        Log($"watcher fds: {string.Join(", ", ((FanotifyMountSource)w.Source).HeldFds.Select(f => $"{f} -> {new FileInfo($"/proc/self/fd/{f}").LinkTarget}"))}");
        var sw = Stopwatch.StartNew();
        Assert.Equal(0, MountScratch.Umount(p)); // EBUSY if anything pinned it
        Log($"umount with watcher + weak handle active: {sw.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(w.PumpUntil(() => w.TargetAt(p) is null) >= 0);

        int fds0 = 0;
        for (int i = 0; i < 55; i++)
        {
            if (i == 5) fds0 = Directory.GetFiles("/proc/self/fd").Length; // after a warm-up
            MountScratch.Mount(loop, p, "ext4");
            Assert.True(w.PumpUntil(() => w.TargetAt(p) is not null) >= 0);
            using (var fd = wh.Reopen(validate: true, out int err)) Assert.False(fd is null, $"reopen: errno {err}");
            Assert.DoesNotContain(FdLinks(), x => x.StartsWith(p, StringComparison.Ordinal));
            Assert.Equal(0, MountScratch.Umount(p));
            Assert.True(w.PumpUntil(() => w.TargetAt(p) is null) >= 0);
        }
        int fds1 = Directory.GetFiles("/proc/self/fd").Length;
        Log($"fd count before/after 50 mount/umount cycles: {fds0}/{fds1}");
        // a leak of one fd per cycle would show as +50; allow a little noise from other threads of the test host
        Assert.True(fds1 - fds0 < 10, $"fd count grew from {fds0} to {fds1}");
        Assert.Equal(56, w.Events.Count(e => e.Kind == TargetEventKind.Attached && e.Target.PreferredPath == p));
        Assert.Equal(56, w.Events.Count(e => e.Kind == TargetEventKind.Detached && e.Target.PreferredPath == p));
    }

    [Fact]
    public void MountInfoFallbackSeesChanges()
    {
        Sh.RequireRoot();
        using var s = new MountScratch();
        using var w = new Watch(WithTmpfs, fallback: true);
        Assert.Equal("mountinfo", w.Source.Kind);
        var d = s.MkDir("fb");
        var sw = Stopwatch.StartNew();
        MountScratch.Mount("fsh-fb", d, "tmpfs");
        Assert.True(w.PumpUntil(() => w.TargetAt(d) is not null) >= 0, "fallback did not see the mount");
        Log($"mountinfo fallback: attach seen after {sw.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(0, MountScratch.Umount(d));
        Assert.True(w.PumpUntil(() => w.TargetAt(d) is null) >= 0, "fallback did not see the umount");
        Assert.Single(w.Events, e => e.Kind == TargetEventKind.Attached && e.Target.PreferredPath == d);
        Assert.Single(w.Events, e => e.Kind == TargetEventKind.Detached && e.Target.PreferredPath == d);
        Assert.Equal(0u, w.Tracker.Mounts.First().UniqueId); // keyed by legacy id here
    }

    [Fact]
    public void StatmountAndMountinfoAgree()
    {
        Sh.RequireRoot();
        var a = new List<MountEntry>();
        int e = MountTable.ReadWithStatmount(null, a, []);
        if (e != 0) Assert.Skip($"listmount: errno {e}");
        var b = new List<MountEntry>();
        Assert.Equal(0, MountTable.ReadMountInfo(MountTable.MountInfoPath, b, []));
        Assert.Equal(b.Count, a.Count);
        foreach (var m in a)
        {
            var x = b.Single(y => y.LegacyId == m.LegacyId);
            Assert.Equal(x.MountPoint, m.MountPoint);
            Assert.Equal(x.Dev, m.Dev);
            Assert.Equal(x.MntRoot, m.MntRoot);
            Assert.Equal(x.FsType, m.FsType);
        }
        // pagination: any batch size gives the same ids
        Assert.Equal(0, MountSyscalls.ListAll(out var ids256));
        foreach (int batch in new[] { 1, 3, 7 })
        {
            Assert.Equal(0, MountSyscalls.ListAll(out var ids, batch: batch));
            Assert.Equal(ids256, ids);
        }
        // buffer growth on EOVERFLOW: start with room for the fixed part only
        Assert.Equal(0, MountSyscalls.Statmount(ids256[0], StatmountAbi.AllKnown, null, StatmountAbi.FixedSize, out var big, out int growths));
        Log($"statmount with a {StatmountAbi.FixedSize}-byte first buffer: {growths} EOVERFLOW retries, {big.Length} bytes");
        Assert.True(growths >= 1);
        var dd = new List<string>();
        Assert.Equal(ids256[0], StatmountDecoder.Decode(big, dd)!.MntId);
        Assert.Empty(dd);
        // statmount on a vanished id: ENOENT, not an exception
        Assert.Equal(2, MountSyscalls.StatmountEntry(0x7fffffffffffff00, null, [], out var none));
        Assert.Null(none);
        // statx unique mount id matches
        Assert.Equal(0, Statx.Get("/", out var st));
        Assert.True(st.MountIdUnique);
        Assert.Contains(a, m => m.UniqueId == st.MountId && m.MountPoint == "/");
    }

    [Fact]
    public void MountsCommandListsTargets()
    {
        ScratchFs.Require("ext4");
        using var s = new MountScratch();
        var loop = s.Losetup(s.MakeImage("ext4", "e", 32));
        var p = s.MkDir("cli");
        MountScratch.Mount(loop, p, "ext4");
        var o = new StringWriter();
        Assert.Equal(0, FsHealer.Cli.Commands.MountsCommand.Run(false, false, o, new StringWriter()));
        Log(o.ToString());
        Assert.Contains(o.ToString().Split('\n'), l => l.Contains(p) && l.Contains("ext4") && l.Contains(loop) && l.EndsWith("yes"));
        Assert.DoesNotContain(o.ToString().Split('\n'), l => l.Contains(" proc "));
        o = new StringWriter();
        Assert.Equal(0, FsHealer.Cli.Commands.MountsCommand.Run(true, true, o, new StringWriter()));
        using var doc = System.Text.Json.JsonDocument.Parse(o.ToString());
        var rows = doc.RootElement.GetProperty("mounts").EnumerateArray().ToList();
        Assert.Contains(rows, r => r.GetProperty("mount_point").GetString() == p && r.GetProperty("role").GetString() == "target");
        Assert.Contains(rows, r => r.GetProperty("fs_type").GetString() == "proc" && r.GetProperty("role").GetString() == "unsupported");
        Assert.Contains(doc.RootElement.GetProperty("targets").EnumerateArray(), t => t.GetProperty("path").GetString() == p);
    }

    [Fact]
    public void ExplicitNamespacePathAndBadNamespace()
    {
        Sh.RequireRoot();
        using var s = new MountScratch();
        string ns = $"/proc/{Environment.ProcessId}/ns/mnt"; // same namespace, but passed as a foreign path: kept as mnt_ns_fd
        var d = new List<string>();
        using var src = MountSources.Open(ns, d, out int e);
        if (src is null && e is 38 or 22) Assert.Skip($"no fanotify mount events: {string.Join("; ", d)}");
        Assert.NotNull(src);
        Assert.Equal("fanotify", src.Kind);
        Assert.Equal(2, ((FanotifyMountSource)src).HeldFds.Count());
        var t = new MountTracker(WithTmpfs);
        t.Apply(src.Snapshot(d));
        Assert.Contains(t.Mounts, m => m.MountPoint == s.Mnt);
        var dir = s.MkDir("ns");
        MountScratch.Mount("fsh-ns", dir, "tmpfs");
        var evs = new List<TargetEvent>();
        var sw = Stopwatch.StartNew();
        while (!evs.Any(x => x.Target.PreferredPath == dir) && sw.ElapsedMilliseconds < 5000)
            evs.AddRange(MountFeed.Pump(src, t, 50, d, out _));
        Assert.Contains(evs, x => x.Kind == TargetEventKind.Attached && x.Target.PreferredPath == dir);

        // not a mount namespace: a clear error naming the call, and no silent fallback to mountinfo
        var d2 = new List<string>();
        Assert.Null(MountSources.Open("/proc/self/ns/net", d2, out e));
        Assert.Equal(22, e);
        Assert.Contains(d2, x => x.Contains("fanotify_mark") && x.Contains("/proc/self/ns/net") && x.Contains("EINVAL"));
        Assert.Null(MountSources.Open("/nonexistent/ns", d2, out e));
        Assert.Equal(2, e);
        Assert.Contains(d2, x => x.Contains("/nonexistent/ns") && x.Contains("No such file or directory"));
    }
}
