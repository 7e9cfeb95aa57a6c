using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace FsHealer.Kernel.Tests.Infra;

/// <summary>
/// The restrictions of a systemd unit's [Service] section, emulated without systemd as PID 1 (this machine has none):
/// capability bounding and ambient sets and no_new_privs with setpriv(1); SystemCallFilter=, SystemCallErrorNumber=
/// and MemoryDenyWriteExecute= with a seccomp filter built from `systemd-analyze syscall-filter`'s own groups
/// (Infra/sandbox/seccomp-exec.c, libseccomp); PrivateNetwork= with a network namespace; ProtectProc=invisible and
/// ProcSubset=pid with a procfs mounted with hidepid=invisible,subset=pid; PrivateTmp= with tmpfs on /tmp and /var/tmp
/// (the last three in a private mount namespace). Not emulated (and so not tested here): the device cgroup, the
/// read-only/inaccessible paths, RestrictAddressFamilies=, RestrictNamespaces=, the UTS namespace.
/// </summary>
public sealed class UnitSandbox
{
    private readonly Dictionary<string, List<string>> _d;
    private UnitSandbox(Dictionary<string, List<string>> d) => _d = d;

    public static UnitSandbox Parse(string unitText)
    {
        var d = new Dictionary<string, List<string>>();
        bool service = false;
        foreach (var raw in unitText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('[')) { service = line == "[Service]"; continue; }
            if (!service || line.Length == 0 || line[0] is '#' or ';') continue;
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var key = line[..eq];
            (d.TryGetValue(key, out var l) ? l : d[key] = []).Add(line[(eq + 1)..]);
        }
        return new UnitSandbox(d);
    }

    public string? Last(string key) => _d.TryGetValue(key, out var l) ? l[^1] : null;
    private bool Yes(string key) => Last(key) is "true" or "yes" or "1" or "on";

    /// <summary>The capabilities of CapabilityBoundingSet= ("cap_sys_admin", ...), or null when not set.</summary>
    public string[]? Bounding => Last("CapabilityBoundingSet")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => c.ToLowerInvariant()).ToArray();
    public string[] Ambient => Last("AmbientCapabilities")?.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(c => c.ToLowerInvariant()).ToArray() ?? [];

    private static readonly Dictionary<string, List<string>> Groups = new();

    /// <summary>The system calls of a group, expanded recursively, as this systemd knows them.</summary>
    public static HashSet<string> Expand(string item)
    {
        if (!item.StartsWith('@')) return [item];
        List<string>? members;
        lock (Groups)
        {
            if (!Groups.TryGetValue(item, out members))
            {
                var r = Sh.Run("systemd-analyze", "syscall-filter", item);
                if (r.Code != 0) throw new InvalidOperationException($"systemd-analyze syscall-filter {item}: {r.Err}");
                members = r.Out.Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#').ToList();
                Groups[item] = members;
            }
        }
        var set = new HashSet<string>();
        foreach (var m in members) set.UnionWith(Expand(m));
        return set;
    }

    /// <summary>The allow list SystemCallFilter= gives (systemd's semantics: the first line decides allow- or deny-list;
    /// later "~" lines remove, later plain lines add). Null when no filter is set or it is a deny list.</summary>
    public HashSet<string>? AllowedSyscalls()
    {
        if (!_d.TryGetValue("SystemCallFilter", out var lines) || lines[0].StartsWith('~')) return null;
        var allowed = new HashSet<string>();
        foreach (var l in lines)
        {
            bool deny = l.StartsWith('~');
            foreach (var item in (deny ? l[1..] : l).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (deny) allowed.ExceptWith(Expand(item)); else allowed.UnionWith(Expand(item));
        }
        return allowed;
    }

    private static string HelperSource([CallerFilePath] string here = "") => Path.Combine(Path.GetDirectoryName(here)!, "sandbox", "seccomp-exec.c");
    private static string? _helper;

    /// <summary>seccomp-exec, compiled once per test run (skips without gcc or libseccomp-dev).</summary>
    public static string Helper()
    {
        if (_helper is not null) return _helper;
        if (Sh.Run("sh", "-c", "command -v gcc && test -f /usr/include/seccomp.h").Code != 0) Assert.Skip("gcc or libseccomp-dev (seccomp.h) missing");
        var dir = Directory.CreateTempSubdirectory("fshealer-seccomp-").FullName;
        var bin = Path.Combine(dir, "seccomp-exec");
        Sh.Check("gcc", "-O2", "-Wall", HelperSource(), "-lseccomp", "-o", bin);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return _helper = bin;
    }

    /// <summary>The command line that runs <paramref name="command"/> under these restrictions. <paramref name="deny"/>:
    /// what a filtered call gets — "kill" (strict: proves the call is never made) or the unit's own
    /// SystemCallErrorNumber= (null). <paramref name="root"/>: run inside this directory (chroot) with /proc, /sys,
    /// /dev and /run bound from the host.</summary>
    public string[] Wrap(IReadOnlyList<string> command, string workDir, string? deny = null, string? root = null)
    {
        Sh.RequireTools("setpriv", "unshare", "systemd-analyze");
        var helper = Helper();
        var script = new List<string> { "set -e" };
        if (root is not null)
            foreach (var m in new[] { "proc", "sys", "dev", "run" })
                script.Add($"mkdir -p {root}/{m} && mount --rbind /{m} {root}/{m} && mount --make-rslave {root}/{m}");
        string r = root ?? "";
        if (Last("ProtectProc") == "invisible" || Last("ProcSubset") == "pid")
        {
            var opts = string.Join(',', new[] { Last("ProtectProc") == "invisible" ? "hidepid=invisible" : null, Last("ProcSubset") == "pid" ? "subset=pid" : null }.Where(o => o is not null));
            script.Add($"mount -t proc -o {opts} proc {r}/proc");
        }
        if (Yes("PrivateTmp")) script.Add($"mount -t tmpfs -o mode=1777 tmpfs {r}/tmp && mount -t tmpfs -o mode=1777 tmpfs {r}/var/tmp");
        var priv = new List<string> { "setpriv" };
        if (Bounding is { } b) priv.Add("--bounding-set=-all," + string.Join(',', b.Select(c => "+" + c.Replace("cap_", ""))));
        if (Ambient.Length > 0)
        {
            var caps = string.Join(',', Ambient.Select(c => "+" + c.Replace("cap_", "")));
            priv.AddRange([$"--inh-caps={caps}", $"--ambient-caps={caps}"]);
        }
        if (Yes("NoNewPrivileges")) priv.Add("--no-new-privs");
        var exec = new List<string>();
        if (root is not null) exec.AddRange(["chroot", root]);
        exec.AddRange(priv);
        if (AllowedSyscalls() is { } allowed)
        {
            var list = Path.Combine(workDir, "syscalls.list");
            var known = Expand("@known");
            File.WriteAllLines(list, allowed.Select(s => "+" + s).Concat(known.Except(allowed).Select(s => "-" + s)));
            var action = deny ?? ErrnoNumber(Last("SystemCallErrorNumber")) ?? "kill";
            // inside a chroot the helper and the list must be inside it: both live in workDir, which is then under root
            string h = helper;
            if (root is not null)
            {
                if (!workDir.StartsWith(root + "/", StringComparison.Ordinal)) throw new ArgumentException($"{workDir} is not inside {root}");
                File.Copy(helper, Path.Combine(workDir, "seccomp-exec"), overwrite: true);
                h = Path.Combine(workDir, "seccomp-exec")[root.Length..];
                list = list[root.Length..];
            }
            exec.AddRange([h, list, action]);
            if (Yes("MemoryDenyWriteExecute")) exec.Add("--mdwe");
            exec.Add("--");
        }
        else if (Yes("MemoryDenyWriteExecute")) throw new InvalidOperationException("MemoryDenyWriteExecute= without SystemCallFilter= is not emulated");
        exec.AddRange(command);
        script.Add("exec \"$@\"");
        var unshare = new List<string> { "unshare", "-m", "--propagation", "slave" };
        if (Yes("PrivateNetwork")) unshare.Add("-n");
        return [.. unshare, "sh", "-c", string.Join("\n", script), "sandbox", .. exec];
    }

    private static string? ErrnoNumber(string? name) => name switch
    {
        null => null,
        "EPERM" => "1",
        "EACCES" => "13",
        "ENOSYS" => "38",
        _ when int.TryParse(name, out _) => name,
        _ => throw new InvalidOperationException($"SystemCallErrorNumber={name} not known to the emulation"),
    };

    /// <summary>Which of these directives a unit sets (names only).</summary>
    public IEnumerable<string> Directives => _d.Keys;

    public static double SecurityScore(string unitPath)
    {
        var r = Sh.Run("systemd-analyze", "security", "--offline=yes", "--no-pager", unitPath);
        var m = Regex.Match(r.Out + r.Err, @"Overall exposure level for \S+: (\d+\.\d)");
        Assert.True(m.Success, $"systemd-analyze security {unitPath}: rc {r.Code}: {r.Out}{r.Err}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
