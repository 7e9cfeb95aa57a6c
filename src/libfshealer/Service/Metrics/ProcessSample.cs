using System.Globalization;

namespace FsHealer.Service.Metrics;

/// <summary>
/// The process figures Prometheus' client libraries export under standard names (process_cpu_seconds_total,
/// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
/// process_start_time_seconds), so the usual dashboards and alerts work for fshealer too. Parsed here from the
/// text of /proc/self/stat, /proc/self/statm, /proc/self/limits and /proc/stat (the reads are the Linux layer's).
/// </summary>
public readonly record struct ProcessSample(double CpuSeconds, long ResidentBytes, long VirtualBytes, int OpenFds, long MaxFds, double StartTimeSeconds)
{
    /// <summary>USER_HZ: the unit of the times in /proc/PID/stat; 100 on every Linux architecture .NET runs on.</summary>
    public const double ClockTicksPerSecond = 100;

    /// <summary>/proc/PID/stat: (utime + stime) in ticks, starttime in ticks after boot, vsize in bytes. The command
    /// name (field 2) may hold spaces and parentheses: the fields are counted after the last ')'. False if malformed.</summary>
    public static bool TryParseStat(string stat, out double cpuSeconds, out double startTicks, out long virtualBytes)
    {
        cpuSeconds = startTicks = 0;
        virtualBytes = 0;
        int close = stat.LastIndexOf(')');
        if (close < 0) return false;
        // after ") ": field 3 (state) is index 0, so field N is index N - 3
        var f = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 21) return false;
        if (!ulong.TryParse(f[14 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out var utime)
            || !ulong.TryParse(f[15 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out var stime)
            || !ulong.TryParse(f[22 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(f[23 - 3], NumberStyles.None, CultureInfo.InvariantCulture, out virtualBytes)) return false;
        cpuSeconds = (utime + stime) / ClockTicksPerSecond;
        startTicks = start;
        return true;
    }

    /// <summary>/proc/PID/statm: the second field is the resident set in pages.</summary>
    public static bool TryParseStatm(string statm, long pageSize, out long residentBytes)
    {
        residentBytes = 0;
        var f = statm.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 2 || !long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages)) return false;
        residentBytes = pages * pageSize;
        return true;
    }

    /// <summary>/proc/PID/limits: the soft limit of "Max open files" (-1 when unlimited or absent).</summary>
    public static long ParseMaxOpenFiles(string limits)
    {
        foreach (var line in limits.Split('\n'))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var f = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return f.Length > 0 && long.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;
        }
        return -1;
    }

    /// <summary>/proc/stat: the boot time ("btime", unix seconds), or null.</summary>
    public static long? ParseBootTime(string procStat)
    {
        foreach (var line in procStat.Split('\n'))
            if (line.StartsWith("btime ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var b))
                return b;
        return null;
    }
}
