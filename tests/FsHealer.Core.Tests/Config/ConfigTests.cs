using System.Text.Json;
using FsHealer.Config;

namespace FsHealer.Core.Tests.Config;

public class ConfigTests
{
    private const string Good = """
        // fshealer configuration
        {
          "state_dir": "/var/lib/fshealer-test",
          "poll_interval_seconds": 30,
          "xfs": { "policy": "report" },
          /* block comment */
          "btrfs": { "auto_scrub": true, "scrub_speed_limit": 104857600 },
          "rules": [
            { "name": "data", "match": { "mount_point": "/srv/**" }, "xfs": { "policy": "repair" }, "ext4": { "policy": "schedule" } },
            { "name": "by-uuid", "match": { "uuid": "0A1B2C3D-*" }, "btrfs": { "auto_scrub": false, "full_scrub_interval_seconds": 604800, "read_only_scrub": true } },
            { "name": "labelled", "match": { "label": "backup?" , "fs_type": "ext4" }, "ext4": { "policy": "offline-repair" }, "full_check_interval_seconds": 86400 },
            { "name": "all-btrfs", "match": { "fs_type": "btrfs" }, "poll_interval_seconds": 5, },
          ],
          "notify": { "webhooks": [ { "url": "http://127.0.0.1:9/x" } ], "thresholds": [ { "class": "io_error", "count": 2 } ] },
          "metrics": { "listen": "127.0.0.1:9464" },
          "history": { "max_age_days": 30, "max_size_mb": "16M" },
        }
        """;

    [Fact]
    public void Good_file_parses_with_comments_and_trailing_commas()
    {
        var r = ConfigLoader.Parse(Good, "good.json");
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        var c = r.Config!;
        Assert.Equal("/var/lib/fshealer-test", c.StateDir);
        Assert.Equal(4, c.Rules.Count);
        Assert.Equal(XfsPolicy.Report, c.Global.Xfs);
        Assert.Equal(TimeSpan.FromSeconds(30), c.Global.PollInterval);
        Assert.Equal(104857600, c.Global.BtrfsScrubSpeedLimit);
    }

    [Fact]
    public void No_file_gives_safe_defaults()
    {
        var d = FsHealerConfig.Default;
        Assert.Equal("/var/lib/fshealer", d.StateDir);
        Assert.Equal(XfsPolicy.Autofsck, d.Global.Xfs);
        Assert.Equal(Ext4Policy.Report, d.Global.Ext4);
        Assert.True(d.Global.BtrfsAutoScrub);
        Assert.Null(d.Global.BtrfsFullScrubInterval);
        Assert.Empty(d.Rules);
        var p = d.PolicyFor(new FsIdentity("/", "ext4"));
        Assert.Equal(Ext4Policy.Report, p.Ext4);
    }

    [Fact]
    public void Partial_and_empty_files_take_defaults_for_the_rest()
    {
        var r = ConfigLoader.Parse("{ \"ext4\": { \"policy\": \"schedule\" } }");
        Assert.True(r.Ok);
        Assert.Equal(Ext4Policy.Schedule, r.Config!.Global.Ext4);
        Assert.Equal(XfsPolicy.Autofsck, r.Config.Global.Xfs);
        Assert.Equal("/var/lib/fshealer", r.Config.StateDir);
        var empty = ConfigLoader.Parse("{}");
        Assert.True(empty.Ok);
        Assert.Equal(EffectivePolicy.Defaults with { Rule = "(global)" }, empty.Config!.Global);
    }

    [Fact]
    public void First_matching_rule_wins_and_overlays_the_global_policy()
    {
        var c = ConfigLoader.Parse(Good).Config!;
        var srv = c.PolicyFor(new FsIdentity("/srv/a/b", "xfs"));
        Assert.Equal("data", srv.Rule);
        Assert.Equal(XfsPolicy.Repair, srv.Xfs);
        Assert.Equal(TimeSpan.FromSeconds(30), srv.PollInterval); // from global
        Assert.Equal(104857600, srv.BtrfsScrubSpeedLimit);        // from global

        var btrfsSrv = c.PolicyFor(new FsIdentity("/srv/pool", "btrfs", "0a1b2c3d-0000"));
        Assert.Equal("data", btrfsSrv.Rule); // first match wins over by-uuid and all-btrfs

        var uuid = c.PolicyFor(new FsIdentity("/pool", "btrfs", "0a1b2c3d-1111"));
        Assert.Equal("by-uuid", uuid.Rule);
        Assert.False(uuid.BtrfsAutoScrub);
        Assert.True(uuid.BtrfsReadOnlyScrub);
        Assert.Equal(TimeSpan.FromDays(7), uuid.BtrfsFullScrubInterval);

        var label = c.PolicyFor(new FsIdentity("/mnt/b", "ext4", null, "backup1"));
        Assert.Equal("labelled", label.Rule);
        Assert.Equal(Ext4Policy.OfflineRepair, label.Ext4);
        Assert.Equal(TimeSpan.FromDays(1), label.FullCheckInterval);
        Assert.Equal("labelled", c.RuleFor(new FsIdentity("/mnt/b", "ext4", null, "backup1"))!.Name);

        // label matches but fs type does not (all criteria must match)
        Assert.Equal("(global)", c.PolicyFor(new FsIdentity("/mnt/b", "xfs", null, "backup1")).Rule);
        // no uuid known: a uuid rule cannot match
        Assert.Equal("all-btrfs", c.PolicyFor(new FsIdentity("/pool", "btrfs")).Rule);
        Assert.Equal(TimeSpan.FromSeconds(5), c.PolicyFor(new FsIdentity("/pool", "btrfs")).PollInterval);
        Assert.Null(c.RuleFor(new FsIdentity("/home", "xfs")));
        Assert.Contains("report only", c.PolicyFor(new FsIdentity("/home", "xfs")).Describe("xfs"));
    }

    [Fact]
    public void The_document_round_trips_and_owned_sections_are_validated_and_kept()
    {
        var c = ConfigLoader.Parse(Good).Config!;
        Assert.NotNull(c.Document.Notify);
        Assert.Equal("127.0.0.1:9464", c.Document.Metrics!.Value.GetProperty("listen").GetString());
        Assert.Equal("127.0.0.1:9464", c.Metrics.Listen);
        Assert.Equal(2, Assert.Single(c.Notify.Policy.Thresholds).Count);
        Assert.Equal(TimeSpan.FromDays(30), c.History.MaxAge);
        Assert.Equal(16L << 20, c.History.MaxBytes);
        var again = ConfigLoader.Parse(c.ToJson());
        Assert.True(again.Ok, string.Join("\n", again.Errors));
        using var a = JsonDocument.Parse(c.ToJson());
        using var b = JsonDocument.Parse(again.Config!.ToJson());
        Assert.Equal(a.RootElement.GetRawText(), b.RootElement.GetRawText());
        Assert.Equal("http://127.0.0.1:9/x", again.Config.Document.Notify!.Value.GetProperty("webhooks")[0].GetProperty("url").GetString());
    }

    [Theory]
    // text, line, column (1-based)
    [InlineData("{\n  \"state_dir\": \"/x\"\n  \"poll_interval_seconds\": 3\n}", 3, 3)]       // missing comma
    [InlineData("{\n  \"poll_interval_seconds\": \"ten\"\n}", 2, 28)]                          // wrong type: at the value
    [InlineData("{\n  \"xfs\": { \"polcy\": \"repair\" }\n}", 2, 12)]                          // typo in a known section: at the key
    [InlineData("{ \"rules\": [ { \"match\": { \"mount_point\": \"/a\" } ", 1, 49)]              // truncated
    [InlineData("[1, 2]", 1, 1)]                                                                // not an object
    public void Syntax_and_type_errors_name_line_and_column(string text, long line, long col)
    {
        var r = ConfigLoader.Parse(text, "bad.json");
        Assert.False(r.Ok);
        var e = Assert.Single(r.Errors);
        Assert.Equal(line, e.Line);
        Assert.Equal(col, e.Column);
        Assert.StartsWith($"bad.json:{line}:{col}", e.ToString());
        Assert.DoesNotContain("Path:", e.Message);
    }

    [Fact]
    public void Semantic_errors_are_all_reported_with_their_json_path()
    {
        const string text = """
            {
              "state_dir": "relative/dir",
              "poll_interval_seconds": -5,
              "xfs": { "policy": "fix-it" },
              "rules": [
                { "match": { "mount_point": "/srv/[abc" }, "ext4": { "policy": "e2fsck" } },
                { "name": "n", "btrfs": { "scrub_speed_limit": -1, "full_scrub_interval_seconds": -2 } },
                { "name": "n", "match": { "fs_type": "xfs" }, "full_check_interval_seconds": -1 }
              ]
            }
            """;
        var r = ConfigLoader.Parse(text, "f.json");
        Assert.False(r.Ok);
        var paths = r.Errors.Select(e => e.JsonPath).ToList();
        Assert.Equal(
            ["$.state_dir", "$.poll_interval_seconds", "$.xfs.policy", "$.rules[0].match.mount_point", "$.rules[0].ext4.policy",
             "$.rules[1].match", "$.rules[1].btrfs.scrub_speed_limit", "$.rules[1].btrfs.full_scrub_interval_seconds",
             "$.rules[2].name", "$.rules[2].full_check_interval_seconds"],
            paths);
        Assert.Contains(r.Errors, e => e.Message.Contains("unknown xfs policy \"fix-it\""));
        Assert.Contains(r.Errors, e => e.Message.Contains("unterminated '['"));
        // every error has the line and column of its value (or of the rule that lacks the key)
        Assert.All(r.Errors, e => Assert.Matches(@"^f\.json:\d+:\d+: \$\.", e.ToString()));
        Assert.Equal((2L, 16L), (r.Errors[0].Line!.Value, r.Errors[0].Column!.Value));
    }

    [Theory]
    [InlineData("/srv/*", "/srv/a", true)]
    [InlineData("/srv/*", "/srv/a/b", false)]
    [InlineData("/srv/**", "/srv/a/b", true)]
    [InlineData("/mnt/disk?", "/mnt/disk1", true)]
    [InlineData("/mnt/disk?", "/mnt/disk10", false)]
    [InlineData("/mnt/[a-c]x", "/mnt/bx", true)]
    [InlineData("/mnt/[!a-c]x", "/mnt/bx", false)]
    [InlineData("/mnt/[!a-c]x", "/mnt/dx", true)]
    [InlineData("/a\\*b", "/a*b", true)]
    [InlineData("/a\\*b", "/axb", false)]
    [InlineData("*", "xfs", true)]
    [InlineData("/", "/", true)]
    [InlineData("/", "/x", false)]
    public void Glob_matches(string pattern, string text, bool expected) => Assert.Equal(expected, Glob.IsMatch(pattern, text));

    [Theory]
    [InlineData("")]
    [InlineData("/a[bc")]
    [InlineData("/a\\")]
    public void Bad_globs_are_rejected(string pattern)
    {
        Assert.NotNull(Glob.Validate(pattern));
        Assert.False(Glob.IsMatch(pattern, pattern));
    }

    [Fact]
    public void Glob_survives_random_patterns()
    {
        var rnd = new Random(6);
        const string alphabet = "/ab*?[]!-\\";
        for (int i = 0; i < 10_000; i++)
        {
            var p = new string(Enumerable.Range(0, rnd.Next(0, 12)).Select(_ => alphabet[rnd.Next(alphabet.Length)]).ToArray());
            var t = new string(Enumerable.Range(0, rnd.Next(0, 10)).Select(_ => alphabet[rnd.Next(3)]).ToArray());
            Glob.IsMatch(p, t); // must not throw
        }
    }

    [Fact]
    public void Garbage_never_throws()
    {
        var rnd = new Random(42);
        var bytes = System.Text.Encoding.UTF8.GetBytes(Good);
        for (int i = 0; i < 3000; i++)
        {
            var b = (byte[])bytes.Clone();
            for (int k = rnd.Next(1, 4); k > 0; k--) b[rnd.Next(b.Length)] = (byte)rnd.Next(32, 127);
            var r = ConfigLoader.Parse(System.Text.Encoding.UTF8.GetString(b));
            Assert.True(r.Ok || r.Errors.Count > 0);
        }
        Assert.False(ConfigLoader.Parse("null").Ok);
        Assert.False(ConfigLoader.Parse("").Ok);
    }

    [Fact]
    public void Reload_keeps_the_old_config_when_the_file_is_broken()
    {
        var dir = Directory.CreateTempSubdirectory("fshealer-config-");
        try
        {
            var path = Path.Combine(dir.FullName, "fshealer.json");
            File.WriteAllText(path, "{ \"ext4\": { \"policy\": \"schedule\" } }");
            var store = FsHealer.Config.Live.ConfigFile.Store(path, out var first);
            Assert.True(first.Ok);
            Assert.Equal(Ext4Policy.Schedule, store.Current.Global.Ext4);

            File.WriteAllText(path, "{ \"ext4\": { \"policy\": \"offline-repair\" }, }");
            Assert.True(store.Reload().Ok);
            Assert.Equal(Ext4Policy.OfflineRepair, store.Current.Global.Ext4);

            File.WriteAllText(path, "{ \"ext4\": { \"policy\": \"report\" \n");
            var bad = store.Reload();
            Assert.False(bad.Ok);
            Assert.NotNull(bad.Errors[0].Line);
            Assert.Equal(Ext4Policy.OfflineRepair, store.Current.Global.Ext4);

            File.WriteAllText(path, "{ \"ext4\": { \"policy\": \"sometimes\" } }");
            var sem = store.Reload();
            Assert.Equal("$.ext4.policy", Assert.Single(sem.Errors).JsonPath);
            Assert.Equal(Ext4Policy.OfflineRepair, store.Current.Global.Ext4);

            File.Delete(path);
            var gone = store.Reload();
            Assert.False(gone.Ok);
            Assert.Contains("cannot read", gone.Errors[0].Message);
            Assert.Equal(Ext4Policy.OfflineRepair, store.Current.Global.Ext4);
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void Example_config_in_packaging_is_valid()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "fshealer.slnx"))) dir = Path.GetDirectoryName(dir);
        Assert.NotNull(dir);
        var r = FsHealer.Config.Live.ConfigFile.Load(Path.Combine(dir, "packaging", "fshealer.json.example"));
        Assert.True(r.Ok, string.Join("\n", r.Errors));
        Assert.NotEmpty(r.Config!.Rules);
    }
}
