using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Media.Live;
using FsHealer.Xfs.Live;
using FsHealer.Btrfs;
using FsHealer.Model;
using FsHealer.Mounts;
using FsHealer.Btrfs.Live;

namespace FsHealer.Btrfs.Live;

/// <summary>btrfs: device error counters polled (and persisted, so rises while the daemon was down are reported),
/// targeted scrub of the affected device, damaged files named for uncorrectable errors.</summary>
public sealed class BtrfsWatcher : IFsWatcher
{
    private BtrfsHealer _healer;
    private readonly DaemonContext _ctx;
    private readonly BtrfsHealerOptions _opts;
    public string How { get; }

    private BtrfsWatcher(BtrfsHealer healer, DaemonContext ctx, BtrfsHealerOptions opts)
    {
        _healer = healer;
        _ctx = ctx;
        _opts = opts;
        How = $"btrfs device error counters every {opts.PollInterval.TotalSeconds:0.#} s, scrub of the affected device";
    }

    public static IFsWatcher? Create(MountTarget t, DaemonContext ctx)
    {
        string? state = null;
        try
        {
            Directory.CreateDirectory(ctx.Options.StateDir);
            state = Path.Combine(ctx.Options.StateDir, $"btrfs-{t.Dev.Replace(':', '-')}.json");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ctx.Console.Err($"{t.PreferredPath}: state directory {ctx.Options.StateDir}: {ex.Message}; counters will not be persisted");
        }
        var policy = ctx.PolicyFor(t);
        var opts = new BtrfsHealerOptions
        {
            PollInterval = ctx.Options.PollInterval, StateFile = state, AutoScrub = policy.BtrfsAutoScrub,
            Scrub = new BtrfsScrubOptions
            {
                ReadOnly = policy.BtrfsReadOnlyScrub,
                LimitBytesPerSecond = policy.BtrfsScrubSpeedLimit > 0 ? (ulong)policy.BtrfsScrubSpeedLimit : null,
                FullScrubInterval = policy.BtrfsFullScrubInterval,
            },
        };
        var healer = Wire(new BtrfsHealer(t.PreferredPath, opts, ctx.Console), t.PreferredPath, ctx);
        if (!healer.Start()) { healer.Dispose(); return null; }
        return new BtrfsWatcher(healer, ctx, opts);
    }

    public void Moved(string newPath)
    {
        _healer.Dispose();
        _healer = Wire(new BtrfsHealer(newPath, _opts, _ctx.Console), newPath, _ctx);
        _healer.Start();
    }

    private static BtrfsHealer Wire(BtrfsHealer h, string mnt, DaemonContext ctx)
    {
        h.CounterEvent += e => ctx.Events.Publish(new FsEvent
        {
            Class = e.Kind == DevStatsEventKind.Rise ? EventClass.CounterRise : EventClass.Diagnostic,
            Severity = e.Kind == DevStatsEventKind.Rise ? Severity.Error : Severity.Info,
            Mount = mnt, FsType = "btrfs", Device = e.Path, Message = e.Describe(), Structure = e.Counter?.ToString(),
            Count = (long)Math.Min(e.Delta, long.MaxValue),
        });
        h.ScrubFinished += r => ctx.Events.Publish(new FsEvent
        {
            Class = EventClass.ScrubFinished,
            Severity = r.Outcome.Uncorrectable > 0 ? Severity.Critical : r.Outcome.Success ? Severity.Notice : Severity.Error,
            Mount = mnt, FsType = "btrfs", Message = $"{mnt}: scrub of devid {r.Outcome.Devid}: {r.Outcome.Message}" +
                (r.Damaged.Count > 0 ? $"; damaged: {string.Join(", ", r.Damaged.SelectMany(d => d.Paths).Take(20))}" : ""),
            Count = (long)r.Outcome.Corrected,
        });
        return h;
    }

    public void Dispose()
    {
        _healer.CancelScrubs("filesystem detached or daemon stopping");
        _healer.Dispose();
    }
}
