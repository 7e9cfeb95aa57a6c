using System.Globalization;

namespace FsHealer.Xfs;

/// <summary>xfs_healer's command line (plus fshealer extensions), parsed with getopt_long semantics.</summary>
public sealed class XfsHealerOptions
{
    public bool Debug, Everything, Foreground, Help, Quiet, Repair, Supported, Svcname, Version;
    public bool Autofsck = true;
    public string? Mountpoint;
    /// <summary>Minimum seconds between two full-check starts (fshealer extension; 0 = xfs_healer behaviour).</summary>
    public double FullCheckIntervalSeconds = 300;
    /// <summary>Replay-only extensions (simulated kernel): outcomes per structure, fs features, autofsck value.</summary>
    public Dictionary<string, string> Outcomes { get; } = new(StringComparer.Ordinal);
    public string DefaultOutcome = "success";
    public string? AutofsckValue;
    /// <summary>replay: the mount point to print (the live mode takes it as the positional argument).</summary>
    public string? ReplayMount;
    public bool SimRmapBt = true, SimParent = true, SimRepairSupported = true;
    public List<string> Positionals { get; } = [];

    public bool Log => !Quiet;
}

/// <summary>
/// A getopt_long(3) work-alike for xfs_healer's option set: permutation (options may follow the mount point),
/// "--" ends options, unique prefixes of long options are accepted, "--opt=value" and "--opt value" both work,
/// and error messages are glibc's.
/// </summary>
public static class XfsHealerArgs
{
    private enum Arg { None, Required }

    private sealed record LongOpt(string Name, Arg Arg, Action<XfsHealerOptions, string?> Apply, bool ReplayOnly = false);

    private static readonly LongOpt[] LongOpts =
    [
        new("debug", Arg.None, (o, _) => o.Debug = true),
        new("everything", Arg.None, (o, _) => o.Everything = true),
        new("foreground", Arg.None, (o, _) => o.Foreground = true),
        new("help", Arg.None, (o, _) => o.Help = true),
        new("no-autofsck", Arg.None, (o, _) => o.Autofsck = false),
        new("quiet", Arg.None, (o, _) => o.Quiet = true),
        new("repair", Arg.None, (o, _) => o.Repair = true),
        new("supported", Arg.None, (o, _) => o.Supported = true),
        new("svcname", Arg.None, (o, _) => o.Svcname = true),
        new("full-check-interval", Arg.Required, (o, v) => o.FullCheckIntervalSeconds = ParseSeconds(v!)),
        // simulated-kernel (replay) options
        new("outcome", Arg.Required, (o, v) => AddOutcome(o, v!), true),
        new("default-outcome", Arg.Required, (o, v) => o.DefaultOutcome = ValidateOutcome(v!), true),
        new("autofsck", Arg.Required, (o, v) => o.AutofsckValue = v, true),
        new("mount", Arg.Required, (o, v) => o.ReplayMount = v, true),
        new("no-rmapbt", Arg.None, (o, _) => o.SimRmapBt = false, true),
        new("no-parent", Arg.None, (o, _) => o.SimParent = false, true),
        new("no-repair-support", Arg.None, (o, _) => o.SimRepairSupported = false, true),
    ];

    public static readonly string[] OutcomeNames = ["success", "unnecessary", "xfail", "fail"];

    /// <summary>Parse; on error returns false with glibc-style message lines (caller prints usage, exits 1).</summary>
    public static bool TryParse(IReadOnlyList<string> args, string progname, bool allowReplayOptions,
        out XfsHealerOptions options, out string? error)
    {
        options = new XfsHealerOptions();
        error = null;
        var o = options;
        bool endOfOptions = false;
        try
        {
            for (int i = 0; i < args.Count; i++)
            {
                var a = args[i];
                if (endOfOptions || a == "-" || !a.StartsWith('-')) { o.Positionals.Add(a); continue; }
                if (a == "--") { endOfOptions = true; continue; }
                if (a.StartsWith("--", StringComparison.Ordinal))
                {
                    var body = a[2..];
                    string? value = null;
                    int eq = body.IndexOf('=');
                    if (eq >= 0) { value = body[(eq + 1)..]; body = body[..eq]; }
                    var candidates = LongOpts.Where(l => (allowReplayOptions || !l.ReplayOnly) && l.Name.StartsWith(body, StringComparison.Ordinal)).ToList();
                    var exact = candidates.FirstOrDefault(l => l.Name == body);
                    if (exact is not null) candidates = [exact];
                    if (candidates.Count == 0) { error = $"{progname}: unrecognized option '{a}'"; return false; }
                    if (candidates.Count > 1)
                    {
                        error = $"{progname}: option '--{body}' is ambiguous; possibilities:" +
                                string.Concat(candidates.Select(c => $" '--{c.Name}'"));
                        return false;
                    }
                    var opt = candidates[0];
                    if (opt.Arg == Arg.None && value is not null)
                    { error = $"{progname}: option '--{opt.Name}' doesn't allow an argument"; return false; }
                    if (opt.Arg == Arg.Required && value is null)
                    {
                        if (i + 1 >= args.Count) { error = $"{progname}: option '--{opt.Name}' requires an argument"; return false; }
                        value = args[++i];
                    }
                    opt.Apply(o, value);
                    continue;
                }
                // short option cluster: only -V exists
                for (int k = 1; k < a.Length; k++)
                {
                    if (a[k] == 'V') o.Version = true;
                    else { error = $"{progname}: invalid option -- '{a[k]}'"; return false; }
                }
            }
        }
        catch (FormatException ex)
        {
            error = $"{progname}: {ex.Message}";
            return false;
        }
        if (o.Repair) o.Autofsck = false;
        if (o.Positionals.Count == 1) o.Mountpoint = o.Positionals[0];
        return true;
    }

    public static string Usage(string progname) =>
        $"Usage: {progname} [OPTIONS] mountpoint\n" +
        "\n" +
        "Options:\n" +
        "  --debug       Enable debugging messages.\n" +
        "  --everything  Capture all events.\n" +
        "  --foreground  Process events as soon as possible.\n" +
        "  --no-autofsck Do not use the \"autofsck\" fs property to decide to repair.\n" +
        "  --quiet       Do not log health events to stdout.\n" +
        "  --repair      Repair corrupt metadata found at runtime.\n" +
        "  --supported   Check that health monitoring is supported.\n" +
        "  -V            Print version.\n";

    // fshealer's extension: a number of seconds or a duration ("5m", "1h"), the one duration parser
    private static double ParseSeconds(string v)
    {
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && !double.IsNaN(s) && !double.IsInfinity(s)) return s;
        if (FsHealer.Text.Units.TryParseDuration(v, out var d, out _)) return d.TotalSeconds;
        throw new FormatException($"invalid --full-check-interval '{v}': expected a number of seconds >= 0 or a duration like 5m, 1h");
    }

    private static string ValidateOutcome(string v) =>
        Array.IndexOf(OutcomeNames, v) >= 0 || v.StartsWith("errno:", StringComparison.Ordinal)
            ? v
            : throw new FormatException($"invalid outcome '{v}': expected one of {string.Join(", ", OutcomeNames)} or errno:N");

    private static void AddOutcome(XfsHealerOptions o, string v)
    {
        int eq = v.IndexOf('=');
        if (eq <= 0) throw new FormatException($"invalid --outcome '{v}': expected STRUCTURE=RESULT, e.g. directory=fail");
        o.Outcomes[v[..eq]] = ValidateOutcome(v[(eq + 1)..]);
    }
}
