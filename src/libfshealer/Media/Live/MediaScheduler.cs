using FsHealer.Btrfs.Live;
using FsHealer.Devices.Live;
using FsHealer.Ext4.Live;
using FsHealer.Healing.Live;
using FsHealer.Xfs.Live;
using FsHealer.Media;
using FsHealer.Model;
using FsHealer.Media.Live;

namespace FsHealer.Media.Live;

/// <summary>
/// The scheduled media scan ("a monthly media scan runs by itself"): one scan at a time on a background thread,
/// bandwidth-limited, resumable (checkpoint in the state dir), cancelled when the daemon stops; the time of the last
/// completed scan per device is kept in the state dir so a restart does not rescan early.
/// </summary>
public sealed class MediaScheduler(DaemonContext ctx, TimeSpan interval, long bytesPerSecond) : IDisposable
{
    private readonly MediaScanSchedule _schedule = new() { Default = interval };
    private readonly CancellationTokenSource _stop = new();
    private Task? _running;

    public void Tick(IEnumerable<(string Mount, string Device)> targets)
    {
        if (_running is { IsCompleted: false }) return;
        var now = DateTimeOffset.UtcNow;
        foreach (var (mount, device) in targets)
        {
            var stamp = StampFile(device);
            DateTimeOffset? last = File.Exists(stamp) && DateTimeOffset.TryParse(File.ReadAllText(stamp).Trim(), out var t) ? t : null;
            if (!_schedule.IsDue(mount, last, now)) continue;
            ctx.Console.Out($"{mount}: scheduled media scan starting (every {interval.TotalDays:0.#} days, limit {bytesPerSecond / 1048576.0:0.#} MiB/s)");
            _running = Task.Factory.StartNew(() =>
            {
                var report = MediaScan.Run(new MediaScanRequest
                {
                    Mount = mount, StateDir = ctx.Options.StateDir, Events = ctx.Events,
                    Options = new MediaScanOptions { BytesPerSecond = bytesPerSecond },
                }, null, out var err, _stop.Token);
                if (report is null) { ctx.Console.Err($"{mount}: media scan failed: {err}"); return; }
                ctx.Console.Out($"{mount}: media scan finished: {report.Owners.Count} bad range(s)");
                try { File.WriteAllText(stamp, DateTimeOffset.UtcNow.ToString("O")); }
                catch (IOException ex) { ctx.Console.Err($"{stamp}: {ex.Message}"); }
            }, TaskCreationOptions.LongRunning);
            return;
        }
    }

    private string StampFile(string device) =>
        Path.Combine(ctx.Options.StateDir, "media-last-" + device.Replace('/', '_') + ".txt");

    public void Dispose()
    {
        _stop.Cancel();
        _running?.Wait(TimeSpan.FromSeconds(10));
    }
}
