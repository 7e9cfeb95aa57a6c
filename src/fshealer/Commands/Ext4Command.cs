using System.CommandLine;
using FsHealer.Config;

namespace FsHealer.Cli.Commands;

/// <summary>
/// <c>fshealer ext4-watch MOUNTPOINT... [--policy report|schedule|offline-repair] [--no-paths]</c>: <c>fshealer watch</c>
/// for ext4 filesystems. Prints FAN_FS_ERROR events live (mount, errno, inode, path when safely resolvable) and errors
/// recorded while nobody watched; --policy overrides the configuration's ext4 policy.
/// </summary>
public static class Ext4Command
{
    private static readonly Dictionary<string, Ext4Policy> Policies = new()
    {
        ["report"] = Ext4Policy.Report, ["schedule"] = Ext4Policy.Schedule, ["offline-repair"] = Ext4Policy.OfflineRepair,
    };

    public static Command Create()
    {
        var mounts = new Argument<string[]>("mountpoint") { Description = "Mount points of the ext4 filesystems to watch", Arity = ArgumentArity.OneOrMore };
        var noPaths = new Option<bool>("--no-paths") { Description = "Never resolve inode handles to paths" };
        var policy = new Option<string?>("--policy") { Description = "On errors: report, schedule (tune2fs -E force_fsck) or offline-repair (unmount, e2fsck -fy, remount); default: the configuration's ext4 policy" };
        var common = new WatchCommand.Common();
        var cmd = new Command("ext4-watch", "Watch ext4 filesystems for errors (FAN_FS_ERROR, sysfs counters) and heal them per policy: `fshealer watch` for ext4");
        cmd.Arguments.Add(mounts);
        cmd.Options.Add(noPaths);
        cmd.Options.Add(policy);
        common.AddTo(cmd);
        cmd.SetAction(pr =>
        {
            Ext4Policy? p = null;
            if (pr.GetValue(policy) is { } name)
            {
                if (!Policies.TryGetValue(name, out var v))
                {
                    Console.Error.WriteLine($"fshealer ext4-watch: unknown policy \"{name}\" (report, schedule, offline-repair)");
                    return ExitCodes.Usage;
                }
                p = v;
            }
            return WatchCommand.Run(pr, common, pr.GetValue(mounts) ?? [], "ext4", o => o with
            {
                ResolvePaths = !pr.GetValue(noPaths),
                PolicyOverlay = p is { } forced ? pol => pol with { Ext4 = forced } : null,
            });
        });
        return cmd;
    }
}
