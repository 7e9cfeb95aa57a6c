using FsHealer.Core.Mounts;
using FsHealer.Linux.Btrfs;

namespace FsHealer.Cli.Daemon;

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
        var opts = new BtrfsHealerOptions { PollInterval = ctx.Options.PollInterval, StateFile = state };
        var healer = new BtrfsHealer(t.PreferredPath, opts, ctx.Console);
        if (!healer.Start()) { healer.Dispose(); return null; }
        return new BtrfsWatcher(healer, ctx, opts);
    }

    public void Moved(string newPath)
    {
        _healer.Dispose();
        _healer = new BtrfsHealer(newPath, _opts, _ctx.Console);
        _healer.Start();
    }

    public void Dispose()
    {
        _healer.CancelScrubs("filesystem detached or daemon stopping");
        _healer.Dispose();
    }
}
