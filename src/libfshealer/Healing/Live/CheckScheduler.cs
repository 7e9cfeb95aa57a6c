using FsHealer.Devices;
using FsHealer.Devices.Live;
using FsHealer.Model;

namespace FsHealer.Healing.Live;

/// <summary>
/// The live half of the scheduled full check: gathers what <see cref="ScheduledCheckPlanner"/> decides on — the
/// freshness states (overdue or not), the block devices under each filesystem (sysfs topology, resolved once per
/// filesystem) and an I/O-rate sample of its own block device (/sys/dev/block/MAJ:MIN/stat, every
/// <see cref="SampleInterval"/>) — and submits the picked checks to the healing pipeline, which plans and runs them
/// through the one offline ladder. Runs on the daemon's thread; completions come from the healing thread.
/// </summary>
public sealed class CheckScheduler(DaemonContext ctx, ISysfsView? sysfs = null, TimeProvider? time = null)
{
    /// <summary>The I/O rate is measured over this long (shorter bursts are averaged out).</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(5);

    private readonly ISysfsView _sysfs = sysfs ?? new SysfsDirectory();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ScheduledCheckPlanner _planner = new(time ?? TimeProvider.System);
    private sealed class Disk
    {
        public required string Dev;
        public required IReadOnlyList<string> Disks;
        /// <summary>The block devices whose I/O is the filesystem's (its own; every member of a btrfs), MAJ:MIN.</summary>
        public required IReadOnlyList<string> StatDevs;
        public IoSample?[] Before = [], Last = [];
    }
    private readonly Dictionary<string, Disk> _disks = new(StringComparer.Ordinal);
    private readonly List<CheckCandidate> _candidates = [];
    private readonly List<CheckVerdict> _changed = [];

    public ScheduledCheckPlanner Planner => _planner;

    /// <summary>A filesystem's policy changed (reload): what was learnt about it (cannot check, retry wait) is forgotten.</summary>
    public void PolicyChanged(string fsId) => _planner.Forget(fsId);

    /// <summary>One tick: <paramref name="watched"/> are the filesystems watched now with their freshness states.</summary>
    public void Tick(IReadOnlyList<(WatchedFilesystem Fs, string Dev, bool Overdue)> watched)
    {
        var now = _time.GetUtcNow();
        _candidates.Clear();
        foreach (var (fs, dev, overdue) in watched)
        {
            var pol = fs.Policy;
            if (!pol.ScheduledCheck || pol.MaxCheckAge is null) continue;
            string id = fs.Identity.Id;
            if (!_disks.TryGetValue(id, out var d) || d.Dev != dev || d.StatDevs.Count == 0) _disks[id] = d = NewDisk(fs, dev);
            double? rate = null;
            if (overdue && d.StatDevs.Count > 0)
            {
                if (d.Last.Length != d.StatDevs.Count) { d.Last = new IoSample?[d.StatDevs.Count]; d.Before = new IoSample?[d.StatDevs.Count]; }
                if (d.Last[0] is not { } last || now - last.Time >= SampleInterval)
                    for (int i = 0; i < d.StatDevs.Count; i++)
                    {
                        if (_sysfs.Read($"dev/block/{d.StatDevs[i]}/stat") is { } text && IdleRule.TryParseStat(text, now, out var s)) { d.Before[i] = d.Last[i]; d.Last[i] = s; }
                        else { d.Before[i] = null; d.Last[i] = null; }
                    }
                // the filesystem's rate: the sum over its devices (unknown when any is)
                rate = 0;
                for (int i = 0; i < d.StatDevs.Count && rate is not null; i++) rate = IdleRule.Rate(d.Before[i], d.Last[i]) is { } r ? rate + r : null;
            }
            else { d.Before = []; d.Last = []; }
            _candidates.Add(new CheckCandidate(id, fs.Path, fs.FsType, d.Disks, overdue, true, rate, pol.ScheduledCheckIdleIoLimit,
                pol.ScheduledCheckWindow, pol.MaxCheckAge));
        }
        if (_candidates.Count == 0) return;
        _changed.Clear();
        var verdicts = _planner.Tick(_candidates, _changed);
        foreach (var v in _changed)
            if (v.Wait is CheckWait.NotIdle or CheckWait.DiskBusy or CheckWait.OutsideWindow)
                ctx.Console.Out($"{v.Mount}: scheduled check: {v.Why}");
        foreach (var v in verdicts)
        {
            if (v.Wait != CheckWait.Start) continue;
            var fs = watched.First(w => w.Fs.Identity.Id == v.FsId).Fs;
            Start(fs);
        }
    }

    private void Start(WatchedFilesystem fs)
    {
        var pol = fs.Policy;
        string id = fs.Identity.Id;
        var budget = new CheckBudget(IdleIoClass: true, pol.ScheduledCheckMaxDuration);
        ctx.Console.Out($"{fs.Path}: scheduled check: last successful check older than {FsHealer.Config.Freshness.FormatAge(pol.MaxCheckAge!.Value)} and idle: checking it");
        bool queued = ctx.Healing.SubmitCheck(fs, "scheduled check (check overdue)", budget, (outcome, plan) =>
        {
            bool verified = outcome is { Verified: true };
            // nothing could run as things are (policy report, root filesystem, ...) or a boot-time check was
            // scheduled: not again until the policy changes (a reload) or the daemon starts again (after the boot)
            bool cannot = outcome is null && plan is { Decision: HealDecision.Report }
                || outcome is { Final: HealDecision.Schedule, Success: true };
            _planner.Finished(id, verified, cannot);
        });
        if (!queued) _planner.Finished(id, verified: false);
    }

    /// <summary>What the scheduler reads of a filesystem: for btrfs (its st_dev is an anonymous 0:NN) every member device
    /// (/sys/fs/btrfs/FSID/devices) and the disks under each — a multi-device btrfs occupies all of them; else its own
    /// device and the disks under it. A btrfs whose members cannot be listed yet gets none (measured again next tick).</summary>
    private Disk NewDisk(WatchedFilesystem fs, string dev)
    {
        if (fs.FsType != "btrfs") return new Disk { Dev = dev, Disks = DisksUnder(dev), StatDevs = [dev] };
        var notes = new List<string>();
        var roots = fs.Identity.Uuid is { } u ? TopologyResolver.ResolveBtrfs(_sysfs, u.ToString("D"), notes) : [];
        return new Disk
        {
            Dev = dev, StatDevs = [.. roots.Select(r => r.Dev)],
            Disks = roots.Count == 0 ? [dev] : [.. BlockNode.AllOf(roots).Select(n => n.Name).Distinct(StringComparer.Ordinal)],
        };
    }

    /// <summary>Every block device under MAJ:MIN: the device, its whole disk, dm/md members, a loop device's backing
    /// store (sysfs names; the device itself when nothing can be resolved).</summary>
    private IReadOnlyList<string> DisksUnder(string dev)
    {
        var notes = new List<string>();
        var root = TopologyResolver.ResolveDev(_sysfs, dev, notes);
        if (root is null) return [dev];
        return [.. root.All().Select(n => n.Name).Distinct(StringComparer.Ordinal)];
    }
}
