using System.Text.Json;

namespace FsHealer.Config;

/// <summary>A configuration error: where (file, line/column for syntax errors; JSON path for semantic ones) and what.</summary>
public sealed record ConfigError(string? File, long? Line, long? Column, string? JsonPath, string Message)
{
    public override string ToString()
    {
        var where = File ?? "config";
        if (Line is { } l) where += $":{l}" + (Column is { } c ? $":{c}" : "");
        if (JsonPath is { Length: > 0 } p) where += $" ({p})";
        return $"{where}: {Message}";
    }
}

public sealed record ConfigResult(FsHealerConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool Ok => Config is not null && Errors.Count == 0;
}

/// <summary>Parses and validates the configuration. Never throws.</summary>
public static class ConfigLoader
{
    public static ConfigResult Parse(string text, string? fileName = null)
    {
        ConfigDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(text, ConfigJsonContext.Default.ConfigDocument);
        }
        catch (JsonException e)
        {
            // LineNumber and BytePositionInLine are 0-based; people count from 1.
            string msg = e.Message;
            int cut = msg.IndexOf(" Path: ", StringComparison.Ordinal);
            if (cut > 0) msg = msg[..cut];
            return new(null, [new ConfigError(fileName, e.LineNumber + 1, e.BytePositionInLine + 1, e.Path, msg)]);
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return new(null, [new ConfigError(fileName, null, null, null, e.Message)]);
        }
        if (doc is null) return new(null, [new ConfigError(fileName, 1, 1, "$", "the configuration must be a JSON object, not null")]);
        return Validate(doc, fileName);
    }

    public static ConfigResult Validate(ConfigDocument doc, string? fileName)
    {
        var errors = new List<ConfigError>();
        void Err(string path, string msg) => errors.Add(new ConfigError(fileName, null, null, path, msg));

        string stateDir = doc.StateDir ?? FsHealerConfig.DefaultStateDir;
        if (stateDir.Length == 0 || stateDir[0] != '/') Err("$.state_dir", $"must be an absolute path, got \"{stateDir}\"");

        CheckSections("$", doc.PollIntervalSeconds, doc.FullCheckIntervalSeconds, doc.MaxCheckAgeSeconds, doc.Xfs, doc.Ext4, doc.Btrfs, Err);
        var global = Overlay(EffectivePolicy.Defaults with { Rule = "(global)" },
            new RuleSection { PollIntervalSeconds = doc.PollIntervalSeconds, FullCheckIntervalSeconds = doc.FullCheckIntervalSeconds, MaxCheckAgeSeconds = doc.MaxCheckAgeSeconds, Xfs = doc.Xfs, Ext4 = doc.Ext4, Btrfs = doc.Btrfs },
            "(global)");

        var rules = new List<ConfigRule>();
        var names = new HashSet<string>();
        for (int i = 0; i < (doc.Rules?.Count ?? 0); i++)
        {
            var r = doc.Rules![i];
            string p = $"$.rules[{i}]";
            if (r is null) { Err(p, "a rule must be an object"); continue; }
            string name = r.Name ?? $"#{i + 1}";
            if (!names.Add(name)) Err($"{p}.name", $"duplicate rule name \"{name}\"");
            var m = r.Match;
            if (m is null || (m.MountPoint is null && m.Uuid is null && m.Label is null && m.FsType is null))
                Err($"{p}.match", "a rule needs a match with at least one of mount_point, uuid, label, fs_type (use \"fs_type\": \"*\" for all)");
            if (m is not null)
            {
                CheckGlob($"{p}.match.mount_point", m.MountPoint, Err);
                CheckGlob($"{p}.match.uuid", m.Uuid, Err);
                CheckGlob($"{p}.match.label", m.Label, Err);
                CheckGlob($"{p}.match.fs_type", m.FsType, Err);
            }
            CheckSections(p, r.PollIntervalSeconds, r.FullCheckIntervalSeconds, r.MaxCheckAgeSeconds, r.Xfs, r.Ext4, r.Btrfs, Err);
            rules.Add(new ConfigRule(name, m?.MountPoint, m?.Uuid, m?.Label, m?.FsType, r));
        }
        if (errors.Count > 0) return new(null, errors);
        return new(new FsHealerConfig { SourcePath = fileName, StateDir = stateDir, Global = global, Rules = rules, Document = doc }, []);
    }

    private static void CheckGlob(string path, string? glob, Action<string, string> err)
    {
        if (glob is null) return;
        if (Glob.Validate(glob) is { } why) err(path, $"bad glob \"{glob}\": {why}");
    }

    /// <summary>The largest max_check_age_seconds accepted: 100 years (larger values are a typo, and would not fit a TimeSpan).</summary>
    public const long MaxCheckAgeLimitSeconds = 100L * 365 * 86400;

    private static void CheckSections(string p, long? poll, long? full, long? maxAge, XfsSection? xfs, Ext4Section? ext4, BtrfsSection? btrfs, Action<string, string> err)
    {
        if (maxAge is { } ma && (ma < 0 || ma > MaxCheckAgeLimitSeconds))
            err($"{p}.max_check_age_seconds", $"must be 0 (off) or a positive number of seconds up to {MaxCheckAgeLimitSeconds} (100 years), got {ma}");
        if (poll is { } pi && pi <= 0) err($"{p}.poll_interval_seconds", $"must be a positive number of seconds, got {pi}");
        if (full is { } fi && fi < 0) err($"{p}.full_check_interval_seconds", $"must be 0 (no limit: a full check for every trigger, as xfs_healer does) or a positive number of seconds, got {fi}");
        if (xfs?.Policy is { } xp && ParseXfs(xp) is null)
            err($"{p}.xfs.policy", $"unknown xfs policy \"{xp}\" (expected autofsck, repair, report or off)");
        if (ext4?.Policy is { } ep && ParseExt4(ep) is null)
            err($"{p}.ext4.policy", $"unknown ext4 policy \"{ep}\" (expected report, schedule or offline-repair)");
        if (btrfs?.ScrubSpeedLimit is { } sl && sl < 0) err($"{p}.btrfs.scrub_speed_limit", $"must be 0 (unlimited) or bytes per second, got {sl}");
        if (btrfs?.FullScrubIntervalSeconds is { } fs && fs < 0) err($"{p}.btrfs.full_scrub_interval_seconds", $"must be 0 (never) or a positive number of seconds, got {fs}");
    }

    private static readonly Dictionary<string, XfsPolicy> XfsNames = new()
    {
        ["autofsck"] = XfsPolicy.Autofsck, ["repair"] = XfsPolicy.Repair, ["report"] = XfsPolicy.Report, ["off"] = XfsPolicy.Off,
    };
    private static readonly Dictionary<string, Ext4Policy> Ext4Names = new()
    {
        ["report"] = Ext4Policy.Report, ["schedule"] = Ext4Policy.Schedule, ["offline-repair"] = Ext4Policy.OfflineRepair,
    };

    public static XfsPolicy? ParseXfs(string s) => XfsNames.TryGetValue(s, out var v) ? v : null;
    public static Ext4Policy? ParseExt4(string s) => Ext4Names.TryGetValue(s, out var v) ? v : null;

    /// <summary>The fields a section sets override <paramref name="basis"/>; absent fields keep it.</summary>
    public static EffectivePolicy Overlay(EffectivePolicy basis, RuleSection s, string ruleName) => basis with
    {
        Rule = ruleName,
        Xfs = s.Xfs?.Policy is { } xp && ParseXfs(xp) is { } x ? x : basis.Xfs,
        XfsOfflineRepair = s.Xfs?.OfflineRepair ?? basis.XfsOfflineRepair,
        Ext4 = s.Ext4?.Policy is { } ep && ParseExt4(ep) is { } e ? e : basis.Ext4,
        BtrfsAutoScrub = s.Btrfs?.AutoScrub ?? basis.BtrfsAutoScrub,
        BtrfsScrubSpeedLimit = s.Btrfs?.ScrubSpeedLimit ?? basis.BtrfsScrubSpeedLimit,
        BtrfsReadOnlyScrub = s.Btrfs?.ReadOnlyScrub ?? basis.BtrfsReadOnlyScrub,
        BtrfsFullScrubInterval = s.Btrfs?.FullScrubIntervalSeconds is { } f ? (f == 0 ? null : TimeSpan.FromSeconds(f)) : basis.BtrfsFullScrubInterval,
        PollInterval = s.PollIntervalSeconds is { } pi && pi > 0 ? TimeSpan.FromSeconds(pi) : basis.PollInterval,
        FullCheckInterval = s.FullCheckIntervalSeconds is { } fi && fi >= 0 ? TimeSpan.FromSeconds(fi) : basis.FullCheckInterval,
        MaxCheckAge = s.MaxCheckAgeSeconds is { } ma && ma >= 0 && ma <= MaxCheckAgeLimitSeconds ? (ma == 0 ? null : TimeSpan.FromSeconds(ma)) : basis.MaxCheckAge,
    };
}

/// <summary>Holds the current configuration; <see cref="Reload"/> keeps the old one when the file is broken.</summary>
public sealed class ConfigStore
{
    private readonly Func<ConfigResult> _load;
    private FsHealerConfig _current;

    public ConfigStore(FsHealerConfig initial, Func<ConfigResult> load)
    {
        _current = initial;
        _load = load;
    }

    public FsHealerConfig Current => Volatile.Read(ref _current);

    /// <summary>Reads and validates the file without making it current (a reload that must check more — notification and
    /// metrics settings — before it commits to it). Never throws.</summary>
    public ConfigResult LoadCandidate()
    {
        try { return _load(); }
        catch (Exception e) { return new(null, [new ConfigError(null, null, null, null, $"reload failed: {e.Message}")]); }
    }

    /// <summary>Makes a validated candidate current.</summary>
    public void Commit(FsHealerConfig config) => Volatile.Write(ref _current, config);

    /// <summary>Re-reads the file. On success the new config becomes current and the result has no errors; on
    /// failure the old config stays current and the errors say why.</summary>
    public ConfigResult Reload()
    {
        ConfigResult r;
        try { r = _load(); }
        catch (Exception e) { r = new(null, [new ConfigError(null, null, null, null, $"reload failed: {e.Message}")]); }
        if (r.Ok) Volatile.Write(ref _current, r.Config!);
        return r;
    }
}
