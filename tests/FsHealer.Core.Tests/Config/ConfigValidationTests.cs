using System.Text.RegularExpressions;
using FsHealer.Config;

namespace FsHealer.Core.Tests.Config;

/// <summary>Issue 16: unknown keys at every level, every error at once in the user's terms (JSON path, JSON words,
/// line/column), units in values, the size cap, secrets redacted.</summary>
public class ConfigValidationTests
{
    private static ConfigResult Parse(string text) => ConfigLoader.Parse(text, "f.json");

    [Theory]
    [InlineData("""{"rulez": []}""", "$.rulez", "rules")]
    [InlineData("""{"poll_interval": 5}""", "$.poll_interval", "poll_interval_seconds")]
    [InlineData("""{"xfs": {"polcy": "repair"}}""", "$.xfs.polcy", "policy")]
    [InlineData("""{"pollIntervalSeconds": 5}""", "$.pollIntervalSeconds", "poll_interval_seconds")]
    [InlineData("""{"rules": [{"match": {"mountpoint": "/a", "fs_type": "xfs"}}]}""", "$.rules[0].match.mountpoint", "mount_point")]
    [InlineData("""{"rules": [{"match": {"fs_type": "xfs"}, "btrfs": {"auto_scrubb": true}}]}""", "$.rules[0].btrfs.auto_scrubb", "auto_scrub")]
    [InlineData("""{"notify": {"webhook": [{"url": "http://x/"}]}}""", "$.notify.webhook", "webhooks")]
    [InlineData("""{"notify": {"webhooks": [{"url": "http://x/", "fromat": "slack"}]}}""", "$.notify.webhooks[0].fromat", "format")]
    [InlineData("""{"notify": {"hooks": {"timeout": 5}}}""", "$.notify.hooks.timeout", "timeout_seconds")]
    [InlineData("""{"metrics": {"listn": "127.0.0.1:1"}}""", "$.metrics.listn", "listen")]
    [InlineData("""{"history": {"max_age": 30}}""", "$.history.max_age", "max_age_days")]
    public void Unknown_keys_at_every_level_are_errors_with_a_suggestion(string text, string path, string suggestion)
    {
        var r = Parse(text);
        Assert.False(r.Ok);
        var e = Assert.Single(r.Errors);
        Assert.Equal(path, e.JsonPath);
        Assert.Contains($"did you mean \"{suggestion}\"?", e.Message);
        Assert.NotNull(e.Line);
        Assert.NotNull(e.Column);
    }

    [Fact]
    public void An_unknown_key_far_from_every_known_one_lists_the_keys_allowed_there()
    {
        var e = Assert.Single(Parse("""{"ext4": {"zzzz": 1}}""").Errors);
        Assert.Equal("unknown key \"zzzz\" (known keys here: policy, snapshot_size_mb)", e.Message);
    }

    /// <summary>The file of the issue's kind: many mistakes at once; each is reported, in JSON words, at its place.</summary>
    [Fact]
    public void Every_error_is_reported_in_json_words_with_line_and_column()
    {
        const string text = """
            {
              // comments stay allowed
              "rulez": [],
              "poll_interval_seconds": "often",
              "max_check_age_seconds": 1.5,
              "full_check_interval_seconds": 99999999999999999999999,
              "xfs": { "policy": 3 },
              "btrfs": { "auto_scrub": "yes", "scrub_speed_limit": "fast" },
              "rules": [ 5, { "match": "/srv", "xfs": [] }, { "name": null, "match": { "fs_type": "xfs" }, "ext4": { "policy": "schedul" } } ],
              "notify": { "min_severity": 4, "email": { "to": "root" }, "thresholds": [ { "class": "io_error", "count": "2" } ] },
              "metrics": { "textfile_interval_seconds": true },
              "history": { "max_size_mb": [] },
              "state_dir": "/x", /* trailing commas too */
            }
            """;
        var r = Parse(text);
        Assert.False(r.Ok);
        var byPath = r.Errors.ToDictionary(e => e.JsonPath!, e => e);
        Assert.Contains("expected an integer of seconds", byPath["$.poll_interval_seconds"].Message);
        Assert.Contains("got a string (\"often\")", byPath["$.poll_interval_seconds"].Message);
        Assert.Contains("not a whole number", byPath["$.max_check_age_seconds"].Message);
        Assert.Contains("out of range", byPath["$.full_check_interval_seconds"].Message);
        Assert.Equal("expected a string, got a number (3)", byPath["$.xfs.policy"].Message);
        Assert.Equal("expected true or false, got a string (\"yes\")", byPath["$.btrfs.auto_scrub"].Message);
        Assert.Contains("expected an integer of bytes or a size like", byPath["$.btrfs.scrub_speed_limit"].Message);
        Assert.Equal("expected an object, got a number (5)", byPath["$.rules[0]"].Message);
        Assert.Equal("expected an object, got a string (\"/srv\")", byPath["$.rules[1].match"].Message);
        Assert.Equal("expected an object, got an array", byPath["$.rules[1].xfs"].Message);
        Assert.Contains("unknown ext4 policy \"schedul\" (did you mean \"schedule\"?)", byPath["$.rules[2].ext4.policy"].Message);
        Assert.Equal("expected a string, got a number (4)", byPath["$.notify.min_severity"].Message);
        Assert.Equal("expected an array, got a string (\"root\")", byPath["$.notify.email.to"].Message);
        Assert.Equal("expected an integer, got a string (\"2\")", byPath["$.notify.thresholds[0].count"].Message);
        Assert.StartsWith("expected a number of seconds", byPath["$.metrics.textfile_interval_seconds"].Message);
        Assert.StartsWith("expected a number of MiB", byPath["$.history.max_size_mb"].Message);
        Assert.Contains("did you mean \"rules\"", byPath["$.rulez"].Message);
        Assert.True(r.Errors.Count >= 16, string.Join("\n", r.Errors));
        // the user's terms only: no .NET type names, no serializer jargon
        foreach (var e in r.Errors)
        {
            Assert.DoesNotMatch(new Regex(@"System\.|Nullable|FsHealer\.|Int64|Int32|Boolean|`1|JsonElement|LineNumber|BytePosition"), e.Message);
            Assert.NotNull(e.Line);
            Assert.NotNull(e.Column);
        }
        // positions: in document order, each at its value (or key, for unknown keys)
        Assert.Equal((3L, 3L), (byPath["$.rulez"].Line!.Value, byPath["$.rulez"].Column!.Value));
        Assert.Equal((4L, 28L), (byPath["$.poll_interval_seconds"].Line!.Value, byPath["$.poll_interval_seconds"].Column!.Value));
        Assert.Equal((7L, 22L), (byPath["$.xfs.policy"].Line!.Value, byPath["$.xfs.policy"].Column!.Value));
        Assert.Equal(r.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList(), r.Errors);
    }

    [Fact]
    public void Columns_count_characters_not_bytes()
    {
        var r = Parse("{ \"rules\": [ { \"name\": \"é–ü\", \"match\": { \"fs_type\": \"x\" }, \"xfs\": { \"policy\": \"nope\" } } ] }");
        var e = Assert.Single(r.Errors);
        Assert.Equal(1L, e.Line);
        Assert.Equal(79L, e.Column); // "nope" starts at the 79th character, the 83rd byte (é, – and Ü take 7 bytes)
    }

    [Fact]
    public void Values_with_units_are_accepted_where_the_key_names_a_unit()
    {
        var r = Parse("""
            { "poll_interval_seconds": "90s", "max_check_age_seconds": "30d", "full_check_interval_seconds": "1h30m",
              "btrfs": { "scrub_speed_limit": "50M", "full_scrub_interval_seconds": "2w" },
              "history": { "max_age_days": "12w", "max_size_mb": "1G" },
              "notify": { "dedup_seconds": "2h", "hooks": { "timeout_seconds": "45s" } },
              "metrics": { "textfile_interval_seconds": "5m" } }
            """);
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        var c = r.Config!;
        Assert.Equal(TimeSpan.FromSeconds(90), c.Global.PollInterval);
        Assert.Equal(TimeSpan.FromDays(30), c.Global.MaxCheckAge);
        Assert.Equal(TimeSpan.FromMinutes(90), c.Global.FullCheckInterval);
        Assert.Equal(50L << 20, c.Global.BtrfsScrubSpeedLimit);
        Assert.Equal(TimeSpan.FromDays(14), c.Global.BtrfsFullScrubInterval);
        Assert.Equal(TimeSpan.FromDays(84), c.History.MaxAge);
        Assert.Equal(1L << 30, c.History.MaxBytes);
        Assert.Equal(TimeSpan.FromHours(2), c.Notify.Policy.DedupWindow);
        Assert.Equal(TimeSpan.FromSeconds(45), c.Notify.Hooks!.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(5), c.Metrics.TextfileInterval);
        // a unit where the key has none is a type error
        Assert.Equal("expected a string, got a number (5)", Assert.Single(Parse("""{"state_dir": 5}""").Errors).Message);
        Assert.Contains("unknown unit \"parsecs\"", Assert.Single(Parse("""{"poll_interval_seconds": "5parsecs"}""").Errors).Message);
    }

    [Fact]
    public void History_retention_defaults_and_bounds()
    {
        var d = FsHealerConfig.Default.History;
        Assert.Equal(TimeSpan.FromDays(90), d.MaxAge);
        Assert.Equal(64L << 20, d.MaxBytes);
        var r = Parse("""{"history": {"max_age_days": -1, "max_size_mb": 0.5}}""");
        Assert.Equal(["$.history.max_age_days", "$.history.max_size_mb"], r.Errors.Select(e => e.JsonPath));
    }

    /// <summary>An invalid notify or metrics section refuses the whole file, like any other error (run exits 78
    /// at start; a reload keeps the old configuration).</summary>
    [Theory]
    [InlineData("""{"notify": {"webhooks": [{"url": "ftp://x/"}]}}""", "$.notify.webhooks[0].url")]
    [InlineData("""{"notify": {"min_severity": "loud"}}""", "$.notify.min_severity")]
    [InlineData("""{"notify": {"thresholds": [{"class": "io_eror"}]}}""", "$.notify.thresholds[0].class")]
    [InlineData("""{"notify": {"email": {"to": []}}}""", "$.notify.email.to")]
    [InlineData("""{"notify": {"webhooks": [{"url": "https://ntfy.sh/", "format": "ntfy"}]}}""", "$.notify.webhooks[0].topic")]
    [InlineData("""{"notify": {"webhooks": [{"url": "https://x/", "token": "t"}]}}""", "$.notify.webhooks[0].token")]
    [InlineData("""{"metrics": {"textfile": "/x/metrics.txt"}}""", "$.metrics.textfile")]
    public void An_invalid_notify_or_metrics_section_is_a_configuration_error(string text, string path)
    {
        var r = Parse(text);
        Assert.False(r.Ok);
        Assert.Null(r.Config);
        Assert.Equal(path, Assert.Single(r.Errors).JsonPath);
        Assert.NotNull(r.Errors[0].Line);
    }

    [Fact]
    public void Ntfy_is_a_format_and_the_topic_comes_from_the_url()
    {
        var r = Parse("""{"notify": {"webhooks": [{"url": "https://ntfy.example/sub/alerts", "format": "ntfy", "token": "tk_1"}, {"url": "https://ntfy.sh/", "format": "NTFY", "topic": "t2"}]}}""");
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        var w = r.Config!.Notify.Webhooks;
        Assert.Equal(FsHealer.Service.Notify.WebhookFormat.Ntfy, w[0].Format);
        Assert.Equal("alerts", w[0].Topic);
        Assert.Equal("https://ntfy.example/sub/", w[0].Url.AbsoluteUri);
        Assert.Equal("tk_1", w[0].Token);
        Assert.Equal("t2", w[1].Topic);
        Assert.Equal("https://ntfy.sh/", w[1].Url.AbsoluteUri);
    }

    [Fact]
    public void A_file_over_the_size_cap_is_refused_naming_its_size()
    {
        var big = "{\"state_dir\": \"/x\", \"p\": \"" + new string('x', ConfigLoader.MaxFileBytes) + "\"}";
        var e = Assert.Single(Parse(big).Errors);
        Assert.Contains("at most 1 MiB", e.Message);
        Assert.Contains("1 MiB (", e.Message);
        Assert.Null(e.JsonPath);
    }

    /// <summary>A 200 MB file is refused from its size: far less than the file is read (measured with the process's
    /// read-byte counter), quickly, and the message names the size.</summary>
    [Fact]
    public void A_200_MB_file_is_refused_without_reading_it()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-cfgcap-");
        try
        {
            var path = Path.Combine(dir.FullName, "huge.json");
            using (var f = File.Create(path)) f.SetLength(200L << 20); // sparse: no disk space used
            long before = ReadBytes();
            var r = FsHealer.Config.Live.ConfigFile.Load(path);
            long read = ReadBytes() - before;
            var e = Assert.Single(r.Errors);
            Assert.Contains("200 MiB (209715200 bytes)", e.Message);
            Assert.Contains("at most 1 MiB", e.Message);
            Assert.True(read < 1 << 20, $"read {read} bytes of a 200 MiB file");
        }
        finally { dir.Delete(true); }
    }

    private static long ReadBytes()
    {
        foreach (var l in File.ReadAllLines("/proc/thread-self/io"))
            if (l.StartsWith("rchar:", StringComparison.Ordinal)) return long.Parse(l[6..].Trim());
        return 0;
    }

    [Fact]
    public void Config_show_redacts_every_secret()
    {
        const string doc = """
            { "notify": {
                "webhooks": [
                  { "url": "https://user:pa55@hooks.example:8443/services/T0001/B0002/abcdefghijklmnopqrstuvwx?token=SECRET1&x=2#frag",
                    "format": "slack", "headers": { "Authorization": "Bearer SECRET2", "X-Api-Key": "SECRET3", "Content-Type": "application/json" } },
                  { "url": "https://ntfy.sh/alerts", "format": "ntfy", "token": "tk_SECRET4" }
                ],
                "email": { "to": ["root"], "from": "fshealer", "smtp_password": "SECRET5" } } }
            """;
        var red = SecretRedaction.Json(doc);
        foreach (var s in new[] { "pa55", "SECRET1", "SECRET2", "SECRET3", "tk_SECRET4", "SECRET5", "abcdefghijklmnopqrstuvwx", "frag" })
            Assert.DoesNotContain(s, red);
        Assert.Contains("https://***@hooks.example:8443/services/T0001/B0002/***?token=***&x=***#***", red);
        Assert.Contains("\"Content-Type\": \"application/json\"", red);
        Assert.Contains("https://ntfy.sh/alerts", red);
        Assert.Contains("\"to\": [", red);
    }

    [Theory]
    [InlineData("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/T00000000/B00000000/***")]
    [InlineData("https://discord.com/api/webhooks/123456789012345678/AbCdEf0123456789xyz", "https://discord.com/api/webhooks/123456789012345678/***")]
    [InlineData("http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook")]
    public void Urls_keep_what_is_not_secret(string url, string expected) => Assert.Equal(expected, SecretRedaction.Url(url));
}
