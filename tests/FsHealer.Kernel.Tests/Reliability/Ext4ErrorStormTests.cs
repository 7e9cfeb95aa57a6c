using System.Diagnostics;
using FsHealer.Fanotify;
using FsHealer.Kernel.Tests.Ext4;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>
/// A storm of real ext4 errors (sysfs trigger_fs_error, FSHEALER_EXT4_STORM times, default 100,000) through the
/// FAN_FS_ERROR watcher. The kernel coalesces errors into the one pending event per filesystem and counts them in
/// error_count; user space must account for every one: the sum of error_count over the events read equals the
/// number of errors raised. The watcher stays responsive and its heap bounded.
/// </summary>
[Collection("ext4-kernel")]
public class Ext4ErrorStormTests
{
    [Fact]
    public void Real_ext4_error_storm_every_error_accounted()
    {
        Ext4Loop.SkipUnlessPossible();
        int n = int.TryParse(Environment.GetEnvironmentVariable("FSHEALER_EXT4_STORM"), out var c) && c > 0 ? c : 100_000;
        using var fs = new Ext4Loop();
        using var h = new WatchHarness(false, fs.Mnt);
        Assert.Empty(h.DrainFor(TimeSpan.FromMilliseconds(100)));
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long heap0 = GC.GetTotalMemory(true);
        var sw = Stopwatch.StartNew();
        long counted = 0, events = 0;
        string trigger = Path.Combine(fs.SysDir, "trigger_fs_error");
        for (int i = 0; i < n; i++)
        {
            File.WriteAllText(trigger, "storm");
            while (h.Reports.TryTake(out var r)) { if (r.Event.Kind == FsErrorKind.Error) { counted += r.Event.ErrorCount; events++; } }
        }
        double raiseSeconds = sw.Elapsed.TotalSeconds;
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (counted < n && DateTime.UtcNow < end)
            if (h.Reports.TryTake(out var r, TimeSpan.FromMilliseconds(100)) && r.Event.Kind == FsErrorKind.Error) { counted += r.Event.ErrorCount; events++; }
        sw.Stop();
        // a probe after the storm is seen promptly
        var t0 = DateTimeOffset.UtcNow;
        fs.TriggerFsError("probe");
        var probe = h.Next(x => x.Event.Kind == FsErrorKind.Error, TimeSpan.FromSeconds(5));
        double probeMs = (probe.ReceivedAt - t0).TotalMilliseconds;
        GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
        long heap1 = GC.GetTotalMemory(true);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"ext4 error storm: {n:N0} errors raised in {raiseSeconds:F1} s, {events:N0} fanotify events carried error_count sum {counted:N0}; " +
            $"probe after storm {probeMs:F1} ms; heap {heap0 / 1024} -> {heap1 / 1024} KiB; diagnostics {h.Diagnostics.Count}");
        Assert.Equal(n, counted);
        Assert.Equal(1u, probe.Event.ErrorCount);
        Assert.True(probeMs < 2000, $"probe latency {probeMs} ms");
        Assert.True(heap1 - heap0 < 16L << 20, $"heap grew {(heap1 - heap0) >> 10} KiB");
    }
}
