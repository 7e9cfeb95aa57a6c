using System.Collections.Concurrent;
using System.CommandLine;
using FsHealer.Ext4;
using FsHealer.Fanotify;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// fshealer ext4-watch MOUNTPOINT...: prints FAN_FS_ERROR events live (mount, errno, inode, path when safely
/// resolvable), errors recorded while nobody watched, and optionally plans/executes a heal per --policy.
/// </summary>
public static class Ext4Command
{
    public static Command Create()
    {
        var mounts = new Argument<string[]>("mountpoint") { Description = "Mount points of the filesystems to watch", Arity = ArgumentArity.OneOrMore };
        var noPaths = new Option<bool>("--no-paths") { Description = "Never resolve inode handles to paths" };
        var duration = new Option<double>("--duration") { Description = "Stop after this many seconds (0 = until Ctrl-C)" };
        var policy = new Option<string>("--policy") { Description = "On errors: report (default), schedule (tune2fs -E force_fsck) or offline-repair (unmount, e2fsck -fy, remount)" };
        var cmd = new Command("ext4-watch", "Watch filesystems for FAN_FS_ERROR events (ext4) and heal them per policy");
        cmd.Arguments.Add(mounts);
        cmd.Options.Add(noPaths);
        cmd.Options.Add(duration);
        cmd.Options.Add(policy);
        cmd.SetAction(pr => Run(pr.GetValue(mounts) ?? [], !pr.GetValue(noPaths), pr.GetValue(duration), pr.GetValue(policy) ?? "report"));
        return cmd;
    }

    private static readonly Dictionary<string, Ext4HealPolicy> Policies = new()
    {
        ["report"] = Ext4HealPolicy.Report, ["schedule"] = Ext4HealPolicy.Schedule, ["offline-repair"] = Ext4HealPolicy.OfflineRepair,
    };

    public static int Run(string[] mountPoints, bool resolvePaths, double seconds, string policyName)
    {
        if (!Policies.TryGetValue(policyName, out var policy))
        {
            Console.Error.WriteLine($"fshealer ext4-watch: unknown policy \"{policyName}\" (report, schedule, offline-repair)");
            return 2;
        }
        var queue = new BlockingCollection<FsErrorReport>();
        var outLock = new object();
        void Out(string s) { lock (outLock) { Console.Out.WriteLine(s); Console.Out.Flush(); } }
        void Err(string s) { lock (outLock) { Console.Error.WriteLine(s); Console.Error.Flush(); } }

        using var watcher = FsErrorWatcher.Create(queue.Add, d => Err($"fshealer: {d}"), resolvePaths, out var error);
        if (watcher is null) { Err($"fshealer ext4-watch: {error}"); return 1; }
        var full = mountPoints.Select(m => Path.TrimEndingDirectorySeparator(Path.GetFullPath(m)) is { Length: > 0 } p ? p : "/").ToArray();
        int watching = 0;
        foreach (var m in full)
        {
            if (watcher.Add(m, out var e) == 0) { watching++; Out($"watching {m}"); }
            else Err($"fshealer ext4-watch: {e}");
        }
        if (watching == 0) return 1;
        watcher.Start();

        using var stop = new CancellationTokenSource();
        if (seconds > 0) stop.CancelAfter(TimeSpan.FromSeconds(seconds));
        ConsoleCancelEventHandler onCancel = (_, a) => { a.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        var healed = new HashSet<string>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                FsErrorReport r;
                try { r = queue.Take(stop.Token); }
                catch (OperationCanceledException) { break; }
                Out($"{r.ReceivedAt:HH:mm:ss.fff} {r}");
                if (policy == Ext4HealPolicy.Report || r.MountPoint is null || r.Event.Kind == FsErrorKind.Overflow) continue;
                if (!healed.Add(r.MountPoint)) continue; // one heal per mount per run
                Heal(watcher, r, policy, Out);
            }
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return 0;
    }

    private static void Heal(FsErrorWatcher watcher, FsErrorReport r, Ext4HealPolicy policy, Action<string> log)
    {
        var m = Ext4SysfsReader.FindMount(r.MountPoint!);
        if (m is null || m.FullFsType != "ext4") { log($"{r.MountPoint}: not an ext4 mount any more; no heal"); return; }
        var plan = Ext4HealPlanner.Plan(new Ext4HealInput
        {
            MountPoint = m.MountPoint, Device = m.Source, Options = Ext4MountOptions.Of(m), HasErrors = true,
            IsRootFs = m.MountPoint == "/", Busy = null, Policy = policy,
        });
        log($"plan for {m.MountPoint}: {plan}");
        var outcome = new OfflineRepairExecutor(new ProcessCommandRunner(), log).Execute(plan);
        log($"heal {m.MountPoint}: {outcome.Final} {(outcome.Success ? "succeeded" : "FAILED")}");
        if (outcome.Final == Ext4PlanDecision.OfflineRepair)
        {
            // The unmount dropped the fanotify mark with the old superblock: watch the new mount.
            watcher.Remove(m.MountPoint);
            if (watcher.Add(m.MountPoint, out var e) != 0) log($"fshealer: re-watching {m.MountPoint} failed: {e}");
        }
    }
}
