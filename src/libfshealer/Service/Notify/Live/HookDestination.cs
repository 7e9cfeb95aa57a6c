using System.Diagnostics;
using System.Globalization;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Interop;
using FsHealer.Text;

namespace FsHealer.Service.Notify.Live;

/// <summary>
/// ZED-style exec hooks: every executable in the hook directory named <c>all-*</c> runs for every message,
/// <c>&lt;class&gt;-*</c> (e.g. <c>metadata_sick-notify.sh</c>, or the older run-together <c>metadatasick-notify.sh</c>;
/// digest-*, resolved-*, heartbeat-*, test-* for the non-event messages) for one class. Hooks run in name order with an environment built from scratch
/// (FSHEALER_* plus a fixed PATH; nothing inherited), stdin from /dev/null, no file descriptors beyond 0–2, and a
/// timeout after which the hook's process tree is killed. A hook not owned by <see cref="RequiredOwner"/> (root)
/// or writable by group or others is refused, and the refusal says why.
/// </summary>
public sealed class HookDestination(HookSettings settings, Action<string>? log = null) : INotifyDestination
{
    public const string SafePath = "/usr/sbin:/usr/bin:/sbin:/bin";
    public string Name => $"hooks {settings.Dir}";
    /// <summary>Owner uid required of hooks and the directory (root; tests running unprivileged use their own uid).</summary>
    public uint RequiredOwner { get; init; }
    /// <summary>FSHEALER_HOST (the host name, as in the subject).</summary>
    public string Host { get; init; } = System.Environment.MachineName;
    /// <summary>FSHEALER_VERSION.</summary>
    public string Version { get; init; } = "";
    /// <summary>FSHEALER_FS_UUID: the UUID of the filesystem an event is about (mount point, device) → UUID or null.</summary>
    public Func<string, string?, string?>? FsUuid { get; init; }

    private long _eid;

    public sealed record HookRun(string Hook, int? ExitCode, bool TimedOut, string? Refused, string Output);

    public DeliveryResult Send(NotifyMessage m)
    {
        var runs = Run(m);
        if (runs.Count == 0) return DeliveryResult.Success("no hook for this class");
        var bad = runs.Where(r => r.Refused is not null || r.TimedOut || r.ExitCode != 0).ToList();
        string Describe(HookRun r) => r.Refused is not null ? $"{Path.GetFileName(r.Hook)} refused: {r.Refused}"
            : r.TimedOut ? $"{Path.GetFileName(r.Hook)} killed after {settings.Timeout.TotalSeconds:0.#}s timeout"
            : $"{Path.GetFileName(r.Hook)} exit {r.ExitCode}";
        var detail = string.Join("; ", runs.Select(Describe));
        return bad.Count == 0 ? DeliveryResult.Success(detail) : DeliveryResult.Failure(detail);
    }

    /// <summary>The hooks that apply to a message, in name order: all-*, &lt;class&gt;-* and the older spelling of the class.</summary>
    public IReadOnlyList<string> Select(NotifyMessage m, out string? dirProblem) =>
        Select([ClassOf(m), .. m.Kind == NotifyKind.Event && m.Event is { } e && ClassNames.Legacy(e.Class) != ClassOf(m) ? [ClassNames.Legacy(e.Class)] : Array.Empty<string>()], out dirProblem);

    /// <summary>The hooks that apply to a class name, in name order.</summary>
    public IReadOnlyList<string> Select(string className, out string? dirProblem) => Select([className], out dirProblem);

    private IReadOnlyList<string> Select(string[] classNames, out string? dirProblem)
    {
        dirProblem = null;
        if (!Directory.Exists(settings.Dir)) return [];
        dirProblem = CheckOwnership(settings.Dir, isDir: true);
        if (dirProblem is not null) return [];
        try
        {
            return Directory.GetFiles(settings.Dir)
                .Where(f =>
                {
                    var n = Path.GetFileName(f);
                    return !n.StartsWith('.') && !n.EndsWith('~') && (n.StartsWith("all-", StringComparison.Ordinal)
                        || classNames.Any(c => n.StartsWith(c + "-", StringComparison.Ordinal)));
                })
                .Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { dirProblem = ex.Message; return []; }
    }

    public static string ClassOf(NotifyMessage m) => m.Kind switch
    {
        NotifyKind.Event when m.Event is not null => NotificationPolicy.ClassName(m.Event.Class),
        _ => m.Kind.ToString().ToLowerInvariant(),
    };

    public IReadOnlyList<HookRun> Run(NotifyMessage m)
    {
        var hooks = Select(m, out var dirProblem);
        if (dirProblem is not null)
        {
            log?.Invoke($"notify: hook directory {settings.Dir} refused: {dirProblem}");
            return [new HookRun(settings.Dir, null, false, dirProblem, "")];
        }
        var results = new List<HookRun>();
        long eid = Interlocked.Increment(ref _eid);
        foreach (var h in hooks)
        {
            var refused = CheckOwnership(h, isDir: false);
            if (refused is not null)
            {
                log?.Invoke($"notify: hook {h} refused: {refused}");
                results.Add(new HookRun(h, null, false, refused, ""));
                continue;
            }
            results.Add(Exec(h, Environment(m, eid, Host, Version, Uuid(m))));
        }
        return results;
    }

    private string? Uuid(NotifyMessage m)
    {
        var mount = m.Event?.Mount ?? m.Mount;
        if (FsUuid is null || string.IsNullOrEmpty(mount)) return null;
        try { return FsUuid(mount, m.Event?.Device); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { return null; }
    }

    /// <summary>Why a hook (or the directory) must not run, or null.</summary>
    public string? CheckOwnership(string path, bool isDir)
    {
        if (Statx.Get(path, out var st) is int err and not 0)
            return $"stat failed: {Errno.Name(err)} ({Errno.Message(err)})";
        uint uid = st.Uid, mode = st.Mode;
        if (!isDir && st.FileType != Statx.S_IFREG) return "not a regular file";
        if (uid != RequiredOwner) return $"owned by uid {uid}, not {(RequiredOwner == 0 ? "root" : "uid " + RequiredOwner)}";
        if ((mode & 0x12) != 0) return $"mode {Convert.ToString(mode & 0xFFF, 8)} is {((mode & 0x10) != 0 ? "group" : "")}{((mode & 0x12) == 0x12 ? " and " : "")}{((mode & 0x2) != 0 ? "world" : "")}-writable";
        if (!isDir && (mode & 0x49) == 0) return "not executable";
        return null;
    }

    /// <summary>The complete hook environment (nothing else is passed). Names (mount point, device, path, the event's
    /// message) are shown with <see cref="PathBytes.Show"/>: an environment value holds no NUL, and a name that is not
    /// UTF-8 must not turn into another filesystem's name (<c>x\xff</c> arrives as the text <c>x\xff</c>); the subject
    /// and body are display text already.</summary>
    public static Dictionary<string, string> Environment(NotifyMessage m, long eid, string? host = null, string? version = null, string? fsUuid = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var env = new Dictionary<string, string>
        {
            ["PATH"] = SafePath,
            ["FSHEALER_KIND"] = m.Kind.ToString().ToLowerInvariant(),
            ["FSHEALER_CLASS"] = ClassOf(m),
            ["FSHEALER_SEVERITY"] = ClassNames.Of(m.Severity),
            ["FSHEALER_SUBJECT"] = m.Subject,
            ["FSHEALER_MESSAGE"] = m.Event is { } ev ? PathBytes.Show(ev.Message) : m.Body,
            ["FSHEALER_TIME"] = FsHealer.Text.TimeFormat.UtcMillis(m.Event?.Time ?? m.Time),
            ["FSHEALER_TIME_SECS"] = (m.Event?.Time ?? m.Time).ToUnixTimeSeconds().ToString(inv),
            ["FSHEALER_EID"] = eid.ToString(inv),
            ["FSHEALER_PID"] = System.Environment.ProcessId.ToString(inv),
            ["FSHEALER_HOST"] = host ?? System.Environment.MachineName,
        };
        if (!string.IsNullOrEmpty(version)) env["FSHEALER_VERSION"] = version;
        if (m.Mount is not null) env["FSHEALER_MOUNT"] = PathBytes.Show(m.Mount);
        if (!string.IsNullOrEmpty(fsUuid)) env["FSHEALER_FS_UUID"] = fsUuid;
        if (m.Event is { } e)
        {
            env["FSHEALER_MOUNT"] = PathBytes.Show(e.Mount);
            env["FSHEALER_FSTYPE"] = PathBytes.Show(e.FsType);
            if (e.Device is not null) env["FSHEALER_DEVICE"] = PathBytes.Show(FsHealer.Text.DeviceName.AsPath(e.Device)!);
            if (e.Inode is { } ino) env["FSHEALER_INODE"] = ino.ToString(inv);
            if (e.Path is not null) env["FSHEALER_PATH"] = PathBytes.Show(e.Path);
            if (e.Errno is { } n) { env["FSHEALER_ERRNO"] = n.ToString(inv); env["FSHEALER_ERRNO_NAME"] = Errno.Name(n); }
            if (e.Structure is not null) env["FSHEALER_STRUCTURE"] = PathBytes.Show(e.Structure);
            if (e.Count is { } c) env["FSHEALER_COUNT"] = c.ToString(inv);
            if (e.CorrelationId is not null) env["FSHEALER_CORRELATION_ID"] = e.CorrelationId;
        }
        // Values are passed verbatim, but a NUL would truncate them: strip it.
        foreach (var k in env.Keys.ToList()) env[k] = env[k].Replace("\0", "");
        return env;
    }

    private HookRun Exec(string hook, Dictionary<string, string> env)
    {
        var psi = new ProcessStartInfo(hook)
        {
            UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        psi.Environment.Clear();
        foreach (var (k, v) in env) psi.Environment[k] = v;
        FdHygiene.MarkAllCloseOnExec();
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Exception ex) { return new HookRun(hook, null, false, $"cannot start: {ex.Message}", ""); }
        using (p)
        {
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(settings.Timeout))
            {
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                p.WaitForExit(2000);
                return new HookRun(hook, null, true, null, "");
            }
            p.WaitForExit();
            Task.WaitAll([stdout, stderr], 2000);
            var output = (stdout.IsCompletedSuccessfully ? stdout.Result : "") + (stderr.IsCompletedSuccessfully ? stderr.Result : "");
            if (p.ExitCode != 0) log?.Invoke($"notify: hook {hook} exited {p.ExitCode}: {Trim(output)}");
            return new HookRun(hook, p.ExitCode, false, null, output);
        }
    }

    private static string Trim(string s) => s.Length > 300 ? s[..300] + "..." : s.Trim();
}

/// <summary>Child processes must not inherit the daemon's descriptors (fanotify groups, health monitors, sockets):
/// .NET opens its own with O_CLOEXEC, but P/Invoke opens may not. Before spawning, every fd above 2 is marked
/// FD_CLOEXEC (the daemon never relies on passing descriptors through exec).</summary>
public static class FdHygiene
{
    public static void MarkAllCloseOnExec()
    {
        string[] fds;
        try { fds = Directory.GetFileSystemEntries("/proc/self/fd"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return; }
        foreach (var f in fds)
        {
            if (!int.TryParse(Path.GetFileName(f), out int fd) || fd <= 2) continue;
            Libc.MarkCloseOnExec(fd);
        }
    }
}
