using System.Diagnostics;
using System.Text.Json;
using FsHealer.Kernel.Tests.Btrfs;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Kernel.Tests.XfsPoll;

namespace FsHealer.Kernel.Tests.Healing;

/// <summary>
/// The daemon keys everything by what the kernel says a filesystem is: a filesystem mounted over a damaged one's
/// mount point is never repaired in its place; a moved filesystem keeps being watched and healed by the policy it was
/// attached with, and its notification state carries on; the per-mount command and the daemon act the same.
/// </summary>
[Collection("ext4-kernel")]
public class DaemonIdentityTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string Uuid(string device) => Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", device).Trim();

    private static List<JsonElement> History(string state)
    {
        var r = Sh.Fshealer("history", "--state-dir", state, "--json", "--limit", "5000");
        Assert.True(r.Code == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToList();
    }

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    /// <summary>
    /// Issue 14, defect 1, end to end: an error on A waits behind another repair; meanwhile a healthy B is mounted over
    /// A's mount point. B is not unmounted and its device never sees a repair tool; A's repair is refused naming both;
    /// the history has the refusal under A's identity; status does not credit A.
    /// </summary>
    [Fact]
    public void A_filesystem_mounted_over_a_queued_repair_target_is_left_alone()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv", "blkid");
        using var busy = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);   // C: its slow repair keeps the pipeline busy
        using var a = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
        using var b = new Ext4Loop(files: 2);
        using var tools = new ToolWrappers(6);
        string state = Path.Combine(a.Dir, "state"), cfg = Path.Combine(a.Dir, "fshealer.json");
        File.WriteAllText(cfg, $$"""
            { "rules": [ { "name": "victims", "match": { "mount_point": "/tmp/fshealer-ext4-*/mnt" }, "ext4": { "policy": "offline-repair" } } ] }
            """);
        string uuidA = Uuid(a.Device), uuidB = Uuid(b.Device);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state], tools.Env);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{a.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "A attached", 30);
        busy.CatInChild("d1/f3");
        d.WaitFor(() => tools.Calls.Any(c => c.StartsWith($"e2fsck -f -y {busy.Device}")), "C's slow repair", 30);
        a.CatInChild("d1/f3");                                            // A's repair is queued behind C's
        d.WaitFor(() => d.HasLine(l => l.StartsWith(a.Mnt + ": ") && l.Contains("EUCLEAN")), "A's error", 15);
        Assert.Equal(0, Ext4Loop.Run("mount", b.Device, a.Mnt).Exit);      // B over A's mount point
        try
        {
            d.WaitFor(() => d.HasLine(l => l.Contains($"REFUSED to heal ext4 {uuidA}")), "A's refusal", 60);
            Out(d.Output);
            string refusal = d.Lines.First(l => l.Contains("REFUSED to heal"));
            Assert.Contains($"{a.Mnt} now holds another filesystem", refusal);
            Assert.Contains(uuidB, refusal);
            // nothing was done to B, nor to A
            Assert.DoesNotContain(tools.Calls, c => c.Contains(b.Device) || c.Contains(a.Device));
            Assert.True(ScratchFs.IsMounted(b.Mnt));
            Assert.Contains(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == a.Mnt && l.Contains(b.Device));
            // the history: a refusal under A's identity, no good check of A
            var h = History(state);
            Assert.Contains(h, e => Str(e, "class") == "repair_refused" || Str(e, "class") == "RepairRefused");
            var aEvents = h.Where(e => Str(e, "fs_id") == $"uuid:{uuidA}").ToList();
            Assert.Contains(aEvents, e => Str(e, "class") is "repair_refused" or "RepairRefused");
            Assert.DoesNotContain(aEvents, e => Str(e, "class") is "offline_repair" or "OfflineRepair");
            Assert.DoesNotContain(h, e => Str(e, "fs_id") == $"uuid:{uuidB}" && Str(e, "class") is "repair_refused" or "RepairRefused");
        }
        finally { Ext4Loop.Run("umount", a.Mnt); }
        // status: A (visible again) is not credited with a check
        var st = Sh.Fshealer("status", "--state-dir", state, "--fs", a.Mnt, "--json");
        Out(st.Out);
        var fsA = JsonDocument.Parse(st.Out).RootElement.GetProperty("filesystems").EnumerateArray().Single();
        Assert.Equal($"uuid:{uuidA}", fsA.GetProperty("fs_id").GetString());
        Assert.NotEqual("healthy", fsA.GetProperty("health").GetString());
        Assert.Equal(JsonValueKind.Null, fsA.GetProperty("last_good_check").ValueKind);
    }

    /// <summary>ext4 moved with mount --move while watched: an error at the new place is detected and healed by the
    /// policy it was attached with; moved again, the same error is the same notification (deduplicated, not a new
    /// first notice) and its heal is still rate limited — the filesystem's state went with it.</summary>
    [Fact]
    public void A_moved_ext4_is_healed_at_its_new_place_and_its_notification_state_carries_on()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        string state = Path.Combine(fs.Dir, "state"), moved = Path.Combine(fs.Dir, "moved"), again = Path.Combine(fs.Dir, "again");
        string hooks = Path.Combine(fs.Dir, "hooks"), hookLog = Path.Combine(fs.Dir, "hook.log");
        foreach (var dir in new[] { moved, again, hooks }) Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(hooks, "all-log"), $"#!/bin/sh\necho \"$FSHEALER_CLASS $FSHEALER_MOUNT\" >> {hookLog}\n");
        File.SetUnixFileMode(Path.Combine(hooks, "all-log"), (UnixFileMode)0b111_101_101);
        string cfg = Path.Combine(fs.Dir, "fshealer.json");
        File.WriteAllText(cfg, $$"""
            { "rules": [ { "name": "at-first-place", "match": { "mount_point": "{{fs.Mnt}}" }, "ext4": { "policy": "schedule" } } ],
              "notify": { "min_severity": "error", "dedup_seconds": 3600, "hooks": { "dir": "{{hooks}}" } } }
            """);
        // this filesystem's notices only: the daemon also reports other devices' refused mounts (the kernel log is
        // global; another process on this machine may be mounting damaged images), with an empty mount
        int Notices() => File.Exists(hookLog) ? File.ReadAllLines(hookLog).Count(l => l.Replace("_", "").StartsWith("metadatacorrupt ")
            && (l.EndsWith(" " + fs.Mnt) || l.EndsWith(" " + moved) || l.EndsWith(" " + again))) : 0;
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        Assert.Equal(0, Ext4Loop.Run("mount", "--move", fs.Mnt, moved).Exit);
        try
        {
            d.WaitFor(() => d.HasLine(l => l.Contains($"{moved}: ext4 filesystem moved from {fs.Mnt}")), "the move", 15);
            fs.TriggerFsError("after the first move");
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{moved}: heal Schedule:")), "the heal at the new place", 30);
            d.WaitFor(() => Notices() == 1, "the first notice", 15);
            Out(d.Output);
            Assert.Contains(d.Lines, l => l.StartsWith($"{moved}: heal plan: Schedule"));
            Assert.Contains(History(state), e => Str(e, "message").StartsWith($"{moved}: decision (schedule policy, rule at-first-place)"));
            Assert.Contains(File.ReadAllLines(hookLog), l => l.EndsWith(" " + moved));

            Assert.Equal(0, Ext4Loop.Run("mount", "--move", moved, again).Exit);
            d.WaitFor(() => d.HasLine(l => l.Contains($"{again}: ext4 filesystem moved from {moved}")), "the second move", 15);
            fs.TriggerFsError("after the second move");
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{again}: ") && l.Contains("no new scheduled check before")), "the rate limit, carried", 30);
            Thread.Sleep(1500);
            Out(d.Output);
            Assert.Equal(1, Notices());   // deduplicated by identity: the move did not make it a new problem
        }
        finally { Ext4Loop.Run("umount", again); Ext4Loop.Run("umount", moved); }
    }

    /// <summary>XFS on the polling path (no health monitor on this kernel), moved while watched: the damage at the new
    /// place is found by polling there (not ENOTTY on the old path) and healed offline by the attached policy.</summary>
    [Fact]
    public void A_moved_xfs_is_polled_at_its_new_place_and_healed_offline()
    {
        XfsPristine.RequireEnvironment();
        Sh.RequireTools("xfs_repair", "setsid", "setpriv");
        using var fs = new XfsScratch(XfsPristine.Image, true, "path /bigdir", "dblock 0", "write -d dhdr.hdr.magic 0");
        string dir = fs.Dir, moved = Path.Combine(dir, "moved"), state = Path.Combine(dir, "state"), cfg = Path.Combine(dir, "fshealer.json");
        Directory.CreateDirectory(moved);
        File.WriteAllText(cfg, $$"""
            { "rules": [ { "name": "xfs-here", "match": { "mount_point": "{{fs.Mount}}" }, "poll_interval_seconds": 1, "xfs": { "offline_repair": true } } ] }
            """);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mount}: xfs filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mount}: xfs filesystem attached") && l.Contains("polling in-core health every 1 s") && l.Contains("offline repair when idle"));
        Assert.Equal(0, Sh.Run("mount", "--move", fs.Mount, moved).Code);
        try
        {
            d.WaitFor(() => d.HasLine(l => l.Contains($"{moved}: xfs filesystem moved from {fs.Mount}")), "the move", 15);
            Sh.Run("ls", Path.Combine(moved, "bigdir"));
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{moved} ino ") && l.EndsWith("directory: sick")), "the sick directory at the new place", 20);
            d.WaitFor(() => d.HasLine(l => l == $"{moved}: heal OfflineRepair: repaired, verified clean, mounted again"), "the offline repair", 90);
            Out(d.Output);
            // after the move nothing asks the old place (the old code's poll thread got ENOTTY there and stopped)
            var afterMove = d.Lines.SkipWhile(l => !l.Contains("moved from")).ToList();
            Assert.DoesNotContain(afterMove, l => l.Contains("ENOTTY") || l.StartsWith(fs.Mount + ":") || l.StartsWith(fs.Mount + " "));
            Assert.Contains(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == moved && l.Contains(" xfs "));
            // mounted again at the same place: it keeps the policy it was attached with (the rule named the first place)
            d.WaitFor(() => d.Lines.Count(l => l.StartsWith($"{moved}: xfs filesystem attached")) == 1, "the re-attach", 15);
            Assert.Contains(d.Lines, l => l.StartsWith($"{moved}: xfs filesystem attached") && l.Contains("every 1 s") && l.Contains("offline repair when idle"));
            Assert.Equal(0, Sh.Run("ls", Path.Combine(moved, "bigdir")).Code);
        }
        finally { Sh.Run("umount", moved); }
    }

    /// <summary>
    /// A shut-down XFS (the corpus found this): every call on it fails with EIO, statx of its root included, so the
    /// identity proof must come from the mount table and the superblock on its device. With xfs.offline_repair the
    /// daemon unmounts it, replays the log, runs xfs_repair, verifies and mounts it again, the data intact.
    /// </summary>
    [Fact]
    public void A_shut_down_xfs_is_repaired_offline_and_mounted_again()
    {
        XfsPristine.RequireEnvironment();
        Sh.RequireTools("xfs_repair", "xfs_io", "setsid", "setpriv");
        using var fs = new XfsScratch(XfsPristine.Image, true);
        string state = Path.Combine(fs.Dir, "state"), cfg = Path.Combine(fs.Dir, "fshealer.json");
        string sum = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(fs.Mount, "f1"))));
        File.WriteAllText(cfg, $$"""
            { "rules": [ { "name": "xfs-here", "match": { "mount_point": "{{fs.Mount}}" }, "poll_interval_seconds": 1, "xfs": { "offline_repair": true } } ] }
            """);
        using var d = new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mount}: xfs filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        if (!d.HasLine(l => l.StartsWith($"{fs.Mount}: xfs filesystem attached") && l.Contains("polling in-core health")))
            Assert.Skip("the kernel has the XFS health monitor: a shutdown takes the monitor's path");
        Sh.Check("xfs_io", "-x", "-c", "shutdown", fs.Mount);
        Assert.NotEqual(0, Sh.Run("stat", fs.Mount + "/f1").Code);   // shut down: EIO
        d.WaitFor(() => d.HasLine(l => l == $"{fs.Mount}: shut down: offline repair requested (xfs.offline_repair)"), "the request", 20);
        d.WaitFor(() => d.HasLine(l => l == $"{fs.Mount}: heal OfflineRepair: repaired, verified clean, mounted again"), "the offline repair", 120);
        Out(d.Output);
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mount}: ok: prove {fs.Mount} is still the watched filesystem"));
        Assert.DoesNotContain(d.Lines, l => l.Contains("cannot look at it"));
        Assert.Equal(sum, Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(fs.Mount, "f1")))));
        d.WaitFor(() => d.Lines.Count(l => l.StartsWith($"{fs.Mount}: xfs filesystem attached")) == 2, "the re-attach", 15);
        d.Kill();   // its poller opens the mount root for a moment every second: a concurrent umount would see EBUSY
        Assert.True(fs.Unmount());
        var n = Sh.Run("xfs_repair", "-n", fs.Loop);
        Assert.True(n.Code == 0, n.Err + n.Out);
    }

    /// <summary>btrfs moved while watched: a counter rise after the move is reported at the new place and the device is
    /// scrubbed there.</summary>
    [Fact]
    public void A_moved_btrfs_is_scrubbed_at_its_new_place()
    {
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(2, 300L << 20, "-d raid1 -m raid1");
        fs.WriteRandomFile("f1", 128 * 1024, 1);
        BtrfsLoopFs.Sh("sync");
        ulong phys = fs.PhysicalOn(fs.LogicalOf("f1"), fs.Loops[0])!.Value;
        string moved = Path.Combine(fs.Dir, "moved"), state = Path.Combine(fs.Dir, "state");
        Directory.CreateDirectory(moved);
        using var d = new DaemonProcess(["run", "--state-dir", state, "--poll-interval", "1"]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: btrfs filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        Assert.Equal(0, Sh.Run("mount", "--move", fs.Mnt, moved).Code);
        try
        {
            d.WaitFor(() => d.HasLine(l => l.Contains($"{moved}: btrfs filesystem moved from {fs.Mnt}")), "the move", 15);
            BtrfsLoopFs.DropCaches();
            fs.Corrupt(0, phys);
            var sw = Stopwatch.StartNew();
            for (int i = 0; !d.HasLine(l => l.Contains("corruption_errs rose")) && sw.Elapsed < TimeSpan.FromSeconds(60); i++)
            {
                BtrfsLoopFs.DropCaches();
                // RAID1 picks the mirror by pid parity: burn a pid on odd rounds so reads alternate mirrors
                if (i % 2 == 1) BtrfsLoopFs.Sh("true", check: false);
                BtrfsLoopFs.Sh($"cat {Path.Combine(moved, "f1")} > /dev/null", check: false);
                Thread.Sleep(200);
            }
            d.WaitFor(() => d.HasLine(l => l.Contains("scrubbing") && l.Contains($" of {moved}:")), "the scrub at the new place", 60);
            d.WaitFor(() => d.HasLine(l => l.Contains("scrub of") && l.Contains("finished:")), "the scrub's end", 60);
            Out(d.Output);
            var afterMove = d.Lines.SkipWhile(l => !l.Contains("moved from")).ToList();
            Assert.DoesNotContain(afterMove, l => l.Contains(fs.Mnt + ":") || l.Contains(fs.Mnt + " "));
        }
        finally { Sh.Run("umount", moved); }
    }

    /// <summary>`fshealer watch MNT` and `fshealer run` give the same events and decisions for the same fault.</summary>
    [Fact]
    public void Watch_and_run_make_the_same_events_and_decisions()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("setsid", "setpriv");
        List<(string Class, string Severity, string Message)> Trace(bool viaWatch)
        {
            using var fs = new Ext4Loop(["sif /d1/f3 block[0] 0x1234"]);
            string state = Path.Combine(fs.Dir, "state"), cfg = Path.Combine(fs.Dir, "fshealer.json");
            File.WriteAllText(cfg, $$"""{ "rules": [ { "name": "r", "match": { "mount_point": "{{fs.Mnt}}" }, "ext4": { "policy": "offline-repair" } } ] }""");
            using var d = viaWatch
                ? new DaemonProcess(["watch", fs.Mnt, "--config", cfg, "--state-dir", state])
                : new DaemonProcess(["run", "--config", cfg, "--state-dir", state]);
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach", 30);
            fs.CatInChild("d1/f3");
            d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: heal OfflineRepair:")), "the heal", 60);
            Thread.Sleep(1500);
            d.Kill();
            return History(state).Where(e => Str(e, "mount") == fs.Mnt)
                .Select(e => (Str(e, "class"), Str(e, "severity"), Str(e, "message").Replace(fs.Mnt, "MNT").Replace(fs.Device, "DEV").Replace(fs.Dir, "DIR")))
                .Where(t => t.Item1 is not ("Diagnostic" or "diagnostic"))   // device follow-ups are timing-dependent
                .Select(t => (t.Item1, t.Item2, System.Text.RegularExpressions.Regex.Replace(t.Item3, @"uuid [0-9a-f-]{36}|[0-9a-f-]{36}|dev \d+:\d+|pid \d+|x\d+ on|inode \d+ gen \d+|\d+ ms", "*")))
                .Reverse().ToList();
        }
        var run = Trace(viaWatch: false);
        var watch = Trace(viaWatch: true);
        Out("run:\n" + string.Join('\n', run));
        Out("watch:\n" + string.Join('\n', watch));
        Assert.Contains(run, t => t.Item1 is "OfflineRepair" or "offline_repair");
        // the same events and decisions; their order across threads (an error event racing the detach) may differ
        Assert.Equal(run.Order(), watch.Order());
        foreach (var trace in new[] { run, watch })   // but the journal entry always comes before the outcome
            Assert.True(trace.FindIndex(t => t.Item1 is "ActionStarted" or "action_started") > trace.FindIndex(t => t.Item1 is "OfflineRepair" or "offline_repair"));
    }
}
