using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;
using FsHealer.Interop;

namespace FsHealer.Service.Notify.Live;

/// <summary>
/// ZED-style exec hooks: every executable in the hook directory named <c>all-*</c> runs for every message,
/// <c>&lt;class&gt;-*</c> (e.g. <c>metadatasick-notify.sh</c>; digest-*, resolved-*, heartbeat-*, test-* for the
/// non-event messages) for one class. Hooks run in name order with an environment built from scratch
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

    /// <summary>The hooks that apply to a class name, in name order.</summary>
    public IReadOnlyList<string> Select(string className, out string? dirProblem)
    {
        dirProblem = null;
        if (!Directory.Exists(settings.Dir)) return [];
        dirProblem = CheckOwnership(settings.Dir, isDir: true);
        if (dirProblem is not null) return [];
        try
        {
            return Directory.GetFiles(settings.Dir)
                .Where(f => { var n = Path.GetFileName(f); return !n.StartsWith('.') && !n.EndsWith('~') && (n.StartsWith("all-", StringComparison.Ordinal) || n.StartsWith(className + "-", StringComparison.Ordinal)); })
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
        var hooks = Select(ClassOf(m), out var dirProblem);
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
            results.Add(Exec(h, Environment(m, eid)));
        }
        return results;
    }

    /// <summary>Why a hook (or the directory) must not run, or null.</summary>
    public string? CheckOwnership(string path, bool isDir)
    {
        if (FileStat.Get(path, out uint uid, out uint mode) is int err and not 0)
            return $"stat failed: {FsHealer.Text.Errno.Name(err)} ({FsHealer.Text.Errno.Message(err)})";
        if (!isDir && (mode & 0xF000) != 0x8000) return "not a regular file";
        if (uid != RequiredOwner) return $"owned by uid {uid}, not {(RequiredOwner == 0 ? "root" : "uid " + RequiredOwner)}";
        if ((mode & 0x12) != 0) return $"mode {Convert.ToString(mode & 0xFFF, 8)} is {((mode & 0x10) != 0 ? "group" : "")}{((mode & 0x12) == 0x12 ? " and " : "")}{((mode & 0x2) != 0 ? "world" : "")}-writable";
        if (!isDir && (mode & 0x49) == 0) return "not executable";
        return null;
    }

    /// <summary>The complete hook environment (nothing else is passed).</summary>
    public static Dictionary<string, string> Environment(NotifyMessage m, long eid)
    {
        var inv = CultureInfo.InvariantCulture;
        var env = new Dictionary<string, string>
        {
            ["PATH"] = SafePath,
            ["FSHEALER_KIND"] = m.Kind.ToString().ToLowerInvariant(),
            ["FSHEALER_CLASS"] = ClassOf(m),
            ["FSHEALER_SEVERITY"] = m.Severity.ToString().ToLowerInvariant(),
            ["FSHEALER_SUBJECT"] = m.Subject,
            ["FSHEALER_MESSAGE"] = m.Event?.Message ?? m.Body,
            ["FSHEALER_TIME"] = (m.Event?.Time ?? m.Time).ToString("O", inv),
            ["FSHEALER_TIME_SECS"] = (m.Event?.Time ?? m.Time).ToUnixTimeSeconds().ToString(inv),
            ["FSHEALER_EID"] = eid.ToString(inv),
            ["FSHEALER_PID"] = System.Environment.ProcessId.ToString(inv),
        };
        if (m.Mount is not null) env["FSHEALER_MOUNT"] = m.Mount;
        if (m.Event is { } e)
        {
            env["FSHEALER_MOUNT"] = e.Mount;
            env["FSHEALER_FSTYPE"] = e.FsType;
            if (e.Device is not null) env["FSHEALER_DEVICE"] = e.Device;
            if (e.Inode is { } ino) env["FSHEALER_INODE"] = ino.ToString(inv);
            if (e.Path is not null) env["FSHEALER_PATH"] = e.Path;
            if (e.Errno is { } n) { env["FSHEALER_ERRNO"] = n.ToString(inv); env["FSHEALER_ERRNO_NAME"] = FsHealer.Text.Errno.Name(n); }
            if (e.Structure is not null) env["FSHEALER_STRUCTURE"] = e.Structure;
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
    private const int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;

    public static void MarkAllCloseOnExec()
    {
        string[] fds;
        try { fds = Directory.GetFileSystemEntries("/proc/self/fd"); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return; }
        foreach (var f in fds)
        {
            if (!int.TryParse(Path.GetFileName(f), out int fd) || fd <= 2) continue;
            int flags = Libc.fcntl(fd, F_GETFD, 0);
            if (flags >= 0 && (flags & FD_CLOEXEC) == 0) Libc.fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
    }
}

/// <summary>statx(2) for owner and mode (follows symlinks). Returns 0 or errno.</summary>
public static class FileStat
{
    public const uint S_IFMT = 0xF000, S_IFSOCK = 0xC000, S_IFREG = 0x8000;
    public static unsafe int Get(string path, out uint uid, out uint mode)
    {
        const uint STATX_MODE = 0x2, STATX_UID = 0x8;
        byte* buf = stackalloc byte[256];
        new Span<byte>(buf, 256).Clear();
        var p = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        nint r;
        fixed (byte* pp = p) r = Libc.syscall(Statx.SYS_statx, Libc.AT_FDCWD, (nint)pp, 0, (nint)(STATX_MODE | STATX_UID), (nint)buf);
        if (r < 0) { uid = mode = 0; return Libc.LastErrno; }
        var s = new ReadOnlySpan<byte>(buf, 256);
        uid = BinaryPrimitives.ReadUInt32LittleEndian(s[0x14..]);
        mode = BinaryPrimitives.ReadUInt16LittleEndian(s[0x1c..]);
        return 0;
    }

}
