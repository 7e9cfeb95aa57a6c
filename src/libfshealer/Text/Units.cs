using System.Globalization;

namespace FsHealer.Text;

/// <summary>
/// The one parser for sizes and durations, for every command-line option and configuration value that takes one.
/// Durations: a number with an optional unit — <c>ms</c>, <c>s</c>/<c>sec</c>, <c>m</c>/<c>min</c>, <c>h</c>, <c>d</c>,
/// <c>w</c> (and the long words) — or several of them (<c>1h30m</c>, <c>1d 12h</c>); a bare number is in the caller's
/// default unit (seconds, days). Sizes: a number with an optional binary suffix <c>K M G T P</c> (also <c>KB</c>,
/// <c>KiB</c>, any case; 1K = 1024), an optional <c>B</c> and an optional <c>/s</c> (rates); a bare number is in
/// the caller's default unit (bytes, MiB). Fractions are allowed (<c>1.5G</c>, <c>0.5h</c>).
/// </summary>
public static class Units
{
    /// <summary>Duration units: name → length; longest names first so "min" wins over "m", "ms" over "m".</summary>
    private static readonly (string Name, TimeSpan Length)[] DurationUnits =
    [
        ("milliseconds", TimeSpan.FromMilliseconds(1)), ("millisecond", TimeSpan.FromMilliseconds(1)), ("msec", TimeSpan.FromMilliseconds(1)), ("ms", TimeSpan.FromMilliseconds(1)),
        ("seconds", TimeSpan.FromSeconds(1)), ("second", TimeSpan.FromSeconds(1)), ("secs", TimeSpan.FromSeconds(1)), ("sec", TimeSpan.FromSeconds(1)), ("s", TimeSpan.FromSeconds(1)),
        ("minutes", TimeSpan.FromMinutes(1)), ("minute", TimeSpan.FromMinutes(1)), ("mins", TimeSpan.FromMinutes(1)), ("min", TimeSpan.FromMinutes(1)), ("m", TimeSpan.FromMinutes(1)),
        ("hours", TimeSpan.FromHours(1)), ("hour", TimeSpan.FromHours(1)), ("hr", TimeSpan.FromHours(1)), ("h", TimeSpan.FromHours(1)),
        ("days", TimeSpan.FromDays(1)), ("day", TimeSpan.FromDays(1)), ("d", TimeSpan.FromDays(1)),
        ("weeks", TimeSpan.FromDays(7)), ("week", TimeSpan.FromDays(7)), ("w", TimeSpan.FromDays(7)),
    ];

    /// <summary>The longest duration accepted: 100 years (more is a typo, and TimeSpan arithmetic must not overflow).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(36500);

    public const string DurationHint = "a number of seconds or a duration like 90s, 30m, 12h, 30d, 1h30m";
    public const string SizeHint = "a number of bytes or a size like 4096, 512K, 50M, 1.5G";

    /// <summary>Parses a duration. <paramref name="bareUnit"/> is the unit of a number without one (default seconds).</summary>
    public static bool TryParseDuration(string? text, out TimeSpan value, out string? error, TimeSpan? bareUnit = null)
    {
        value = TimeSpan.Zero;
        error = null;
        var s = (text ?? "").Trim().ToLowerInvariant();
        if (s.Length == 0) { error = $"empty duration (expected {DurationHint})"; return false; }
        double totalTicks = 0;
        int i = 0;
        bool any = false;
        while (i < s.Length)
        {
            while (i < s.Length && s[i] == ' ') i++;
            if (i >= s.Length) break;
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n))
            { error = $"invalid duration \"{text}\" (expected {DurationHint})"; return false; }
            while (i < s.Length && s[i] == ' ') i++;
            int us = i;
            while (i < s.Length && char.IsAsciiLetter(s[i])) i++;
            var unitName = s.AsSpan(us, i - us);
            TimeSpan unit;
            if (unitName.Length == 0)
            {
                // a bare number: only alone (not "1h 30")
                if (any || i < s.Length) { error = $"invalid duration \"{text}\": a number without a unit must stand alone"; return false; }
                unit = bareUnit ?? TimeSpan.FromSeconds(1);
            }
            else
            {
                unit = TimeSpan.Zero;
                foreach (var (name, len) in DurationUnits)
                    if (unitName.SequenceEqual(name)) { unit = len; break; }
                if (unit == TimeSpan.Zero) { error = $"invalid duration \"{text}\": unknown unit \"{unitName}\" (ms, s, m, h, d, w)"; return false; }
            }
            totalTicks += n * unit.Ticks;
            any = true;
            if (totalTicks > MaxDuration.Ticks) { error = $"duration \"{text}\" is too long (at most 100 years)"; return false; }
        }
        if (!any) { error = $"invalid duration \"{text}\" (expected {DurationHint})"; return false; }
        value = TimeSpan.FromTicks((long)Math.Round(totalTicks));
        return true;
    }

    private static readonly (string Suffix, int Shift)[] SizeSuffixes =
    [
        ("kib", 10), ("mib", 20), ("gib", 30), ("tib", 40), ("pib", 50),
        ("kb", 10), ("mb", 20), ("gb", 30), ("tb", 40), ("pb", 50),
        ("k", 10), ("m", 20), ("g", 30), ("t", 40), ("p", 50), ("b", 0),
    ];

    /// <summary>Parses a size (bytes). <paramref name="bareUnit"/> is the multiplier of a number without a suffix.</summary>
    public static bool TryParseSize(string? text, out ulong bytes, out string? error, ulong bareUnit = 1)
    {
        bytes = 0;
        error = null;
        var s = (text ?? "").Trim().ToLowerInvariant();
        if (s.EndsWith("/s", StringComparison.Ordinal)) s = s[..^2].TrimEnd();
        if (s.Length == 0) { error = $"empty size (expected {SizeHint})"; return false; }
        decimal mult = bareUnit;
        foreach (var (suf, shift) in SizeSuffixes)
            if (s.EndsWith(suf, StringComparison.Ordinal)) { mult = 1UL << shift; s = s[..^suf.Length].TrimEnd(); break; }
        if (s.Length == 0 || !decimal.TryParse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v))
        { error = $"invalid size \"{text}\" (expected {SizeHint})"; return false; }
        try
        {
            var r = decimal.Round(v * mult);
            if (r > ulong.MaxValue) throw new OverflowException();
            bytes = (ulong)r;
            return true;
        }
        catch (OverflowException) { error = $"size \"{text}\" is too large"; return false; }
    }

    /// <summary>"30d", "12h", "1h30m", "90s", "250ms": the largest units that divide exactly, for messages.</summary>
    public static string FormatDuration(TimeSpan t)
    {
        if (t < TimeSpan.Zero) return "-" + FormatDuration(-t);
        if (t == TimeSpan.Zero) return "0s";
        var parts = new List<string>(4);
        if (t.Days > 0) parts.Add($"{t.Days}d");
        if (t.Hours > 0) parts.Add($"{t.Hours}h");
        if (t.Minutes > 0) parts.Add($"{t.Minutes}m");
        if (t.Seconds > 0) parts.Add($"{t.Seconds}s");
        if (t.Milliseconds > 0) parts.Add($"{t.Milliseconds}ms");
        return parts.Count == 0 ? "0s" : string.Concat(parts);
    }

    /// <summary>"1.5 MiB", "512 B", for messages.</summary>
    public static string FormatSize(ulong bytes)
    {
        string[] u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        double v = bytes;
        int i = 0;
        while (v >= 1024 && i < u.Length - 1) { v /= 1024; i++; }
        return i == 0 ? $"{bytes} B" : v.ToString(v < 10 ? "0.#" : "0", CultureInfo.InvariantCulture) + " " + u[i];
    }
}

/// <summary>The one time format of user-facing output: RFC 3339 in UTC ("2026-11-21T10:00:00Z"; with milliseconds
/// where the order of events matters: history JSON, hook variables, webhook payloads).</summary>
public static class TimeFormat
{
    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    public static string UtcMillis(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The one device naming of user-facing output: a device node path (<c>/dev/loop0</c>, <c>/dev/sdb1</c>,
/// <c>/dev/cciss/c0d0</c>), never the bare kernel name (<c>loop0</c>; sysfs writes '/' as '!').</summary>
public static class DeviceName
{
    public static string? AsPath(string? name) =>
        name is null or { Length: 0 } ? name : name[0] == '/' ? name : "/dev/" + name.Replace('!', '/');
}
