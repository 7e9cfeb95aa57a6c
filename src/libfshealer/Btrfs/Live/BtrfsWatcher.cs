using FsHealer.Btrfs;
using FsHealer.Healing;
using FsHealer.Healing.Live;
using FsHealer.Interop;
using FsHealer.Model;

namespace FsHealer.Btrfs.Live;

/// <summary>btrfs: device error counters polled every poll interval of the filesystem's policy (and persisted, so
/// rises while the daemon was down are reported), targeted scrub of the affected device, damaged files named for
/// uncorrectable errors. The mount point is read from the filesystem at each use: a move is followed.</summary>
public sealed class BtrfsWatcher : IFsWatcher
{
    private readonly BtrfsHealer _healer;
    private readonly DaemonContext _ctx;
    private readonly string _id;
    public string How { get; }

    private BtrfsWatcher(BtrfsHealer healer, BtrfsHealerOptions opts, DaemonContext ctx, string id)
    {
        _healer = healer;
        _ctx = ctx;
        _id = id;
        ctx.BtrfsHealers[id] = healer;
        How = $"btrfs device error counters every {opts.PollInterval.TotalSeconds:0.#} s" +
            (opts.KernelLog is null ? "" : ", btrfs kernel-log lines (damage, read-repair)") + ", scrub of the affected device";
    }

    public static IFsWatcher? Create(WatchedFilesystem fs, DaemonContext ctx)
    {
        string? state = ctx.Options.BtrfsStateFile;
        if (state is null)
        try
        {
            Directory.CreateDirectory(ctx.Options.StateDir);
            // keyed by the filesystem UUID: btrfs st_dev is an anonymous device number that changes at every mount
            state = Path.Combine(ctx.Options.StateDir, fs.Identity.Uuid is { } u ? $"btrfs-{u:D}.json" : $"btrfs-{fs.Identity.Dev.Replace(':', '-')}.json");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ctx.Console.Err($"{fs.Path}: state directory {ctx.Options.StateDir}: {ex.Message}; counters will not be persisted");
        }
        var policy = fs.Policy;
        // the kernel log, as the XFS poll watcher reads it: a metadata copy the kernel repaired from the good mirror
        // leaves no trace in the device counters, only this line
        // from 30 s back: btrfs reads (and read-repairs) its tree roots while it mounts, before the attach
        var kmsg = KmsgReader.OpenWithLookBack(TimeSpan.FromSeconds(30), out var kmsgDiag);
        if (kmsg is null) ctx.Console.Err($"{fs.Path}: btrfs kernel log not watched ({kmsgDiag}); damage the kernel repairs silently is not seen, only counter rises" +
            (kmsgDiag?.Contains("EPERM") == true ? "; reading /dev/kmsg under kernel.dmesg_restrict=1 needs CAP_SYSLOG (fshealer.service grants it)" : ""));
        var opts = new BtrfsHealerOptions
        {
            KernelLog = kmsg, KernelLogReplay = true, KernelLogScrubGate = fs.Gate(ActionKind.KernelLogScrub),
            PollInterval = policy.PollInterval, StateFile = state, AutoScrub = policy.BtrfsAutoScrub,
            Scrub = new BtrfsScrubOptions
            {
                ReadOnly = policy.BtrfsReadOnlyScrub,
                LimitBytesPerSecond = policy.BtrfsScrubSpeedLimit > 0 ? (ulong)policy.BtrfsScrubSpeedLimit : null,
                FullScrubInterval = policy.BtrfsFullScrubInterval,
            },
        };
        var healer = new BtrfsHealer(() => fs.Path, opts, ctx.Console);
        var sink = new WatchedSink(fs, ctx);
        healer.CounterEvent += e => sink.Publish(fs.Event(
            e.Kind == DevStatsEventKind.Rise ? EventClass.CounterRise : EventClass.Diagnostic,
            e.Kind == DevStatsEventKind.Rise ? Severity.Error : Severity.Info, e.Describe()) with
        {
            Device = e.Path, Structure = e.Counter?.ToString(), Count = (long)Math.Min(e.Delta, long.MaxValue),
        });
        healer.KernelLogLine += (e, _) =>
        {
            if (BtrfsKernelLogTrigger.ToEvent(e, fs.Path, fs.Identity.Id) is { } ev) sink.Publish(ev);
        };
        healer.ScrubFinished += r => sink.Publish(fs.Event(EventClass.ScrubFinished,
            r.Outcome.Uncorrectable > 0 ? Severity.Critical : r.Outcome.Success ? Severity.Notice : Severity.Error,
            $"{fs.Path}: scrub of devid {r.Outcome.Devid} ({r.Request.Reason}: {r.Request.Why}): {r.Outcome.Message}" +
            (r.Damaged.Count > 0 ? $"; damaged: {string.Join(", ", r.Damaged.SelectMany(d => d.Paths).Take(20))}" : "")) with
        {
            Count = (long)r.Outcome.Corrected,
        });
        if (!healer.Start()) { healer.Dispose(); return null; }
        return new BtrfsWatcher(healer, opts, ctx, fs.Identity.Id);
    }

    public void Dispose()
    {
        _ctx.BtrfsHealers.TryRemove(new KeyValuePair<string, IBtrfsFullScrub>(_id, _healer));
        _healer.CancelScrubs("filesystem detached or daemon stopping");
        _healer.Dispose();
    }
}
