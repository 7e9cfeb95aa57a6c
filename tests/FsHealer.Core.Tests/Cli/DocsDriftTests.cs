using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FsHealer.Core.Tests.Cli;

/// <summary>
/// The man page and the bash completion cannot drift from the CLI: every command path's `--help` (run as a real
/// process) is read for its options and subcommands, and each must be in that command's section of fshealer(8)
/// (".SS fshealer PATH") and be offered by the completion (bash runs _fshealer with COMP_WORDS set). The man pages
/// are lint-clean (`mandoc -T lint`) and dated YYYY-MM-DD.
/// </summary>
public class DocsDriftTests
{
    private static string Root()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "fshealer.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static (int Code, string Out) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), $"{file} {string.Join(' ', args)} did not finish");
        return (p.ExitCode, o.Result + e.Result);
    }

    private static readonly string[] HelpOptions = ["-?", "-h", "--help"];

    /// <summary>Options and subcommands a command's help names: the "Options:" and "Commands:" sections of
    /// System.CommandLine's help, and for the commands that parse their own arguments (xfs_healer style) the
    /// options of their usage line.</summary>
    private static (List<string> Options, List<string> Subcommands) FromHelp(string help)
    {
        var options = new List<string>();
        var subs = new List<string>();
        string? section = null;
        foreach (var line in help.Split('\n'))
        {
            if (Regex.IsMatch(line, @"^\S.*:\s*$")) { section = line.Trim(); continue; }
            if (line.StartsWith("Usage:", StringComparison.Ordinal) || line.Contains("healthmon: invalid option") || section is null)
            {
                // a usage line: [-b bufsize] [--outcome X]... --mount PATH
                foreach (Match m in Regex.Matches(line, @"(?<=[\s\[])(--?[A-Za-z][\w-]*)")) options.Add(m.Groups[1].Value);
                continue;
            }
            var m2 = Regex.Match(line, @"^\s{2}(\S.*?)(\s{2,}|$)");
            if (!m2.Success) continue;
            if (section == "Options:")
                foreach (var o in m2.Groups[1].Value.Split(", ")) options.Add(o.Split(' ')[0]);
            else if (section == "Commands:")
                subs.Add(m2.Groups[1].Value.Split(' ')[0]);
        }
        return (options.Where(o => !HelpOptions.Contains(o)).Distinct().ToList(), subs.Distinct().ToList());
    }

    private static readonly Lazy<Dictionary<string, (List<string> Options, List<string> Subcommands)>> Tree = new(() =>
    {
        var dll = typeof(FsHealer.Cli.Program).Assembly.Location;
        var result = new Dictionary<string, (List<string>, List<string>)>();
        var todo = new Queue<string>(FsHealer.Cli.Cli.Commands.Select(c => c.Name));
        while (todo.TryDequeue(out var path))
        {
            var (_, help) = Run("dotnet", [dll, .. path.Split(' '), "--help"]);
            var parsed = FromHelp(help);
            result[path] = parsed;
            foreach (var s in parsed.Subcommands) todo.Enqueue($"{path} {s}");
        }
        return result;
    });

    private static string Unescape(string roff) => roff.Replace("\\-", "-").Replace("\\(em", "-");

    private static Dictionary<string, string> ManSections(string man)
    {
        var sections = new Dictionary<string, string>();
        string? current = null;
        var sb = new System.Text.StringBuilder();
        foreach (var raw in man.Split('\n'))
        {
            if (raw.StartsWith(".SS ", StringComparison.Ordinal) || raw.StartsWith(".SH ", StringComparison.Ordinal))
            {
                if (current is not null) sections[current] = sb.ToString();
                sb.Clear();
                current = raw.StartsWith(".SS ", StringComparison.Ordinal) ? Unescape(raw[4..].Trim('"', ' ')) : null;
                continue;
            }
            sb.Append(Unescape(raw)).Append('\n');
        }
        if (current is not null) sections[current] = sb.ToString();
        return sections;
    }

    [Fact]
    public void Every_command_and_option_of_the_CLI_is_in_the_man_page()
    {
        var man = File.ReadAllText(Path.Combine(Root(), "packaging/man/fshealer.8"));
        var sections = ManSections(man);
        var missing = new List<string>();
        foreach (var (path, (options, subs)) in Tree.Value)
        {
            if (subs.Count > 0) continue; // a group (config, btrfs, notify): its subcommands have the sections
            if (!sections.TryGetValue($"fshealer {path}", out var text)) { missing.Add($"no section \".SS fshealer {path}\""); continue; }
            foreach (var o in options)
                if (!Regex.IsMatch(text, $@"(?<![\w-]){Regex.Escape(o)}(?![\w-])")) missing.Add($"fshealer {path}: {o}");
        }
        Assert.True(missing.Count == 0, "fshealer(8) lacks:\n" + string.Join("\n", missing));
        // and no section for a command that does not exist
        foreach (var s in sections.Keys.Where(k => k.StartsWith("fshealer ", StringComparison.Ordinal)))
            Assert.True(Tree.Value.ContainsKey(s["fshealer ".Length..]), $"fshealer(8) has a section for \"{s}\", which the CLI does not have");
        Assert.True(Tree.Value.Count >= 20, $"{Tree.Value.Count} command paths");
    }

    [Fact]
    public void Bash_completion_offers_every_command_and_option()
    {
        if (!File.Exists("/bin/bash")) Assert.Skip("bash is not installed");
        var completion = Path.Combine(Root(), "packaging/completion/fshealer.bash");
        string[] Complete(params string[] words)
        {
            var quoted = string.Join(' ', words.Select(w => $"'{w}'"));
            var script = $"source '{completion}'; COMP_WORDS=(fshealer {quoted}); COMP_CWORD={words.Length}; _fshealer; printf '%s\\n' \"${{COMPREPLY[@]}}\"";
            var (code, output) = Run("/bin/bash", "--norc", "-c", script);
            Assert.True(code == 0, output);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        var missing = new List<string>();
        var top = Complete("");
        foreach (var (name, _) in FsHealer.Cli.Cli.Commands)
            if (!top.Contains(name)) missing.Add($"command {name}");
        foreach (var (path, (options, subs)) in Tree.Value)
        {
            var words = path.Split(' ');
            if (subs.Count > 0)
            {
                var offered = Complete([.. words, ""]);
                foreach (var s in subs) if (!offered.Contains(s)) missing.Add($"fshealer {path} {s}");
                continue;
            }
            var opts = Complete([.. words, "-"]);
            foreach (var o in options) if (!opts.Contains(o)) missing.Add($"fshealer {path}: {o}");
        }
        Assert.True(missing.Count == 0, "the bash completion does not offer:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void Man_pages_are_dated_and_lint_clean()
    {
        foreach (var page in new[] { "packaging/man/fshealer.8", "packaging/man/fshealer.json.5" })
        {
            var path = Path.Combine(Root(), page);
            var th = File.ReadLines(path).First(l => l.StartsWith(".TH ", StringComparison.Ordinal));
            Assert.Matches(@"^\.TH \S+ [1-8] ""?\d{4}-\d{2}-\d{2}""? ", th);
            if (!File.Exists("/usr/bin/mandoc")) continue;
            var (code, output) = Run("/usr/bin/mandoc", "-T", "lint", "-W", "all", path);
            Assert.True(code == 0 && output.Trim().Length == 0, $"mandoc -T lint {page}: rc {code}\n{output}");
        }
        if (!File.Exists("/usr/bin/mandoc")) Assert.Skip("mandoc is not installed (apt-get install mandoc): dates checked, lint skipped");
    }
}
