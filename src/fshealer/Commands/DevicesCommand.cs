using System.CommandLine;
using FsHealer.Devices;
using FsHealer.Mounts;
using FsHealer.Devices.Live;
using FsHealer.Interop;
using FsHealer.Mounts.Live;
using FsHealer.Text;

namespace FsHealer.Cli.Commands;

/// <summary>
/// <c>fshealer devices [PATH...] [--sysfs DIR]</c>: the block devices under each filesystem (partition → disk, dm/md
/// members, loop → backing file → the device holding it) with the health facts sysfs exposes for each (SCSI
/// ioerr_cnt/iotmo_cnt/state, NVMe controller state, md degraded/sync_action/mismatch_cnt, dm suspended, I/O stats).
/// Without paths: every mounted xfs, ext4 and btrfs.
/// </summary>
public static class DevicesCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("path") { Description = "Mount points (default: every mounted xfs/ext4/btrfs)", Arity = ArgumentArity.ZeroOrMore };
        var sysfs = new Option<string>("--sysfs") { Description = "sysfs root (default /sys; a fake tree for tests)", DefaultValueFactory = _ => "/sys" };
        var cmd = new Command("devices", "Show the block devices under each filesystem and their health counters");
        cmd.Arguments.Add(paths);
        cmd.Options.Add(sysfs);
        cmd.SetAction(pr => Run(pr.GetValue(paths) ?? [], pr.GetValue(sysfs) ?? "/sys", Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>The one-line device summary for <c>fshealer status</c>: "sdb1 (partition) &lt;- sdb (scsi); md0 degraded 1".
    /// Current unhealthy states only (a status run has no baseline to see rises against). Never throws.</summary>
    public static string StatusLine(string mount, string fsType, string dev, string sysfsRoot = "/sys")
    {
        var view = new SysfsDirectory(sysfsRoot);
        var notes = new List<string>();
        var roots = FsDeviceSpecs.For(mount, fsType, dev, notes).Resolve(view, notes);
        if (roots.Count == 0) return $"no block device found for {dev}";
        var problems = BlockNode.AllOf(roots)
                            .SelectMany(n => DeviceHealth.Problems(DeviceHealth.Sample(view, n))).Select(p => p.ToString()).ToList();
        return string.Join(", ", roots.Select(r => r.Describe())) + (problems.Count > 0 ? "; " + string.Join("; ", problems) : "");
    }

    public static int Run(string[] paths, string sysfsRoot, TextWriter stdout, TextWriter stderr)
    {
        var view = new SysfsDirectory(sysfsRoot);
        var targets = new List<(string Mount, string FsType, string Dev)>();
        if (paths.Length == 0)
        {
            var diags = new List<string>();
            var tracker = new MountTracker();
            tracker.Apply(MountChange.Snapshot(MountTable.ReadAll(diags, out _)));
            foreach (var d in diags) stderr.WriteLine(PathBytes.Show($"fshealer: {d}"));
            targets.AddRange(tracker.Targets.OrderBy(t => t.PreferredPath, StringComparer.Ordinal).Select(t => (t.PreferredPath, t.FsType, t.Dev)));
        }
        int rc = 0;
        foreach (var p in paths)
        {
            int e = Statx.Get(p, out var st);
            if (e != 0) { stderr.WriteLine(PathBytes.Show($"fshealer: {p}: statx: {Errno.Name(e)}: {Errno.Message(e)}")); rc = 1; continue; }
            // a major of 0 is an anonymous device: btrfs (or a filesystem without a block device)
            targets.Add((p, st.DevMajor == 0 ? "btrfs" : "", st.Dev));
        }
        foreach (var (mount, fsType, dev) in targets)
        {
            var notes = new List<string>();
            var spec = FsDeviceSpecs.For(mount, fsType, dev, notes);
            var roots = spec.Resolve(view, notes);
            // one line each, names shown (PathBytes.Show): a backing file or mount point cannot add a line
            stdout.WriteLine(PathBytes.Show(roots.Count == 0 ? $"{mount}: no block device found (dev {dev})" : $"{mount}: {string.Join(", ", roots.Select(r => r.Describe()))}"));
            foreach (var n in BlockNode.AllOf(roots))
                stdout.WriteLine(PathBytes.Show("  " + DeviceHealth.FormatSample(n, DeviceHealth.Sample(view, n))));
            foreach (var note in notes) stdout.WriteLine(PathBytes.Show("  note: " + note));
        }
        return rc;
    }
}
