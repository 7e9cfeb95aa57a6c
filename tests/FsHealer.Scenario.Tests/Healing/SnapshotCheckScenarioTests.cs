using FsHealer.Config;
using FsHealer.Devices;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Scenario.Tests.Healing;

/// <summary>
/// The scheduled check of an ext4 on an LVM logical volume by snapshot (e2scrub's method), through the healing
/// pipeline on a scripted system with a simulated LVM: nothing is unmounted for the check, damage found is a problem
/// and then the ordinary healing decision, and the snapshot is gone afterwards whatever happened (tool failure, stop
/// request in the middle, an overflowing snapshot).
/// </summary>
public class SnapshotCheckScenarioTests
{
    private const string Snap = "vg0/data.fshealer-e2scrub", SnapDev = "/dev/vg0/data.fshealer-e2scrub";

    /// <summary>lvs/lvcreate/lvremove over a set of snapshots; e2fsck answered by <see cref="E2fsck"/> per device.</summary>
    private sealed class FakeLvm
    {
        public readonly HashSet<string> Snapshots = [];
        public Func<IReadOnlyList<string>, CancellationToken, ToolResult> E2fsck = (_, _) => new(0, "");
        public string State = "a";

        public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort)
        {
            if (program == "ionice") return Run(args[3], args.Skip(4).ToList(), abort);
            string last = args[^1];
            return program switch
            {
                "lvs" => Snapshots.Contains(last) ? new(0, $"  swi-{State}-s---") : new(5, $"  Failed to find logical volume \"{last}\""),
                "lvcreate" => Snapshots.Add($"vg0/{args[args.ToList().IndexOf("--name") + 1]}") ? new(0, "created") : new(5, "already exists"),
                "lvremove" => Snapshots.Remove(last) ? new(0, "removed") : new(5, "not found"),
                "e2fsck" => E2fsck(args, abort),
                _ => new(0, ""),
            };
        }
    }

    private sealed class Sink : IFlushableSink
    {
        private readonly List<FsEvent> _events = [];
        public void Publish(FsEvent e) { lock (_events) _events.Add(e); }
        public bool Flush(TimeSpan timeout) => true;
        public FsEvent[] Snapshot() { lock (_events) return [.. _events]; }
    }

    private static OfflineFacts Facts(WatchedFilesystem fs, HealAction wanted, long vgFree = 1L << 30) => ScriptedHost.Facts(wanted) with
    {
        Path = fs.Path, CanIdleIo = true, Lvm = new LvmVolume("vg0", "data", vgFree, "-wi-ao----"), SnapshotBytes = fs.Policy.Ext4SnapshotSizeMb << 20,
    };

    private static WatchedFilesystem Fs(Ext4Policy policy) => new(ScriptedHost.Target, ScriptedHost.Mnt, 42, ScriptedHost.Dev,
        EffectivePolicy.Defaults with { Ext4 = policy, ScheduledCheck = true, MaxCheckAge = TimeSpan.FromMinutes(1) });

    private static (HealOutcome? Outcome, FsEvent[] Events, MemoryConsole Console) RunCheck(ScriptedHost host, WatchedFilesystem fs,
        Func<WatchedFilesystem, HealAction, OfflineFacts>? facts = null, Action<HealingPipeline>? during = null)
    {
        var hub = new EventHub();
        var sink = new Sink();
        hub.Add(sink);
        var console = new MemoryConsole();
        HealOutcome? got = null;
        using var done = new ManualResetEventSlim();
        using (var p = new HealingPipeline(hub, console, host, facts ?? ((f, w) => Facts(f, w))))
        {
            Assert.True(p.SubmitCheck(fs, "scheduled check (check overdue)", new CheckBudget(true, TimeSpan.FromHours(1)), (o, _) => { got = o; done.Set(); }));
            during?.Invoke(p);
            Assert.True(done.Wait(TimeSpan.FromSeconds(20)));
            Assert.True(p.WaitIdle(TimeSpan.FromSeconds(20)));
        }
        return (got, sink.Snapshot(), console);
    }

    [Fact]
    public void A_clean_lv_is_verified_on_a_snapshot_without_unmounting()
    {
        var lvm = new FakeLvm();
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (o, ev, _) = RunCheck(host, Fs(Ext4Policy.Report));
        Assert.True(o!.Verified && o.FoundClean, o.Summary);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount") || c.StartsWith("mount"));
        Assert.Contains($"ionice -c 3 -- e2fsck -f -n -E fixes_only {SnapDev}", host.Calls);
        Assert.Empty(lvm.Snapshots);
        var good = Assert.Single(ev, e => e.Class == EventClass.RepairUnnecessary);
        Assert.True(StatusComputer.IsGoodCheck(good));
        Assert.Equal("scheduled-check", good.Structure);
        Assert.Contains(ev, e => e.Class == EventClass.ActionStarted && e.Message.Contains("scheduled check on an LVM snapshot"));
    }

    [Fact]
    public void Damage_found_on_the_snapshot_is_a_problem_then_the_ordinary_offline_repair()
    {
        var lvm = new FakeLvm();
        lvm.E2fsck = (a, _) =>
            a[^1] == SnapDev ? (a.Contains("journal_only") ? new(0, "") : new(4, "Inode 12, i_dtime set on a live inode.  Fix? no"))
            // the ordinary repair on the unmounted origin: -y repairs, the verifying -n is clean
            : a.Contains("-y") ? new(1, "FILE SYSTEM WAS MODIFIED") : new(0, "");
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (o, ev, console) = RunCheck(host, Fs(Ext4Policy.OfflineRepair));
        Assert.Contains("i_dtime set on a live inode", o!.DamageFound);
        Assert.False(o.Verified);
        Assert.Empty(lvm.Snapshots);
        var problem = Assert.Single(ev, e => e.Class == EventClass.MetadataCorrupt);
        Assert.Contains("scheduled check found latent damage", problem.Message);
        // the check itself unmounted nothing: the snapshot's removal comes before the first unmount
        int removed = host.Calls.IndexOf($"lvremove --force {Snap}"), umount = host.Calls.IndexOf("umount /mnt/e4");
        Assert.True(removed >= 0 && umount > removed, string.Join("\n", host.Calls));
        // then the ordinary decision for the filesystem: offline repair of the origin, verified, mounted again
        Assert.Contains("e2fsck -f -y /dev/loop3", host.Calls);
        Assert.Equal("mount /dev/loop3 /mnt/e4 rw,relatime,errors=remount-ro", host.Calls[^1]);
        var repair = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair && e.Severity == Severity.Notice);
        Assert.True(Array.IndexOf(ev, problem) < Array.IndexOf(ev, repair));
        Assert.Contains(console.Interleaved, l => l.Contains("checked on an LVM snapshot: DAMAGE FOUND"));
    }

    [Fact]
    public void Damage_with_policy_schedule_marks_the_boot_time_check()
    {
        var lvm = new FakeLvm { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(4, "Block bitmap differences") };
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (_, ev, _) = RunCheck(host, Fs(Ext4Policy.Schedule));
        Assert.Contains("tune2fs -E force_fsck /dev/loop3", host.Calls);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount"));
        Assert.Contains(ev, e => e.Class == EventClass.CheckScheduled);
        Assert.Empty(lvm.Snapshots);
    }

    [Fact]
    public void Damage_with_policy_report_is_reported_and_nothing_else_runs()
    {
        var lvm = new FakeLvm { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(4, "Block bitmap differences") };
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (_, ev, _) = RunCheck(host, Fs(Ext4Policy.Report));
        Assert.Single(ev, e => e.Class == EventClass.MetadataCorrupt);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount") || c.StartsWith("tune2fs"));
        Assert.Empty(lvm.Snapshots);
    }

    [Fact]
    public void A_failing_check_tool_leaves_no_snapshot_and_is_not_damage()
    {
        var lvm = new FakeLvm { E2fsck = (a, _) => a.Contains("journal_only") ? new(0, "") : new(8, "e2fsck: Cannot allocate memory") };
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (o, ev, _) = RunCheck(host, Fs(Ext4Policy.OfflineRepair));
        Assert.Empty(lvm.Snapshots);
        Assert.Null(o!.DamageFound);
        Assert.DoesNotContain(ev, e => e.Class == EventClass.MetadataCorrupt);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount"));
        var ended = Assert.Single(ev, e => e.Class == EventClass.OfflineRepair);
        Assert.Equal(Severity.Warning, ended.Severity);
        Assert.False(StatusComputer.IsGoodCheck(ended));
        Assert.Contains("could not check on an LVM snapshot", ended.Message);
    }

    [Fact]
    public void A_stop_request_in_the_middle_of_the_check_kills_it_and_removes_the_snapshot()
    {
        var lvm = new FakeLvm();
        using var running = new ManualResetEventSlim();
        lvm.E2fsck = (a, abort) =>
        {
            if (a.Contains("journal_only")) return new(0, "");
            running.Set();
            // a long check: only a kill ends it early
            var until = DateTime.UtcNow.AddSeconds(30);
            while (!abort.IsCancellationRequested && DateTime.UtcNow < until) Thread.Sleep(10);
            return abort.IsCancellationRequested ? new(-1, "e2fsck: killed (stop request)", Killed: true) : new(0, "");
        };
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        string? said = null;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var (o, _, _) = RunCheck(host, Fs(Ext4Policy.OfflineRepair), during: p =>
        {
            Assert.True(running.Wait(TimeSpan.FromSeconds(10)));
            said = p.Stop(TimeSpan.FromSeconds(25));
        });
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(15), "the stop did not wait for the check to run to its end");
        Assert.Contains("finished before the daemon stopped", said);
        Assert.True(o!.Aborted);
        Assert.Empty(lvm.Snapshots);
        Assert.Equal($"lvremove --force {Snap}", host.Calls[^1]);
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("umount"));
    }

    [Fact]
    public void No_room_in_the_vg_falls_back_to_the_offline_rule_and_says_why()
    {
        var lvm = new FakeLvm();
        var host = new ScriptedHost();
        host.Tool = lvm.Run;
        var (o, ev, console) = RunCheck(host, Fs(Ext4Policy.OfflineRepair), (f, w) => Facts(f, w, vgFree: 4L << 20));
        Assert.True(o!.Verified, o.Summary);
        Assert.Contains("umount /mnt/e4", host.Calls);
        Assert.Contains("e2fsck -f -n /dev/loop3", host.Calls.Select(c => c.Replace("ionice -c 3 -- ", "")));
        Assert.DoesNotContain(host.Calls, c => c.StartsWith("lv"));
        Assert.Contains(ev, e => e.Class == EventClass.Decision && e.Message.Contains("no check on an LVM snapshot: volume group vg0 has 4 MiB free"));
        Assert.Contains(console.Interleaved, l => l.Contains("no check on an LVM snapshot"));
    }
}
