using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FsHealer.Service.Metrics;
using FsHealer.Service.Notify;

namespace FsHealer.Config;

/// <summary>A configuration error: where (file, line/column, JSON path) and what.</summary>
public sealed record ConfigError(string? File, long? Line, long? Column, string? JsonPath, string Message)
{
    /// <summary>"fshealer.json:3:20: $.xfs.polcy: unknown key "polcy" (did you mean "policy"?)" — like a compiler.</summary>
    public override string ToString()
    {
        var where = File ?? "config";
        if (Line is { } l) where += $":{l}" + (Column is { } c ? $":{c}" : "");
        return JsonPath is { Length: > 0 } p ? $"{where}: {p}: {Message}" : $"{where}: {Message}";
    }
}

public sealed record ConfigResult(FsHealerConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool Ok => Config is not null && Errors.Count == 0;
}

/// <summary>Parses and validates the configuration. Never throws. Every error is reported (not only the first):
/// syntax errors with line and column; unknown keys, wrong types and bad values with their JSON path and the line
/// and column of the value.</summary>
public static class ConfigLoader
{
    /// <summary>The largest configuration file accepted (a real one is a few KiB; a huge one is a mistake and would
    /// cost memory in proportion).</summary>
    public const int MaxFileBytes = 1 << 20;

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 };

    /// <summary>The shapes of the sections that other parsers own (kept as opaque JSON in <see cref="ConfigDocument"/>).</summary>
    private static readonly Dictionary<string, JsonTypeInfo> SectionShapes = new(StringComparer.Ordinal)
    {
        ["$.notify"] = NotifySettings.Shape,
        ["$.metrics"] = MetricsSettings.Shape,
    };

    public static ConfigResult Parse(string text, string? fileName = null)
    {
        if (text.Length > MaxFileBytes) return TooLarge(fileName, Encoding.UTF8.GetByteCount(text));
        return Parse(Encoding.UTF8.GetBytes(text), fileName);
    }

    public static ConfigError TooLargeError(string? fileName, long bytes) =>
        new(fileName, null, null, null, $"the file is {FsHealer.Text.Units.FormatSize((ulong)bytes)} ({bytes} bytes); a configuration may be at most {FsHealer.Text.Units.FormatSize(MaxFileBytes)}: is this the right file?");

    private static ConfigResult TooLarge(string? fileName, long bytes) => new(null, [TooLargeError(fileName, bytes)]);

    public static ConfigResult Parse(byte[] utf8, string? fileName)
    {
        if (utf8.Length > MaxFileBytes) return TooLarge(fileName, utf8.Length);
        int bom = utf8.Length >= 3 && utf8[0] == 0xEF && utf8[1] == 0xBB && utf8[2] == 0xBF ? 3 : 0;
        if (bom > 0) utf8 = utf8[bom..];
        var positions = JsonPositions.Build(utf8);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8, Lenient);
        }
        catch (JsonException e)
        {
            // LineNumber and BytePositionInLine are 0-based and count bytes; people count characters from 1.
            string msg = e.Message;
            foreach (var cut in new[] { " Path: ", " LineNumber: ", " | LineNumber" })
            {
                int i = msg.IndexOf(cut, StringComparison.Ordinal);
                if (i > 0) msg = msg[..i].TrimEnd();
            }
            if (utf8.Length == 0 || utf8.AsSpan().Trim(" \t\r\n"u8).Length == 0) msg = "the file is empty (an empty configuration is \"{}\")";
            long line = (e.LineNumber ?? 0) + 1;
            return new(null, [new ConfigError(fileName, line, positions.CharColumn(line, e.BytePositionInLine ?? 0), e.Path is { Length: > 1 } p ? p : null, msg)]);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new(null, [new ConfigError(fileName, positions.Of("$")?.Line ?? 1, positions.Of("$")?.Column ?? 1, "$",
                    $"the configuration must be a JSON object ({{ ... }}), got {JsonShape.Describe(root)}")]);
            var problems = new List<JsonProblem>();
            var cleaned = JsonShape.Check(root, ConfigJsonContext.Default.ConfigDocument, "$", problems, SectionShapes);
            ConfigDocument? dto;
            try { dto = cleaned is null ? null : System.Text.Json.JsonSerializer.Deserialize(cleaned, ConfigJsonContext.Default.ConfigDocument); }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException or FormatException or OverflowException)
            {
                // the shape check should make this impossible; say what happened rather than crash
                problems.Add(new JsonProblem("$", $"cannot read the configuration: {e.Message}"));
                dto = null;
            }
            return Validate(dto ?? new ConfigDocument(), fileName, problems, positions);
        }
    }

    public static ConfigResult Validate(ConfigDocument doc, string? fileName) => Validate(doc, fileName, [], null);

    private static ConfigResult Validate(ConfigDocument doc, string? fileName, List<JsonProblem> problems, JsonPositions? positions)
    {
        var found = new List<(JsonProblem P, int Order)>();
        foreach (var pr in problems) found.Add((pr, found.Count));
        // a meaning check on a value the shape check already refused (and dropped) would only repeat it
        var refused = problems.Select(p => p.Path).ToHashSet(StringComparer.Ordinal);
        void Err(string path, string msg) { if (!refused.Contains(path)) found.Add((new JsonProblem(path, msg), found.Count)); }

        string stateDir = doc.StateDir ?? FsHealerConfig.DefaultStateDir;
        if (stateDir.Length == 0 || stateDir[0] != '/') Err("$.state_dir", $"must be an absolute path, got \"{stateDir}\"");

        // the top-level policy keys are a rule without a match: checked and applied the same way
        var globalSection = new RuleSection
        {
            PollIntervalSeconds = doc.PollIntervalSeconds, FullCheckIntervalSeconds = doc.FullCheckIntervalSeconds,
            MaxCheckAgeSeconds = doc.MaxCheckAgeSeconds, ScheduledCheck = doc.ScheduledCheck, Xfs = doc.Xfs, Ext4 = doc.Ext4, Btrfs = doc.Btrfs,
        };
        CheckSections("$", globalSection, Err);
        var global = Overlay(EffectivePolicy.Defaults with { Rule = "(global)" }, globalSection, "(global)");
        if (global.ScheduledCheck && global.MaxCheckAge is null)
            Err("$.scheduled_check.enabled", "needs max_check_age_seconds (the age at which a check is due); set it beside scheduled_check");

        var rules = new List<ConfigRule>();
        var names = new HashSet<string>();
        for (int i = 0; i < (doc.Rules?.Count ?? 0); i++)
        {
            var r = doc.Rules![i];
            string p = $"$.rules[{i}]";
            if (r is null) { if (!problems.Any(x => x.Path.StartsWith(p, StringComparison.Ordinal))) Err(p, "a rule must be an object"); continue; }
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
            CheckSections(p, r, Err);
            if (r.ScheduledCheck?.Enabled == true && Overlay(global, r, name).MaxCheckAge is null)
                Err($"{p}.scheduled_check.enabled", "needs max_check_age_seconds (the age at which a check is due), in this rule or globally");
            rules.Add(new ConfigRule(name, m?.MountPoint, m?.Uuid, m?.Label, m?.FsType, r));
        }

        var history = HistoryRetention.Default;
        if (doc.History is { } h)
        {
            if (h.MaxAgeDays is { } d && !(d > 0 && d <= 36500)) Err("$.history.max_age_days", $"must be a positive number of days up to 36500 (100 years), got {d}");
            if (h.MaxSizeMb is { } mb && !(mb >= 1 && mb <= 1 << 20)) Err("$.history.max_size_mb", $"must be between 1 and 1048576 MiB (1 TiB), got {mb}");
            history = new HistoryRetention(
                h.MaxAgeDays is { } dd && dd > 0 && dd <= 36500 ? TimeSpan.FromDays(dd) : history.MaxAge,
                h.MaxSizeMb is { } mm && mm >= 1 && mm <= 1 << 20 ? (long)(mm * 1048576) : history.MaxBytes);
        }
        var unmountable = FsHealer.Healing.UnmountablePolicy.Off;
        if (doc.Unmountable is { } um)
        {
            if (um.Fstab is { } ft && (ft.Length == 0 || ft[0] != '/'))
                Err("$.unmountable.fstab", $"must be an absolute path, got \"{ft}\"");
            if (um.XfsZeroLog == true && um.Repair != true)
                Err("$.unmountable.xfs_zero_log", "only means something with \"repair\": true (it allows xfs_repair -L during that repair)");
            if (um.Match is { } mm)
            {
                if (mm.Label is not null) Err("$.unmountable.match.label", "not supported here (match an unmountable filesystem by uuid, fs_type or its fstab mount_point)");
                CheckGlob("$.unmountable.match.uuid", mm.Uuid, Err);
                CheckGlob("$.unmountable.match.fs_type", mm.FsType, Err);
                CheckGlob("$.unmountable.match.mount_point", mm.MountPoint, Err);
            }
            unmountable = new FsHealer.Healing.UnmountablePolicy(um.Repair ?? false,
                um.Fstab is { Length: > 0 } f2 && f2[0] == '/' ? f2 : FsHealer.Healing.UnmountablePolicy.DefaultFstab,
                um.Mount ?? true, um.XfsZeroLog ?? false, um.Match?.Uuid, um.Match?.FsType, um.Match?.MountPoint);
        }
        // the sections other parsers own: their meaning is checked here too, so that every error shows at once and a
        // broken section refuses the whole file (at start and on reload) like any other error
        var notify = NotifySettings.Parse(doc.Notify, Err);
        var metrics = MetricsSettings.Parse(doc.Metrics, Err);

        if (found.Count > 0)
        {
            var errors = found
                .Select(f => (f.P, f.Order, Pos: positions?.Of(f.P.Path, f.P.AtKey)))
                .OrderBy(f => f.Pos is null ? 1 : 0).ThenBy(f => f.Pos?.Line ?? 0).ThenBy(f => f.Pos?.Column ?? 0).ThenBy(f => f.Order)
                .Select(f => new ConfigError(fileName, f.Pos?.Line, f.Pos?.Column, f.P.Path, f.P.Message))
                .ToList();
            return new(null, errors);
        }
        return new(new FsHealerConfig
        {
            SourcePath = fileName, StateDir = stateDir, Global = global, Rules = rules, Document = doc,
            History = history, Unmountable = unmountable, Notify = notify ?? NotifySettings.Defaults, Metrics = metrics ?? MetricsSettings.Off,
        }, []);
    }

    private static void CheckGlob(string path, string? glob, Action<string, string> err)
    {
        if (glob is null) return;
        if (Glob.Validate(glob) is { } why) err(path, $"bad glob \"{glob}\": {why}");
    }

    /// <summary>The largest max_check_age_seconds accepted: 100 years (larger values are a typo, and would not fit a TimeSpan).</summary>
    public const long MaxCheckAgeLimitSeconds = 100L * 365 * 86400;

    private static void CheckScheduledCheck(string p, ScheduledCheckSection? s, Action<string, string> err)
    {
        if (s is null) return;
        if (s.IdleIoLimit is { } ib && ib < 0)
            err($"{p}.scheduled_check.idle_io_limit", $"must be 0 (only a filesystem without any I/O is idle) or a positive number of bytes per second, got {ib}");
        if (s.MaxDurationSeconds is { } md && (md < 0 || md > MaxCheckAgeLimitSeconds))
            err($"{p}.scheduled_check.max_duration_seconds", $"must be 0 (no limit) or a positive number of seconds, got {md}");
        if (s.Window is { } w && FsHealer.Healing.CheckWindow.Parse(w, out var why) is null)
            err($"{p}.scheduled_check.window", why!);
    }

    /// <summary>The meaning of the policy keys of a rule, or of the top level (<paramref name="p"/> = "$").</summary>
    private static void CheckSections(string p, RuleSection r, Action<string, string> err)
    {
        long? poll = r.PollIntervalSeconds, full = r.FullCheckIntervalSeconds, maxAge = r.MaxCheckAgeSeconds;
        XfsSection? xfs = r.Xfs; Ext4Section? ext4 = r.Ext4; BtrfsSection? btrfs = r.Btrfs;
        if (maxAge is { } ma && (ma < 0 || ma > MaxCheckAgeLimitSeconds))
            err($"{p}.max_check_age_seconds", $"must be 0 (off) or a positive number of seconds up to {MaxCheckAgeLimitSeconds} (100 years), got {ma}");
        if (poll is { } pi && pi <= 0) err($"{p}.poll_interval_seconds", $"must be a positive number of seconds, got {pi}");
        if (full is { } fi && fi < 0) err($"{p}.full_check_interval_seconds", $"must be 0 (no limit: a full check for every trigger, as xfs_healer does) or a positive number of seconds, got {fi}");
        if (xfs?.Policy is { } xp && ParseXfs(xp) is null)
            err($"{p}.xfs.policy", $"unknown xfs policy \"{xp}\"{DidYouMean(xp, XfsNames.Keys)} (expected autofsck, repair, report or off)");
        if (ext4?.Policy is { } ep && ParseExt4(ep) is null)
            err($"{p}.ext4.policy", $"unknown ext4 policy \"{ep}\"{DidYouMean(ep, Ext4Names.Keys)} (expected report, schedule or offline-repair)");
        if (ext4?.SnapshotSizeMb is { } ss && (ss < 1 || ss > EffectivePolicy.MaxSnapshotSizeMb))
            err($"{p}.ext4.snapshot_size_mb", $"must be a size in MiB between 1 and {EffectivePolicy.MaxSnapshotSizeMb} (16 TiB; also \"256M\", \"1G\"), got {ss}");
        if (btrfs?.ScrubSpeedLimit is { } sl && sl < 0) err($"{p}.btrfs.scrub_speed_limit", $"must be 0 (unlimited) or bytes per second, got {sl}");
        if (btrfs?.FullScrubIntervalSeconds is { } fs && fs < 0) err($"{p}.btrfs.full_scrub_interval_seconds", $"must be 0 (never) or a positive number of seconds, got {fs}");
        // the repair runs only after the offline check found damage: asking for it while switching that check off is a contradiction
        if (btrfs is { OfflineRepair: true, OfflineCheck: false })
            err($"{p}.btrfs.offline_repair", "needs btrfs.offline_check (btrfs check --repair runs only on damage the offline check found); offline_check is false here");
        CheckScheduledCheck(p, r.ScheduledCheck, err);
    }

    private static string DidYouMean(string value, IEnumerable<string> names) =>
        JsonShape.Suggest(value, names.ToList()) is { } s ? $" (did you mean \"{s}\"?)" : "";

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
        Ext4SnapshotSizeMb = s.Ext4?.SnapshotSizeMb is { } ss && ss >= 1 && ss <= EffectivePolicy.MaxSnapshotSizeMb ? ss : basis.Ext4SnapshotSizeMb,
        BtrfsAutoScrub = s.Btrfs?.AutoScrub ?? basis.BtrfsAutoScrub,
        BtrfsScrubSpeedLimit = s.Btrfs?.ScrubSpeedLimit ?? basis.BtrfsScrubSpeedLimit,
        BtrfsReadOnlyScrub = s.Btrfs?.ReadOnlyScrub ?? basis.BtrfsReadOnlyScrub,
        BtrfsFullScrubInterval = s.Btrfs?.FullScrubIntervalSeconds is { } f ? (f == 0 ? null : TimeSpan.FromSeconds(f)) : basis.BtrfsFullScrubInterval,
        BtrfsOfflineCheck = s.Btrfs?.OfflineCheck ?? basis.BtrfsOfflineCheck,
        BtrfsOfflineRepair = s.Btrfs?.OfflineRepair ?? basis.BtrfsOfflineRepair,
        PollInterval = s.PollIntervalSeconds is { } pi && pi > 0 ? TimeSpan.FromSeconds(pi) : basis.PollInterval,
        FullCheckInterval = s.FullCheckIntervalSeconds is { } fi && fi >= 0 ? TimeSpan.FromSeconds(fi) : basis.FullCheckInterval,
        ScheduledCheck = s.ScheduledCheck?.Enabled ?? basis.ScheduledCheck,
        ScheduledCheckIdleIoLimit = s.ScheduledCheck?.IdleIoLimit is { } ib && ib >= 0 ? ib : basis.ScheduledCheckIdleIoLimit,
        ScheduledCheckMaxDuration = s.ScheduledCheck?.MaxDurationSeconds is { } md && md >= 0 && md <= MaxCheckAgeLimitSeconds
            ? (md == 0 ? null : TimeSpan.FromSeconds(md)) : basis.ScheduledCheckMaxDuration,
        ScheduledCheckWindow = s.ScheduledCheck?.Window is { } sw ? FsHealer.Healing.CheckWindow.Parse(sw, out _) ?? basis.ScheduledCheckWindow : basis.ScheduledCheckWindow,
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
