using FsHealer.Service.Metrics;

namespace FsHealer.Service.Metrics.Live;

/// <summary>Reads this process's figures for the process_* metrics from /proc (at every scrape; the start time once).</summary>
public sealed class ProcessSampler
{
    private double? _startTime;

    /// <summary>A sample, or null when /proc cannot be read (the process_* families are then left out).</summary>
    public ProcessSample? Sample()
    {
        try
        {
            if (!ProcessSample.TryParseStat(File.ReadAllText("/proc/self/stat"), out var cpu, out var startTicks, out var vsize)) return null;
            if (!ProcessSample.TryParseStatm(File.ReadAllText("/proc/self/statm"), Environment.SystemPageSize, out var rss)) return null;
            if (_startTime is null)
            {
                var boot = ProcessSample.ParseBootTime(File.ReadAllText("/proc/stat"));
                _startTime = boot is { } b ? b + startTicks / ProcessSample.ClockTicksPerSecond : 0;
            }
            int fds = 0;
            foreach (var _ in Directory.EnumerateFileSystemEntries("/proc/self/fd")) fds++;
            long maxFds = ProcessSample.ParseMaxOpenFiles(File.ReadAllText("/proc/self/limits"));
            return new ProcessSample(cpu, rss, vsize, fds, maxFds, _startTime.Value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}
