using System.Diagnostics;
using System.Text.Json;

namespace FsHealer.Scenario.Tests.Cli;

/// <summary>
/// Issue 16, CLI conventions, on the real program (the built assembly under the dotnet host): usage errors exit 64
/// on every subcommand (xfs-healer keeps xfs_healer's codes), --help exits 0, a closed or full standard output is
/// one line and exit 74 (never a stack trace), configuration errors exit 78, status without a daemon is not healthy,
/// history --json without a database is [].
/// </summary>
public sealed class CliConventionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-cli-").FullName;
    private string State => Path.Combine(_dir, "state");
    private string Config => Path.Combine(_dir, "fshealer.json");

    public CliConventionTests() => File.WriteAllText(Config, "{}");
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private static readonly string Dll = typeof(FsHealer.Cli.Program).Assembly.Location;

    public sealed record Result(int Code, string Out, string Err);

    /// <summary>Runs fshealer; <paramref name="redirect"/> is a shell redirection of its stdout (">/dev/full", ">&amp;-").</summary>
    public static Result Fshealer(string[] args, string? redirect = null)
    {
        var psi = new ProcessStartInfo(redirect is null ? "dotnet" : "sh")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (redirect is null) { psi.ArgumentList.Add(Dll); foreach (var a in args) psi.ArgumentList.Add(a); }
        else
        {
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($"exec dotnet \"$0\" \"$@\" {redirect}");
            psi.ArgumentList.Add(Dll);
            foreach (var a in args) psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException(string.Join(' ', args)); }
        return new Result(p.ExitCode, o.Result, e.Result);
    }

    private static void NoStackTrace(Result r) => Assert.DoesNotMatch(@"\n\s+at |Exception", r.Err);

    public static TheoryData<string> UsageErrors() =>
    [
        "status --bogus", "status --json extra", "history --limit many", "history --since soon", "history --class nosuch",
        "config", "config check a b", "config show --bogus", "run --poll-interval often", "run --media-scan-interval monthly",
        "run --media-scan-speed-limit fast", "run --duration -5", "mounts --bogus", "devices --sysfs", "verify-media",
        "verify-media /x --speed-limit fast", "verify-media /x --device tape", "btrfs", "btrfs scrub", "btrfs watch /x --speed-limit fast",
        "btrfs watch /x --full-scrub-interval soon", "ext4-watch", "ext4-watch /x --duration later", "ext4-watch /x --policy fix",
        "xfs-poll", "xfs-poll /x --poll-interval 0", "notify", "notify test --bogus", "healthmon", "healthmon -b x /x", "replay",
        "replay f.bin", "watch", "demo --bogus", "nosuchcommand", "",
    ];

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public void Usage_errors_exit_64(string args)
    {
        var r = Fshealer(args.Length == 0 ? [] : args.Split(' '));
        Assert.True(r.Code == 64, $"fshealer {args}: exit {r.Code}\n{r.Err}{r.Out}");
        Assert.False(string.IsNullOrWhiteSpace(r.Err), "a usage error says what is wrong on stderr");
        NoStackTrace(r);
    }

    [Fact]
    public void Config_check_takes_the_file_as_an_argument_or_as_config_like_run()
    {
        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{ \"rulez\": [] }");
        foreach (var args in new[] { new[] { "config", "check", bad }, ["config", "check", "--config", bad] })
        {
            var r = Fshealer(args);
            Assert.Equal(78, r.Code);
            Assert.Contains("unknown key \"rulez\"", r.Err);
        }
        Assert.Equal(0, Fshealer(["config", "check", "--config", Config]).Code);
        var both = Fshealer(["config", "check", Config, "--config", bad]);
        Assert.Equal(64, both.Code);
        Assert.Contains("two files given", both.Err);
    }

    [Fact]
    public void Xfs_healer_keeps_xfs_healers_own_codes()
    {
        var bad = Fshealer(["xfs-healer", "--bogus"]);
        Assert.NotEqual(64, bad.Code);
        Assert.Equal(1, bad.Code);
        var help = Fshealer(["xfs-healer", "--help"]);
        Assert.Equal(1, help.Code);              // xfs_healer's --help: usage on stderr, exit 1
        Assert.Contains("Usage", help.Err, StringComparison.OrdinalIgnoreCase);
    }

    public static TheoryData<string> HelpCommands()
    {
        var d = new TheoryData<string> { "--help", "config check --help", "config show --help", "btrfs scrub --help", "btrfs watch --help", "notify test --help" };
        foreach (var (name, _) in FsHealer.Cli.Cli.Commands) if (name != "xfs-healer") d.Add($"{name} --help");
        return d;
    }

    [Theory]
    [MemberData(nameof(HelpCommands))]
    public void Help_exits_0_on_every_subcommand(string args)
    {
        var r = Fshealer(args.Split(' '));
        Assert.True(r.Code == 0, $"fshealer {args}: exit {r.Code}\n{r.Err}");
        Assert.Contains("sage", r.Out);       // "Usage:" (System.CommandLine and the raw commands alike)
    }

    [Fact]
    public void The_per_mount_commands_document_their_options_and_healthmon_help_works()
    {
        var w = Fshealer(["watch", "--help"]);
        Assert.Equal(0, w.Code);
        foreach (var opt in new[] { "--config", "--state-dir", "--duration", "--repair", "--offline-repair", "--schedule-fsck", "--poll-interval" })
            Assert.Contains(opt, w.Out);
        Assert.Contains("--policy", Fshealer(["ext4-watch", "--help"]).Out);
        Assert.Contains("--once", Fshealer(["xfs-poll", "--help"]).Out);
        var bw = Fshealer(["btrfs", "watch", "--help"]).Out;
        foreach (var opt in new[] { "--speed-limit", "--full-scrub-interval", "--no-scrub", "--readonly", "--poll-interval", "--state-dir" })
            Assert.Contains(opt, bw);
        var h = Fshealer(["healthmon", "--help"]);
        Assert.Equal(0, h.Code);
        Assert.Contains("-o FILE", h.Out);
    }

    public static TheoryData<string> OutputCommands() =>
    [
        "--help", "status --json", "status", "history", "history --json", "config check", "config show", "mounts", "mounts --json", "devices /",
        "status --help",
    ];

    private string[] WithState(string args)
    {
        var a = args.Split(' ').ToList();
        if (a[0] is "status" or "history" && !a.Contains("--help")) a.AddRange(["--state-dir", State, "--config", Config]);
        if (a[0] == "config" && a.Count > 1) a.AddRange(a[1] == "check" ? [Config] : ["--config", Config]);
        return [.. a];
    }

    [Theory]
    [MemberData(nameof(OutputCommands))]
    public void A_full_standard_output_is_one_line_and_exit_74(string args)
    {
        var r = Fshealer(WithState(args), ">/dev/full");
        Assert.True(r.Code == 74, $"fshealer {args} >/dev/full: exit {r.Code}\n{r.Err}");
        Assert.Equal("fshealer: cannot write to standard output: No space left on device", r.Err.Trim().Split('\n')[^1]);
        NoStackTrace(r);
    }

    [Theory]
    [MemberData(nameof(OutputCommands))]
    public void A_closed_standard_output_is_one_line_and_exit_74(string args)
    {
        var r = Fshealer(WithState(args), ">&-");
        Assert.True(r.Code == 74, $"fshealer {args} >&-: exit {r.Code}\n{r.Err}");
        Assert.Contains("fshealer: standard output is closed", r.Err);
        NoStackTrace(r);
        Assert.False(File.Exists(Path.Combine(State, "history.db")), "nothing was written into a file that took descriptor 1");
    }

    [Fact]
    public void History_json_without_a_database_is_an_empty_list()
    {
        var r = Fshealer(["history", "--json", "--state-dir", State, "--config", Config]);
        Assert.Equal(0, r.Code);
        Assert.Equal("[]", r.Out.Trim());
        var t = Fshealer(["history", "--state-dir", State, "--config", Config]);
        Assert.Equal(0, t.Code);
        Assert.Contains("no history yet", t.Out);
    }

    [Fact]
    public void Status_without_a_daemon_is_not_healthy()
    {
        var r = Fshealer(["status", "--json", "--state-dir", State, "--config", Config]);
        Assert.True(r.Code is 1 or 2, $"exit {r.Code}: {r.Err}");
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.NotEqual("healthy", root.GetProperty("health").GetString());
        Assert.False(root.GetProperty("monitored").GetBoolean());
        Assert.False(root.GetProperty("daemon_running").GetBoolean());
        Assert.Contains(root.GetProperty("problems").EnumerateArray(), e => e.GetString()!.Contains("no fshealer daemon is running"));
        var t = Fshealer(["status", "--state-dir", State, "--config", Config]);
        Assert.Contains("daemon: NOT RUNNING", t.Out);
        Assert.DoesNotContain("overall: healthy", t.Out);
    }

    [Fact]
    public void A_configuration_error_exits_78_and_lists_every_error()
    {
        File.WriteAllText(Config, """{ "rulez": [], "poll_interval": 5, "xfs": { "policy": "fix" } }""");
        var c = Fshealer(["config", "check", Config]);
        Assert.Equal(78, c.Code);
        var lines = c.Err.Trim().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains("$.rulez: unknown key \"rulez\" (did you mean \"rules\"?)", lines[0]);
        Assert.Contains("$.poll_interval: unknown key \"poll_interval\" (did you mean \"poll_interval_seconds\"?)", lines[1]);
        Assert.Contains("$.xfs.policy: unknown xfs policy \"fix\"", lines[2]);
        Assert.Equal("3 errors", lines[3]);
        // run refuses to start with the same errors and 78
        var run = Fshealer(["run", "--config", Config, "--state-dir", State, "--duration", "1s"]);
        Assert.Equal(78, run.Code);
        Assert.Contains("did you mean \"rules\"", run.Err);
        Assert.False(Directory.Exists(State), "nothing started");
        // an invalid notify section refuses run too (it used to start with notifications silently off)
        File.WriteAllText(Config, """{ "notify": { "webhooks": [ { "url": "https://ntfy.sh/x", "format": "ntfyy" } ] } }""");
        var n = Fshealer(["run", "--config", Config, "--state-dir", State, "--duration", "1s"]);
        Assert.Equal(78, n.Code);
        Assert.Contains("$.notify.webhooks[0].format", n.Err);
        Assert.Equal(78, Fshealer(["notify", "test", "--config", Config]).Code);
    }

    [Fact]
    public void Old_option_spellings_still_work_but_are_not_in_the_help()
    {
        var help = Fshealer(["run", "--help"]).Out;
        Assert.Contains("--media-scan-speed-limit", help);
        Assert.DoesNotContain("--media-scan-limit ", help);
        var vm = Fshealer(["verify-media", "--help"]).Out;
        Assert.Contains("--speed-limit", vm);
        Assert.DoesNotContain("--bwlimit", vm);
        var bw = Fshealer(["btrfs", "watch", "--help"]).Out;
        Assert.Contains("--state-dir", bw);
        Assert.DoesNotContain("--state ", bw);
        Assert.DoesNotContain("--limit ", bw);
        Assert.DoesNotContain("--interval ", bw);
        // the old spellings parse (the command then fails on the missing mount, not on the option)
        var old = Fshealer(["verify-media", "/nonexistent-fshealer-test", "--bwlimit", "50M"]);
        Assert.NotEqual(64, old.Code);
        var oldBtrfs = Fshealer(["btrfs", "scrub", "/nonexistent-fshealer-test", "--limit", "50M"]);
        Assert.NotEqual(64, oldBtrfs.Code);
    }
}
