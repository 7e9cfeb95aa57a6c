using System.CommandLine;
using FsHealer.Btrfs;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Btrfs.Live;
using FsHealer.Interop;

namespace FsHealer.Cli.Commands;

/// <summary>`fshealer btrfs status|scrub|watch MOUNTPOINT`.</summary>
public static class BtrfsCommand
{
    public static Command Create()
    {
        var cmd = new Command("btrfs", "btrfs device error counters, scrub and healing");
        cmd.Subcommands.Add(CreateStatus());
        cmd.Subcommands.Add(CreateScrub());
        cmd.Subcommands.Add(CreateWatch());
        cmd.Subcommands.Add(CreateResetCounters());
        return cmd;
    }

    private static Command CreateResetCounters()
    {
        var mp = new Argument<string>("MOUNTPOINT") { Description = "mounted btrfs" };
        var stateDir = new Option<string?>("--state-dir") { Description = "State directory whose history records the reset (default: from the configuration, /var/lib/fshealer)" };
        var config = new Option<string?>("--config") { Description = $"Configuration file (default {FsHealer.Config.FsHealerConfig.DefaultPath})" };
        var cmd = new Command("reset-counters", "reset the device error counters of a btrfs (as btrfs device stats -z), recorded in the history with the values before");
        cmd.Arguments.Add(mp);
        cmd.Options.Add(stateDir); cmd.Options.Add(config);
        cmd.SetAction(pr => ResetCounters(pr.GetValue(mp)!, pr.GetValue(stateDir), pr.GetValue(config), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>Read and reset every device's counters (BTRFS_IOC_GET_DEV_STATS with the reset flag: the kernel returns
    /// the values it cleared), print them, record one event in the history under the filesystem's identity. Exit 0
    /// done, 1 failure (nothing reset, or some device could not be reset), 2 reset but not recorded.</summary>
    public static int ResetCounters(string mountPoint, string? stateDirOpt, string? configPath, TextWriter stdout, TextWriter stderr)
    {
        using var m = BtrfsMount.Open(mountPoint, out var err);
        if (m is null) { stderr.WriteLine($"fshealer: {err}"); return 1; }
        var devs = m.Devices(out var derr);
        if (derr is not null || devs.Count == 0) { stderr.WriteLine($"fshealer: {mountPoint}: {derr ?? "no devices"}"); return 1; }
        var parts = new List<string>();
        bool failed = false;
        foreach (var d in devs)
        {
            int e = BtrfsIoctl.GetDevStats(m.Fd, d.Devid, out var before, reset: true);
            if (e != 0)
            {
                failed = true;
                stderr.WriteLine($"fshealer: {mountPoint}: BTRFS_IOC_GET_DEV_STATS (reset) of {d.Path} (devid {d.Devid}): {FsHealer.Text.Errno.Name(e)} ({FsHealer.Text.Errno.Message(e)})");
                continue;
            }
            string line = $"{d.Path} (devid {d.Devid}): write {before.WriteErrs}, read {before.ReadErrs}, flush {before.FlushErrs}, corruption {before.CorruptionErrs}, generation {before.GenerationErrs} -> 0";
            stdout.WriteLine("reset " + line);
            parts.Add(line);
        }
        if (parts.Count == 0) return 1;
        // the history: under the filesystem's identity, as the daemon records it
        var cr = FsHealer.Config.Live.ConfigFile.LoadOrDefault(configPath);
        string stateDir = stateDirOpt ?? (cr.Config ?? FsHealer.Config.FsHealerConfig.Default).StateDir;
        string mnt = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint)) is { Length: > 0 } x ? x : "/";
        var fs = FsHealer.Mounts.Live.SupportedFilesystems.List(TextWriter.Null).FirstOrDefault(f => f.Identity.MountPoint == mnt);
        string? fsId = null, source = null;
        if (fs is not null)
        {
            source = fs.Source;
            int c = fs.Dev.IndexOf(':');
            ulong key = c > 0 && uint.TryParse(fs.Dev.AsSpan(0, c), out uint maj) && uint.TryParse(fs.Dev.AsSpan(c + 1), out uint min) ? FilesystemIdentity.DevKeyOf(maj, min) : 0;
            fsId = FsHealer.Healing.Live.LiveHealHost.IdentityOf(key, "btrfs", fs.Source).Id;
        }
        var ev = new FsHealer.Model.FsEvent
        {
            Class = FsHealer.Model.EventClass.Diagnostic, Severity = FsHealer.Model.Severity.Notice, Mount = mnt, FsType = "btrfs",
            Device = source, FsId = fsId, Structure = "device error counters",
            Message = $"{mnt}: btrfs device error counters reset by the administrator (fshealer btrfs reset-counters): {string.Join("; ", parts)}",
        };
        using var store = FsHealer.Service.History.Live.HistoryStore.Open(stateDir, out var herr);
        if (store is null) { stderr.WriteLine($"fshealer: counters reset, but not recorded in the history: {herr}"); return 2; }
        try { store.Append([ev]); }
        catch (Microsoft.Data.Sqlite.SqliteException e) { stderr.WriteLine($"fshealer: counters reset, but not recorded in the history: {store.Path}: {e.Message}"); return 2; }
        stdout.WriteLine($"recorded in {store.Path}");
        return failed ? 1 : 0;
    }

    private static Command CreateStatus()
    {
        var mp = new Argument<string>("MOUNTPOINT") { Description = "mounted btrfs" };
        var cmd = new Command("status", "show the devices of a btrfs and their error counters");
        cmd.Arguments.Add(mp);
        cmd.SetAction(pr => Status(pr.GetValue(mp)!, Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>Exit 0 when all counters are zero, 2 when some device has errors, 1 on failure.</summary>
    public static int Status(string mountPoint, TextWriter stdout, TextWriter stderr)
    {
        using var m = BtrfsMount.Open(mountPoint, out var err);
        if (m is null) { stderr.WriteLine($"fshealer: {err}"); return 1; }
        foreach (var l in BtrfsFormat.FsHeader(mountPoint, m.FsInfo)) stdout.WriteLine(l);
        var devs = m.Status(out var derr);
        if (derr is not null) stderr.WriteLine($"fshealer: {derr}");
        bool errors = false, unreadable = false;
        foreach (var d in devs)
        {
            stdout.WriteLine(BtrfsFormat.DeviceLine(d.Info, d.Counters, d.CountersError));
            if (d.Counters is { } c && c.Total > 0) errors = true;
            if (d.Counters is null) unreadable = true;
        }
        return unreadable || devs.Count == 0 ? 1 : errors ? 2 : 0;
    }

    private static Command CreateScrub()
    {
        var mp = new Argument<string>("MOUNTPOINT") { Description = "mounted btrfs" };
        var dev = new Option<ulong?>("--device") { Description = "scrub only this devid (default: every device, in parallel)" };
        var ro = new Option<bool>("--readonly") { Description = "report only, do not repair" };
        var limit = CliOptions.Size("--speed-limit", "bandwidth limit per device, bytes/s (e.g. 50M); sets devinfo/<id>/scrub_speed_max for the scrub");
        var interval = CliOptions.Duration("--progress-interval", "time between progress lines (default 2s)", min: TimeSpan.FromMilliseconds(100));
        var cmd = new Command("scrub", "scrub a btrfs (or one device), print progress, the result and the files hurt by uncorrectable errors");
        cmd.Arguments.Add(mp);
        cmd.Options.Add(dev); cmd.Options.Add(ro); cmd.Options.Add(limit); cmd.Options.Add(interval);
        var limitOld = CliOptions.HiddenAlias(cmd, CliOptions.Size("--limit", ""));
        cmd.SetAction((pr, ct) =>
        {
            var lim = CliOptions.Get(pr, limit, limitOld);
            return Task.FromResult(Scrub(pr.GetValue(mp)!, pr.GetValue(dev), pr.GetValue(ro), lim is 0 ? null : lim,
                pr.GetValue(interval) ?? TimeSpan.FromSeconds(2), Console.Out, Console.Error, ct));
        });
        return cmd;
    }

    /// <summary>Exit 0 clean or corrected, 3 uncorrectable errors remain (as btrfs scrub), 1 failure/cancel.</summary>
    public static int Scrub(string mountPoint, ulong? devid, bool readOnly, ulong? limit, TimeSpan progressInterval,
        TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        List<(ulong Devid, string Path, ulong Used)> targets;
        string fsid;
        using (var m = BtrfsMount.Open(mountPoint, out var err))
        {
            if (m is null) { stderr.WriteLine($"fshealer: {err}"); return 1; }
            fsid = m.Fsid;
            var devs = m.Devices(out var derr);
            if (derr is not null) stderr.WriteLine($"fshealer: {derr}");
            targets = devs.Where(d => devid is null || d.Devid == devid).ToList().ConvertAll(d => (d.Devid, d.Path, d.BytesUsed));
            if (targets.Count == 0)
            {
                stderr.WriteLine(devid is { } id ? $"fshealer: {mountPoint}: no device with devid {id}" : $"fshealer: {mountPoint}: no devices found");
                return 1;
            }
        }
        var outLock = new object();
        void Out(string s) { lock (outLock) stdout.WriteLine(s); }
        var runners = new List<BtrfsScrubRunner>();
        foreach (var (id, path, used) in targets)
        {
            var req = new FsHealer.Btrfs.ScrubRequest(fsid, id, path, ScrubReason.Manual, readOnly, limit, "requested");
            Out($"scrub started on {mountPoint}, devid {id} {path}{(readOnly ? " (read-only)" : "")}{(limit is { } l ? $", limit {BtrfsFormat.Bytes(l)}/s" : "")}");
            var r = new BtrfsScrubRunner(mountPoint, req, progressInterval, (d, p) => Out(BtrfsFormat.ProgressLine(d, path, p, used)));
            runners.Add(r);
            r.Start();
        }
        using var reg = ct.Register(() => { foreach (var r in runners) r.Cancel(TimeSpan.FromSeconds(30)); });
        foreach (var r in runners) r.Wait(Timeout.InfiniteTimeSpan);
        int rc = 0;
        foreach (var r in runners)
        {
            var o = r.Outcome!;
            foreach (var l in BtrfsFormat.ResultLines(o)) Out(l);
            foreach (var n in r.Notes) Out($"  note: {n}");
            foreach (var d in r.Damaged) Out($"  damaged: {d.Describe()}");
            if (!o.Success) rc = Math.Max(rc, 1);
            if (o.Uncorrectable > 0) rc = 3;
            r.Dispose();
        }
        return rc;
    }

    private static Command CreateWatch()
    {
        var mp = new Argument<string>("MOUNTPOINT") { Description = "mounted btrfs" };
        var ro = new Option<bool>("--readonly") { Description = "scrub read-only (report, no repair)" };
        var limit = CliOptions.Size("--speed-limit", "scrub bandwidth limit per device, bytes/s (e.g. 50M)");
        var noScrub = new Option<bool>("--no-scrub") { Description = "report counter rises only" };
        var full = CliOptions.Duration("--full-scrub-interval", "scheduled full scrub this often (e.g. 30d; skipped if one ran within that time)", bareUnit: TimeSpan.FromDays(1));
        var cmd = new Command("watch", "watch device error counters; scrub a device whose counters rise; run until interrupted");
        cmd.Arguments.Add(mp);
        cmd.Options.Add(ro); cmd.Options.Add(limit); cmd.Options.Add(noScrub); cmd.Options.Add(full);
        var common = new WatchCommand.Common();   // --poll-interval (default here 5s), --state-dir (counters and history), ...
        common.AddTo(cmd);
        // the old spellings, hidden: --interval (seconds), --state FILE (the counters file itself), --limit, --full-scrub-days N
        var intervalOld = CliOptions.HiddenAlias(cmd, CliOptions.Duration("--interval", "", min: TimeSpan.FromMilliseconds(100)));
        var state = CliOptions.HiddenAlias(cmd, new Option<string?>("--state"));
        var limitOld = CliOptions.HiddenAlias(cmd, CliOptions.Size("--limit", ""));
        var fullOld = CliOptions.HiddenAlias(cmd, CliOptions.Duration("--full-scrub-days", "", bareUnit: TimeSpan.FromDays(1)));
        cmd.SetAction(pr =>
        {
            var lim = CliOptions.Get(pr, limit, limitOld);
            var fullEvery = CliOptions.Get(pr, full, fullOld);
            // `fshealer watch` for one btrfs: the daemon's watcher and healing, these switches over the configuration
            return WatchCommand.Run(pr, common, [pr.GetValue(mp)!], "btrfs", o => o with
            {
                PollInterval = CliOptions.Get(pr, common.PollInterval, intervalOld) ?? TimeSpan.FromSeconds(5),
                BtrfsStateFile = pr.GetValue(state),
                PolicyOverlay = p => p with
                {
                    BtrfsAutoScrub = p.BtrfsAutoScrub && !pr.GetValue(noScrub),
                    BtrfsReadOnlyScrub = p.BtrfsReadOnlyScrub || pr.GetValue(ro),
                    BtrfsScrubSpeedLimit = lim is { } l ? (long)Math.Min(l, long.MaxValue) : p.BtrfsScrubSpeedLimit,
                    BtrfsFullScrubInterval = fullEvery ?? p.BtrfsFullScrubInterval,
                },
            });
        });
        return cmd;
    }
}
