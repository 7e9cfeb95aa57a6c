using FsHealer.Devices;
using FsHealer.Devices.Live;

namespace FsHealer.Bench;

/// <summary>
/// What the daemon's idle periodic work allocates: the block-device health poll (<see cref="DeviceCorrelator"/>) over
/// the real /sys, N filesystems on N block devices (the machine's first N entries of /sys/class/block), simulated
/// clock, one poll per 10 s for 10 minutes (the default topology refresh included). Idle garbage is resident memory:
/// the gen0 budget fills with it between collections. Then the cost of one release of clean file pages.
/// </summary>
public static class IdleAlloc
{
    public static int Run(int n)
    {
        var sysfs = new SysfsDirectory();
        var devs = sysfs.List("class/block").Order(StringComparer.Ordinal).Take(n)
            .Select(b => (Name: b, Dev: sysfs.Read($"class/block/{b}/dev")?.Trim())).Where(x => x.Dev is not null).ToList();
        var corr = new DeviceCorrelator(sysfs) { PollInterval = TimeSpan.FromSeconds(10) };
        var now = DateTimeOffset.UnixEpoch;
        for (int i = 0; i < devs.Count; i++) corr.Attach(devs[i].Dev!, $"/m{i}", "ext4", "/dev/" + devs[i].Name, new FsDeviceSpec([devs[i].Dev!]), now);
        corr.Tick(now = now.AddSeconds(10));   // warm-up: first poll
        const int polls = 60;                   // 10 minutes
        long before = GC.GetAllocatedBytesForCurrentThread();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int p = 0; p < polls; p++)
        {
            for (int t = 0; t < 40; t++) corr.Tick(now = now.AddMilliseconds(250));   // the daemon ticks 4x a second
        }
        sw.Stop();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"device poll: {devs.Count} filesystems on {devs.Count} devices, {polls} polls (10 min simulated): " +
                          $"{bytes / polls:N0} bytes/poll, {bytes / 600.0 / 1024:0.0} KiB/s at a 10 s interval, " +
                          $"{sw.Elapsed.TotalMilliseconds / polls:0.00} ms CPU/poll");

        // the daemon's release of clean file pages (after collections, every 10 min): its cost in this process
        var r = FsHealer.Service.Live.ResidentSet.ReleaseCleanFilePages();   // first: drops what start-up mapped
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        sw.Restart();
        const int rounds = 20;
        for (int i = 0; i < rounds; i++) r = FsHealer.Service.Live.ResidentSet.ReleaseCleanFilePages();
        sw.Stop();
        Console.WriteLine($"page release: {sw.Elapsed.TotalMilliseconds / rounds:0.00} ms and {(GC.GetAllocatedBytesForCurrentThread() - a0) / rounds:N0} bytes " +
                          $"per call ({r.Mappings} mappings, {r.Error ?? "no error"})");
        return 0;
    }
}
