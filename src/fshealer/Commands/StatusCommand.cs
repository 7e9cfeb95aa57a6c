using FsHealer.Mounts.Live;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Config;
using FsHealer.Model;
using FsHealer.Xfs;
using FsHealer.Btrfs.Live;
using FsHealer.Ext4.Live;
using FsHealer.Fanotify.Live;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Interop;
using FsHealer.Service.History.Live;
using FsHealer.Config.Live;
using FsHealer.Devices.Live;
using FsHealer.Service.Live;
using FsHealer.Text;
using Microsoft.Data.Sqlite;

namespace FsHealer.Cli.Commands;

/// <summary><c>fshealer status [--json] [--state-dir DIR] [--config FILE]</c>: health of every mounted supported
/// filesystem. Exit 0 healthy, 1 degraded, 2 error, 3 could not determine.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var stateDir = new Option<string?>("--state-dir") { Description = "State directory (default: from the configuration, /var/lib/fshealer)" };
        var config = new Option<string?>("--config") { Description = $"Configuration file (default {FsHealerConfig.DefaultPath})" };
        var only = new Option<string?>("--fs") { Description = "Only the filesystem mounted at this mount point" };
        var cmd = new Command("status", "Health of every filesystem (exit 0 healthy, 1 degraded, 2 error, 3 unknown)");
        cmd.Options.Add(json);
        cmd.Options.Add(stateDir);
        cmd.Options.Add(config);
        cmd.Options.Add(only);
        cmd.SetAction(pr => Run(pr.GetValue(json), pr.GetValue(stateDir), pr.GetValue(config), pr.GetValue(only), Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(bool json, string? stateDirOpt, string? configPath, string? onlyMount, TextWriter stdout, TextWriter stderr)
    {
        var cr = ConfigFile.LoadOrDefault(configPath);
        foreach (var e in cr.Errors) stderr.WriteLine(PathBytes.Show($"fshealer: {e} (using the built-in defaults)"));
        var cfg = cr.Config ?? FsHealerConfig.Default;
        string stateDir = stateDirOpt ?? cfg.StateDir;
        var now = DateTimeOffset.UtcNow;

        using var store = HistoryStore.Open(stateDir, out var histError, out var histFailure, readOnly: true);
        var report = new StatusReportDto { StateDir = stateDir, History = store is null ? histError : store.Path };
        // not root: say so, naming the path (not "no history yet", not "not attached")
        if (histFailure == HistoryStore.OpenFailure.PermissionDenied) stderr.WriteLine($"fshealer: {histError}");
        // is a daemon running on this state directory? (tests its lock without taking it)
        bool? running = DaemonLock.Probe(stateDir, out var daemonPid, out var probeError);
        report.DaemonRunning = running;
        report.DaemonPid = daemonPid;
        if (probeError is not null) stderr.WriteLine(PathBytes.Show($"fshealer: {probeError}") + $"{(probeError.Contains("Permission denied", StringComparison.Ordinal) ? " (cannot tell whether a daemon runs; run as root)" : "")}");
        var healths = new List<Health>();
        // the action journal: offline repairs only run while their start can be recorded
        // (not from a user who cannot even read it: whether the daemon can write it is then unknown, not a problem)
        if (histFailure != HistoryStore.OpenFailure.PermissionDenied && HistoryStore.WriteProblem(stateDir) is { } histProblem)
        {
            report.Problems.Add($"history store: {histProblem}: offline repairs will not run until it is writable");
            healths.Add(Health.Degraded);
        }
        string? only = onlyMount is null ? null : (Path.TrimEndingDirectorySeparator(Path.GetFullPath(onlyMount)) is { Length: > 0 } o ? o : "/");
        foreach (var fs in SupportedFilesystems.List(stderr))
        {
            var id = fs.Identity;
            if (only is not null && id.MountPoint != only) continue;
            var policy = cfg.PolicyFor(id);
            var identity = FsHealer.Healing.Live.LiveHealHost.IdentityOf(DevKey(fs.Dev), id.FsType, fs.Source);
            var selector = new FsSelector(identity.Id, id.MountPoint);
            List<FsEvent> events = [], policyEvents = [];
            (DateTimeOffset? LastGoodCheck, DateTimeOffset? FirstAttached) fresh = (null, null);
            if (store is not null)
            {
                // recording order (oldest first): events of the same millisecond keep their order
                try
                {
                    // by the filesystem's identity: another filesystem once mounted at the same place is not this one
                    events = store.Query(new HistoryQuery { Fs = selector, Limit = 5000 }).Select(s => s.Event).Reverse().ToList();
                    policyEvents = store.PolicyEvents(selector).Select(s => s.Event).ToList();
                    // check freshness: beyond the newest 5000 events too (only asked when the policy has a limit)
                    if (policy.MaxCheckAge is not null) fresh = store.FreshnessFacts(selector);
                }
                catch (SqliteException e) { stderr.WriteLine(PathBytes.Show($"fshealer: {store.Path}: {e.Message}")); }
            }
            // what the daemon applies to the current mount, else what the configuration says
            var applied = AppliedPolicySelector.Select(policyEvents, policy, id.FsType, running);
            if (histFailure == HistoryStore.OpenFailure.PermissionDenied && applied.Source == PolicySource.Config)
                applied = applied with { Source = PolicySource.Unknown };
            var level = ReadLevel(fs, stateDir, identity.Uuid);
            if (fresh.LastGoodCheck is not null || fresh.FirstAttached is not null)
                level = level with { LastGoodCheck = Later(level.LastGoodCheck, fresh.LastGoodCheck), FirstAttached = fresh.FirstAttached };
            var st = StatusComputer.Compute(events, level, policy, now);
            healths.Add(st.Health);
            report.Filesystems.Add(new FsStatusDto
            {
                MountPoint = id.MountPoint, FsType = id.FsType, Device = fs.Source, Uuid = id.Uuid, Label = id.Label, FsId = identity.Id,
                Health = st.Health.ToString().ToLowerInvariant(), Reasons = [.. st.Reasons],
                ErrorCount = level.ErrorCount, Shutdown = level.Shutdown, ReadOnly = level.ReadOnly, Sick = [.. level.SickStructures],
                LastGoodCheck = st.LastGoodCheck is { } lgc ? TimeFormat.Utc(lgc) : null,
                LastGoodCheckAgeSeconds = st.LastGoodCheckAge is { } a ? (long)a.TotalSeconds : null,
                LastEvent = st.LastEvent is { } le ? $"{TimeFormat.Utc(le.Time)} {ClassNames.Of(le.Class)}: {le.Message}" : null,
                CheckOverdue = st.CheckOverdue, MaxCheckAgeSeconds = st.MaxCheckAge is { } ma ? (long)ma.TotalSeconds : null,
                EventsSinceGoodCheck = st.EventsSinceGoodCheck, Rule = applied.Rule, Policy = applied.Text,
                PolicySource = applied.SourceName, PolicyAction = applied.Action,
                PolicySince = applied.Since is { } since ? TimeFormat.Utc(since) : null, PolicyLine = applied.Line,
                Diagnostics = [.. level.Diagnostics, .. st.Notes ?? []], Devices = DevicesCommand.StatusLine(id.MountPoint, id.FsType, fs.Dev),
            });
        }
        // unmountable filesystems (issue 17): mounts the kernel refused because the filesystem is damaged, reported
        // since the running daemon started (every uncleared one when none runs), not yet mounted or repaired since
        if (store is not null && only is null)
        {
            try
            {
                DateTimeOffset? since = daemonPid is { } dp ? ProcessStart(dp) : null;
                var recent = store.Query(new HistoryQuery { Since = since, Limit = 5000 }).Select(x => x.Event);
                foreach (var u in UnmountableStatus.Open(recent))
                {
                    report.Unmountable.Add(new UnmountableDto
                    {
                        Device = u.Device, FsType = u.FsType, FsId = u.FsId, Since = TimeFormat.Utc(u.Since), Message = u.Message, LastAction = u.LastAction,
                    });
                    report.Problems.Add($"unmountable: {u.Device} ({u.FsType}{(u.FsId is { } fid ? $" {fid}" : "")}): the kernel refused to mount it at {TimeFormat.Utc(u.Since)} (damaged)" +
                                        (u.LastAction is { } la ? $"; last action: {la}" : "; not repaired"));
                    healths.Add(Health.Error);
                }
            }
            catch (SqliteException e) { stderr.WriteLine(PathBytes.Show($"fshealer: {store.Path}: {e.Message}")); }
        }
        if (only is not null && report.Filesystems.Count == 0)
        {
            stderr.WriteLine(PathBytes.Show($"fshealer: {only}: not the mount point of a supported filesystem (xfs, ext4, btrfs)"));
            return (int)Health.Unknown;
        }
        var overall = StatusComputer.Overall(healths);
        // no daemon on this state directory: nothing watches or heals these filesystems — not healthy, whatever they are
        if (running == false)
        {
            report.Problems.Add($"no fshealer daemon is running (state directory {stateDir}): nothing watches or heals these filesystems");
            if (overall is Health.Healthy or Health.Unknown) overall = Health.Degraded;
        }
        // not root (or a broken state directory): what the daemon saw and whether it runs cannot be read — not "healthy"
        if (overall == Health.Healthy && (running is null || histFailure == HistoryStore.OpenFailure.PermissionDenied))
        {
            report.Problems.Add(histFailure == HistoryStore.OpenFailure.PermissionDenied
                ? $"the history cannot be read ({histError}): events and the daemon's decisions are unknown"
                : $"cannot tell whether a daemon runs ({probeError})");
            overall = Health.Unknown;
        }
        report.Monitored = running;
        report.Health = overall.ToString().ToLowerInvariant();
        if (json) stdout.WriteLine(JsonSerializer.Serialize(report, StatusJsonContext.Default.StatusReportDto));
        else
        {
            // one line each, names shown (PathBytes.Show): no control characters, non-UTF-8 bytes as \xNN
            void W(string line) => stdout.WriteLine(PathBytes.Show(line));
            foreach (var f in report.Filesystems)
            {
                W($"{f.MountPoint}  {f.FsType}  {f.Device}  {f.Health.ToUpperInvariant()}");
                foreach (var r in f.Reasons) W($"    {r}");
                if (f.ErrorCount is { } ec) W($"    error count: {ec}");
                W($"    last good check/repair: {(f.LastGoodCheck is null ? "never recorded" : $"{f.LastGoodCheck} ({FormatAge(f.LastGoodCheckAgeSeconds!.Value)} ago)")}");
                if (f.MaxCheckAgeSeconds is { } mca) W($"    max check age: {Freshness.FormatAge(TimeSpan.FromSeconds(mca))}{(f.CheckOverdue ? " (OVERDUE)" : "")}");
                if (f.LastEvent is not null) W($"    last event: {f.LastEvent}");
                W($"    policy: {f.PolicyLine}");
                if (f.Devices is not null) W($"    devices: {f.Devices}");
                foreach (var d in f.Diagnostics) W($"    note: {d}");
            }
            if (report.Filesystems.Count == 0) W("no supported filesystems mounted");
            foreach (var p in report.Problems) W($"{(p.StartsWith("unmountable: ", StringComparison.Ordinal) ? "ERROR" : overall == Health.Unknown ? "UNKNOWN" : "DEGRADED")}: {p}");
            W(report.DaemonRunning switch
            {
                true => $"daemon: running{(report.DaemonPid is { } p ? $" (pid {p})" : "")}",
                false => "daemon: NOT RUNNING — nothing watches or heals these filesystems (start it: systemctl start fshealer)",
                null => "daemon: unknown",
            });
            W($"overall: {report.Health} (history: {report.History})");
        }
        return (int)overall;
    }

    private static ulong DevKey(string dev)
    {
        int c = dev.IndexOf(':');
        return c > 0 && uint.TryParse(dev.AsSpan(0, c), out uint maj) && uint.TryParse(dev.AsSpan(c + 1), out uint min)
            ? FilesystemIdentity.DevKeyOf(maj, min) : 0;
    }

    /// <summary>When process <paramref name="pid"/> started (/proc/PID/stat starttime after /proc/stat btime), or null.</summary>
    private static DateTimeOffset? ProcessStart(int pid)
    {
        try
        {
            if (!FsHealer.Service.Metrics.ProcessSample.TryParseStat(File.ReadAllText($"/proc/{pid}/stat"), out _, out var ticks, out _)) return null;
            if (FsHealer.Service.Metrics.ProcessSample.ParseBootTime(File.ReadAllText("/proc/stat")) is not { } boot) return null;
            return DateTimeOffset.FromUnixTimeMilliseconds(boot * 1000 + (long)(ticks * 1000 / FsHealer.Service.Metrics.ProcessSample.ClockTicksPerSecond));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static DateTimeOffset? Later(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a > b ? a : b);

    private static string FormatAge(long s) =>
        s >= 86400 ? $"{s / 86400}d {s % 86400 / 3600}h" : s >= 3600 ? $"{s / 3600}h {s % 3600 / 60}m" : s >= 60 ? $"{s / 60}m" : $"{s}s";

    /// <summary>Live level state, cheap reads only. Never throws.</summary>
    public static LevelState ReadLevel(SupportedFs fs) => ReadLevel(fs, null, null);

    /// <summary>Live level state, cheap reads only; btrfs counters compared with the baseline of the last clean scrub
    /// kept in <paramref name="stateDir"/> (btrfs-UUID.json). Never throws.</summary>
    public static LevelState ReadLevel(SupportedFs fs, string? stateDir, Guid? uuid)
    {
        try
        {
            switch (fs.Identity.FsType)
            {
                case "ext4":
                {
                    var blk = BlockDeviceName.Of(fs.Dev);
                    if (blk is null) return new LevelState { ReadOnly = fs.ReadOnly, Diagnostics = [$"no block device for {fs.Dev}"] };
                    var s = Ext4SysfsReader.Read(blk);
                    return new LevelState { ErrorCount = s.ErrorsCount, ReadOnly = fs.ReadOnly, Readable = s.ErrorsCount is not null, Diagnostics = [.. s.Diagnostics] };
                }
                case "btrfs":
                {
                    using var m = BtrfsMount.Open(fs.Identity.MountPoint, out var err);
                    if (m is null) return new LevelState { ReadOnly = fs.ReadOnly, Diagnostics = [err ?? "cannot open"] };
                    var devs = m.Status(out var serr);
                    var diags = new List<string>();
                    if (serr is not null) diags.Add(serr);
                    var now = new List<(ulong, Guid, FsHealer.Btrfs.DevStatCounters)>();
                    foreach (var d in devs)
                    {
                        if (d.Counters is { } c) now.Add((d.Info.Devid, d.Info.Uuid, c));
                        else if (d.CountersError is not null) diags.Add(d.CountersError);
                    }
                    FsHealer.Btrfs.FilesystemState? saved = null;
                    if (stateDir is not null && uuid is { } u)
                    {
                        var st = BtrfsStateFile.Load(Path.Combine(stateDir, $"btrfs-{u:D}.json"), out var lerr);
                        if (lerr is not null) diags.Add($"btrfs state: {lerr}");
                        saved = st?.Find(m.Fsid);
                    }
                    var cmp = FsHealer.Btrfs.DevStatsBaseline.Compare(now, saved);
                    return new LevelState
                    {
                        ErrorCount = cmp.Total, ErrorBaseline = cmp.Baseline > 0 ? cmp.Baseline : null, ErrorBaselineAt = cmp.At,
                        ReadOnly = fs.ReadOnly, Readable = devs.Count > 0, Diagnostics = diags,
                    };
                }
                case "xfs":
                {
                    using var fd = Libc.Open(fs.Identity.MountPoint, Libc.O_RDONLY | Libc.O_DIRECTORY, out int errno);
                    // A shut-down XFS refuses even open() of its root with EIO.
                    if (fd.IsInvalid && errno == Errno.EIO) return new LevelState { Shutdown = true, ReadOnly = fs.ReadOnly, Readable = true, Diagnostics = [$"open {fs.Identity.MountPoint}: EIO (the filesystem is shut down)"] };
                    if (fd.IsInvalid) return new LevelState { ReadOnly = fs.ReadOnly, Diagnostics = [$"open {fs.Identity.MountPoint}: {Errno.Name(errno)} ({Errno.Message(errno)})"] };
                    int r = XfsIoctl.GetGeometry(fd, out var g);
                    if (r == Errno.EIO) return new LevelState { Shutdown = true, ReadOnly = fs.ReadOnly, Readable = true, Diagnostics = ["XFS_IOC_FSGEOMETRY: EIO (the filesystem is shut down)"] };
                    if (r != 0) return new LevelState { ReadOnly = fs.ReadOnly, Diagnostics = [$"XFS_IOC_FSGEOMETRY: {Errno.Name(r)} ({Errno.Message(r)})"] };
                    var sick = g.Sick == 0 ? [] : XfsHealthTables.FsStructures.FormatMask(g.Sick).Split(", ");
                    return new LevelState { Shutdown = false, ReadOnly = fs.ReadOnly, Readable = true, SickStructures = sick };
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return new LevelState { ReadOnly = fs.ReadOnly, Diagnostics = [e.Message] };
        }
        return new LevelState { ReadOnly = fs.ReadOnly };
    }
}

public sealed class FsStatusDto
{
    public string MountPoint { get; set; } = "";
    /// <summary>The filesystem's identity ("uuid:…", or "dev:M:m" without a UUID): what its history is kept under.</summary>
    public string FsId { get; set; } = "";
    public string FsType { get; set; } = "";
    public string Device { get; set; } = "";
    public string? Uuid { get; set; }
    public string? Label { get; set; }
    public string Health { get; set; } = "";
    public List<string> Reasons { get; set; } = [];
    public ulong? ErrorCount { get; set; }
    public bool? Shutdown { get; set; }
    public bool ReadOnly { get; set; }
    public List<string> Sick { get; set; } = [];
    public string? LastGoodCheck { get; set; }
    public long? LastGoodCheckAgeSeconds { get; set; }
    /// <summary>The last successful check is older than max_check_age_seconds (or none since the first attach longer ago).</summary>
    public bool CheckOverdue { get; set; }
    /// <summary>The filesystem's check freshness limit; null = none.</summary>
    public long? MaxCheckAgeSeconds { get; set; }
    public string? LastEvent { get; set; }
    public int EventsSinceGoodCheck { get; set; }
    public string Rule { get; set; } = "";
    public string Policy { get; set; } = "";
    /// <summary>"daemon" (recorded by the daemon when it attached this mount), "deferred" (attached, but left to another
    /// healer) or "config" (the configuration file's; the daemon has not attached this mount).</summary>
    public string PolicySource { get; set; } = "";
    /// <summary>Machine-readable policy name ("offline-repair", "autofsck", "scrub", ...), when known.</summary>
    public string? PolicyAction { get; set; }
    /// <summary>When the daemon attached this mount (daemon/deferred only).</summary>
    public string? PolicySince { get; set; }
    [JsonIgnore] public string PolicyLine { get; set; } = "";
    public List<string> Diagnostics { get; set; } = [];
    /// <summary>The block devices under the filesystem and any unhealthy device state ("sdb1 (partition) &lt;- sdb (scsi)").</summary>
    public string? Devices { get; set; }
}

public sealed class StatusReportDto
{
    public string Health { get; set; } = "";
    public string StateDir { get; set; } = "";
    public string? History { get; set; }
    /// <summary>A daemon holds the state directory's lock (null: could not tell).</summary>
    public bool? DaemonRunning { get; set; }
    /// <summary>Something watches and heals these filesystems (a daemon runs); false makes the overall health at
    /// least degraded. Null: could not tell.</summary>
    public bool? Monitored { get; set; }
    public int? DaemonPid { get; set; }
    public List<FsStatusDto> Filesystems { get; set; } = [];
    /// <summary>Problems of fshealer itself that make the whole report degraded (an unwritable history store, no daemon
    /// running) or unknown (the state directory cannot be read).</summary>
    public List<string> Problems { get; set; } = [];
    /// <summary>Devices whose mount the kernel refused because the filesystem is damaged, not mounted or repaired since
    /// (reported since the running daemon started).</summary>
    public List<UnmountableDto> Unmountable { get; set; } = [];
}

public sealed class UnmountableDto
{
    public string Device { get; set; } = "";
    public string FsType { get; set; } = "";
    public string? FsId { get; set; }
    public string Since { get; set; } = "";
    public string Message { get; set; } = "";
    public string? LastAction { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(ExactStringJsonConverter)])]
[JsonSerializable(typeof(StatusReportDto))]
public partial class StatusJsonContext : JsonSerializerContext;
