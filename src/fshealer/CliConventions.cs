using System.CommandLine;
using System.CommandLine.Parsing;
using FsHealer.Text;

namespace FsHealer.Cli;

/// <summary>
/// Exit codes shared by every subcommand (sysexits.h). <c>xfs-healer</c> keeps xfs_healer's own codes, and
/// <c>status</c> its 0 healthy / 1 degraded / 2 error / 3 unknown.
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>EX_USAGE: the command line is wrong (unknown option, bad value, missing argument).</summary>
    public const int Usage = 64;
    /// <summary>EX_SOFTWARE: an internal error (a bug).</summary>
    public const int Software = 70;
    /// <summary>EX_IOERR: standard output is closed or cannot be written (full disk, /dev/full).</summary>
    public const int IoError = 74;
    /// <summary>EX_CONFIG: the configuration file (or the state directory it names) is unusable.</summary>
    public const int Config = 78;
}

/// <summary>Options that take a duration or a size, parsed by the one parser (<see cref="Units"/>), and hidden
/// aliases that keep old spellings working.</summary>
public static class CliOptions
{
    /// <summary>An option taking a duration ("90s", "12h", "30d", "1h30m"; a bare number is in
    /// <paramref name="bareUnit"/>, seconds by default). A bad value is a usage error naming the option.</summary>
    public static Option<TimeSpan?> Duration(string name, string description, TimeSpan? bareUnit = null, TimeSpan? min = null, TimeSpan? max = null) =>
        new(name)
        {
            Description = description,
            HelpName = "DURATION",
            CustomParser = r => ParseDuration(r, name, bareUnit, min, max),
        };

    private static TimeSpan? ParseDuration(ArgumentResult r, string name, TimeSpan? bareUnit, TimeSpan? min, TimeSpan? max)
    {
        if (r.Tokens.Count == 0) return null;
        var text = r.Tokens[^1].Value;
        if (!Units.TryParseDuration(text, out var v, out var err, bareUnit)) { r.AddError($"{name}: {err}"); return null; }
        if (min is { } lo && v < lo) { r.AddError($"{name}: {text} is shorter than {Units.FormatDuration(lo)}"); return null; }
        if (max is { } hi && v > hi) { r.AddError($"{name}: {text} is longer than {Units.FormatDuration(hi)}"); return null; }
        return v;
    }

    /// <summary>An option taking a size or a rate ("50M", "1G", "4096"; a bare number is in <paramref name="bareUnit"/>).</summary>
    public static Option<ulong?> Size(string name, string description, ulong bareUnit = 1) =>
        new(name)
        {
            Description = description,
            HelpName = "SIZE",
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return null;
                var text = r.Tokens[^1].Value;
                if (!Units.TryParseSize(text, out var v, out var err, bareUnit)) { r.AddError($"{name}: {err}"); return null; }
                return v;
            },
        };

    /// <summary>Adds <paramref name="alias"/> (an old spelling of another option, made with the same factory so
    /// that its messages name it) to <paramref name="cmd"/>, hidden from the help; read both with <see cref="Get{T}"/>.</summary>
    public static Option<T> HiddenAlias<T>(Command cmd, Option<T> alias)
    {
        alias.Hidden = true;
        cmd.Options.Add(alias);
        return alias;
    }

    /// <summary>The value of <paramref name="main"/> when given, else of its alias, else the main option's default.</summary>
    public static T? Get<T>(ParseResult pr, Option<T> main, Option<T> alias)
    {
        var m = pr.GetResult(main);
        if (m is { Implicit: false }) return pr.GetValue(main);
        var a = pr.GetResult(alias);
        if (a is { Implicit: false }) return pr.GetValue(alias);
        return pr.GetValue(main);
    }
}
