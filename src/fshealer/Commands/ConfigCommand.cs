using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Config;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Config.Live;
using FsHealer.Service.Metrics;
using FsHealer.Service.Notify;

namespace FsHealer.Cli.Commands;

/// <summary><c>fshealer config check [FILE]</c> and <c>fshealer config show [--config FILE] [--json]</c>.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var file = new Argument<string?>("file") { Description = $"Configuration file (default {FsHealerConfig.DefaultPath})", Arity = ArgumentArity.ZeroOrOne };
        var check = new Command("check", "Validate a configuration file; print OK or every error with line/column or JSON path");
        check.Arguments.Add(file);
        // the file also as --config FILE, the way run and config show name it
        var checkConfig = new Option<string?>("--config") { Description = "The same as FILE" };
        check.Options.Add(checkConfig);
        check.SetAction(pr =>
        {
            string? a = pr.GetValue(file), o = pr.GetValue(checkConfig);
            if (a is not null && o is not null && a != o)
            {
                Console.Error.WriteLine($"fshealer config check: two files given ({a} and --config {o}); name one");
                Console.Error.WriteLine("Try 'fshealer config check --help' for more information.");
                return ExitCodes.Usage;
            }
            return Check(a ?? o, Console.Out, Console.Error);
        });

        var config = new Option<string?>("--config") { Description = $"Configuration file (default {FsHealerConfig.DefaultPath})" };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var show = new Command("show", "Print the effective configuration and which rule matches each mounted filesystem");
        show.Options.Add(config);
        show.Options.Add(json);
        show.SetAction(pr => Show(pr.GetValue(config), pr.GetValue(json), Console.Out, Console.Error));

        var cmd = new Command("config", "Check or show the configuration");
        cmd.Subcommands.Add(check);
        cmd.Subcommands.Add(show);
        return cmd;
    }

    /// <summary>Exit 0 valid, 78 (EX_CONFIG) invalid: every error is printed, one per line, like a compiler's.</summary>
    public static int Check(string? path, TextWriter stdout, TextWriter stderr)
    {
        var r = path is null ? ConfigFile.LoadOrDefault(null) : ConfigFile.Load(path);
        if (r.Ok)
        {
            stdout.WriteLine(path is null && !File.Exists(FsHealerConfig.DefaultPath)
                ? $"OK (no {FsHealerConfig.DefaultPath}: safe defaults)"
                : $"{path ?? FsHealerConfig.DefaultPath}: OK ({r.Config!.Rules.Count} rule(s))");
            return 0;
        }
        foreach (var e in r.Errors) stderr.WriteLine(e.ToString());
        if (r.Errors.Count > 1) stderr.WriteLine($"{r.Errors.Count} errors");
        return ExitCodes.Config;
    }

    public static int Show(string? path, bool json, TextWriter stdout, TextWriter stderr)
    {
        var r = ConfigFile.LoadOrDefault(path);
        if (!r.Ok)
        {
            foreach (var e in r.Errors) stderr.WriteLine(e.ToString());
            return ExitCodes.Config;
        }
        var cfg = r.Config!;
        var dto = new ConfigShowDto
        {
            Source = cfg.SourcePath ?? "(built-in defaults)",
            StateDir = cfg.StateDir,
            Global = PolicyDto.From(cfg.Global),
            Rules = cfg.Rules.Select(x => x.Name).ToList(),
            HistoryMaxAgeDays = cfg.History.MaxAge.TotalDays, HistoryMaxSizeMb = cfg.History.MaxBytes / 1048576.0,
            Unmountable = cfg.Unmountable.Describe()
                + (cfg.Unmountable is { Repair: true, MatchUuid: var mu, MatchFsType: var mt, MatchMountPoint: var mm } && (mu ?? mt ?? mm) is not null
                    ? $" (only: {string.Join(", ", new[] { mu is null ? null : $"uuid {mu}", mt is null ? null : $"fs_type {mt}", mm is null ? null : $"fstab mount_point {mm}" }.OfType<string>())})" : ""),
        };
        foreach (var fs in SupportedFilesystems.List(stderr))
        {
            var p = cfg.PolicyFor(fs.Identity);
            dto.Filesystems.Add(new FsRuleDto
            {
                MountPoint = fs.Identity.MountPoint, FsType = fs.Identity.FsType, Device = fs.Source, Uuid = fs.Identity.Uuid,
                Label = fs.Identity.Label, Rule = p.Rule, Action = p.Describe(fs.Identity.FsType), Policy = PolicyDto.From(p),
            });
        }
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(dto, ConfigShowJsonContext.Default.ConfigShowDto));
            return 0;
        }
        stdout.WriteLine($"config: {dto.Source}");
        stdout.WriteLine($"state dir: {dto.StateDir}");
        stdout.WriteLine($"global: xfs {dto.Global.Xfs}, ext4 {dto.Global.Ext4}, btrfs auto-scrub {(cfg.Global.BtrfsAutoScrub ? "on" : "off")}, poll every {dto.Global.PollIntervalSeconds}s, max check age {(cfg.Global.MaxCheckAge is { } ma ? FsHealer.Config.Freshness.FormatAge(ma) : "off")}");
        stdout.WriteLine($"history: keep {dto.HistoryMaxAgeDays:0.##} days, at most {dto.HistoryMaxSizeMb:0.##} MiB");
        stdout.WriteLine(dto.Unmountable);
        stdout.WriteLine($"rules: {(dto.Rules.Count == 0 ? "(none)" : string.Join(", ", dto.Rules))}");
        foreach (var f in dto.Filesystems)
            stdout.WriteLine($"  {f.MountPoint} ({f.FsType} {f.Device}{(f.Uuid is null ? "" : $" uuid {f.Uuid}")}{(f.Label is null ? "" : $" label {f.Label}")}): {f.Action}");
        stdout.WriteLine("document (secrets shown as ***):");
        stdout.WriteLine(SecretRedaction.Json(cfg.ToJson()));
        return 0;
    }
}

public sealed class PolicyDto
{
    public string Rule { get; set; } = "";
    public string Xfs { get; set; } = "";
    public string Ext4 { get; set; } = "";
    public bool BtrfsAutoScrub { get; set; }
    public long BtrfsScrubSpeedLimit { get; set; }
    public bool BtrfsReadOnlyScrub { get; set; }
    public long? BtrfsFullScrubIntervalSeconds { get; set; }
    public long PollIntervalSeconds { get; set; }
    public long? FullCheckIntervalSeconds { get; set; }
    /// <summary>Check freshness limit; null = off.</summary>
    public long? MaxCheckAgeSeconds { get; set; }

    public static PolicyDto From(EffectivePolicy p) => new()
    {
        Rule = p.Rule, Xfs = EffectivePolicy.Name(p.Xfs), Ext4 = EffectivePolicy.Name(p.Ext4), BtrfsAutoScrub = p.BtrfsAutoScrub,
        BtrfsScrubSpeedLimit = p.BtrfsScrubSpeedLimit, BtrfsReadOnlyScrub = p.BtrfsReadOnlyScrub,
        BtrfsFullScrubIntervalSeconds = p.BtrfsFullScrubInterval is { } b ? (long)b.TotalSeconds : null,
        PollIntervalSeconds = (long)p.PollInterval.TotalSeconds,
        FullCheckIntervalSeconds = (long)p.FullCheckInterval.TotalSeconds,
        MaxCheckAgeSeconds = p.MaxCheckAge is { } ma ? (long)ma.TotalSeconds : null,
    };
}

public sealed class FsRuleDto
{
    public string MountPoint { get; set; } = "";
    public string FsType { get; set; } = "";
    public string Device { get; set; } = "";
    public string? Uuid { get; set; }
    public string? Label { get; set; }
    public string Rule { get; set; } = "";
    public string Action { get; set; } = "";
    public PolicyDto Policy { get; set; } = new();
}

public sealed class ConfigShowDto
{
    public string Source { get; set; } = "";
    public string StateDir { get; set; } = "";
    public PolicyDto Global { get; set; } = new();
    public List<string> Rules { get; set; } = [];
    public double HistoryMaxAgeDays { get; set; }
    public double HistoryMaxSizeMb { get; set; }
    /// <summary>What the daemon does about a mount the kernel refused (the "unmountable" section).</summary>
    public string Unmountable { get; set; } = "";
    public List<FsRuleDto> Filesystems { get; set; } = [];
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ConfigShowDto))]
public partial class ConfigShowJsonContext : JsonSerializerContext;
