using System.Runtime.InteropServices;
using FsHealer.Text;
using System.Collections;

namespace FsHealer.Interop;

/// <summary>
/// Runs a program with byte-exact arguments: posix_spawnp(3) with argv and envp encoded by
/// <see cref="PathBytes.Encode"/>. System.Diagnostics.Process encodes arguments as UTF-8 with replacement, so a mount
/// point that is not UTF-8 (<c>x\xff</c>) would reach mount(8) or e2fsck(8) as <c>x\uFFFD</c> — the name of another
/// directory. The child gets stdin from /dev/null, stdout and stderr on one pipe (returned decoded byte-exactly), its
/// own process group (so a timeout kills the tool and everything it started), and default signal dispositions and an
/// empty signal mask (the .NET runtime ignores SIGPIPE; a tool must not inherit that).
/// </summary>
public static unsafe partial class Spawn
{
    /// <summary>Exit status (the signal number + 128 when killed by a signal, -1 when it could not run or timed out),
    /// whether the timeout killed it, its combined output, and why it could not run (null when it ran).</summary>
    public sealed record Result(int Exit, bool TimedOut, string Output, string? Error);

    private const int POSIX_SPAWN_SETPGROUP = 0x02, POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
    private const int FileActionsSize = 80, AttrSize = 336, SigsetSize = 128; // glibc x86_64/arm64 sizes, rounded up

    [LibraryImport("libc", EntryPoint = "posix_spawnp")]
    private static partial int posix_spawnp(int* pid, byte* file, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_init")]
    private static partial int file_actions_init(void* fa);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_destroy")]
    private static partial int file_actions_destroy(void* fa);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_adddup2")]
    private static partial int file_actions_adddup2(void* fa, int fd, int newfd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addclose")]
    private static partial int file_actions_addclose(void* fa, int fd);

    [LibraryImport("libc", EntryPoint = "posix_spawn_file_actions_addopen")]
    private static partial int file_actions_addopen(void* fa, int fd, byte* path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_init")]
    private static partial int attr_init(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_destroy")]
    private static partial int attr_destroy(void* attr);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setflags")]
    private static partial int attr_setflags(void* attr, short flags);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setpgroup")]
    private static partial int attr_setpgroup(void* attr, int pgroup);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigmask")]
    private static partial int attr_setsigmask(void* attr, void* set);

    [LibraryImport("libc", EntryPoint = "posix_spawnattr_setsigdefault")]
    private static partial int attr_setsigdefault(void* attr, void* set);

    [LibraryImport("libc", EntryPoint = "sigemptyset")]
    private static partial int sigemptyset(void* set);

    [LibraryImport("libc", EntryPoint = "sigfillset")]
    private static partial int sigfillset(void* set);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int waitpid(int pid, int* status, int options);

    /// <summary>Run <paramref name="program"/> (looked up in PATH) with <paramref name="args"/>; the environment is
    /// this process's plus <paramref name="environment"/> (which wins). Waits at most <paramref name="timeout"/>, then
    /// kills the child's process group. Never throws for a failing program.</summary>
    public static Result Run(string program, IReadOnlyList<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var argv = new List<string>(args.Count + 1) { program };
        argv.AddRange(args);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (e.Key is string k && e.Value is string v) env[k] = v;
        if (environment is not null) foreach (var (k, v) in environment) env[k] = v;
        foreach (var a in argv)
            if (a.Contains('\0')) return new Result(-1, false, "", $"{PathBytes.Show(program)}: an argument contains a NUL byte");

        var blocks = new List<nint>();
        byte* Native(string s)
        {
            var b = PathBytes.Encode(s);
            var p = (byte*)NativeMemory.Alloc((nuint)b.Length + 1);
            b.CopyTo(new Span<byte>(p, b.Length));
            p[b.Length] = 0;
            blocks.Add((nint)p);
            return p;
        }
        byte** Vector(IReadOnlyList<string> items)
        {
            var v = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(nint));
            blocks.Add((nint)v);
            for (int i = 0; i < items.Count; i++) v[i] = Native(items[i]);
            v[items.Count] = null;
            return v;
        }

        var (read, write) = Libc.Pipe();
        byte* fa = stackalloc byte[FileActionsSize];
        byte* attr = stackalloc byte[AttrSize];
        byte* sigs = stackalloc byte[SigsetSize];
        bool faInit = false, attrInit = false, rAdded = false, wAdded = false;
        int pid = 0;
        try
        {
            read.DangerousAddRef(ref rAdded);
            write.DangerousAddRef(ref wAdded);
            int r = (int)read.DangerousGetHandle(), w = (int)write.DangerousGetHandle();
            byte** argvN = Vector(argv);
            byte** envN = Vector(env.Select(kv => $"{kv.Key}={kv.Value}").ToList());
            faInit = file_actions_init(fa) == 0;
            attrInit = attr_init(attr) == 0;
            int rc = !faInit || !attrInit ? Errno.ENOMEM
                : file_actions_addopen(fa, 0, Native("/dev/null"), Libc.O_RDONLY, 0) is int e1 and not 0 ? e1
                : file_actions_adddup2(fa, w, 1) is int e2 and not 0 ? e2
                : file_actions_adddup2(fa, w, 2) is int e3 and not 0 ? e3
                : file_actions_addclose(fa, r) is int e4 and not 0 ? e4
                : file_actions_addclose(fa, w) is int e5 and not 0 ? e5
                : attr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) is int e6 and not 0 ? e6
                : attr_setpgroup(attr, 0) is int e7 and not 0 ? e7
                : sigemptyset(sigs) != 0 || attr_setsigmask(attr, sigs) != 0 ? Errno.EINVAL
                : sigfillset(sigs) != 0 || attr_setsigdefault(attr, sigs) != 0 ? Errno.EINVAL
                : posix_spawnp(&pid, argvN[0], fa, attr, argvN, envN);
            if (rc != 0) return new Result(-1, false, "", $"{PathBytes.Show(program)}: posix_spawnp: {Errno.Name(rc)}: {Errno.Message(rc)}");
        }
        finally
        {
            if (faInit) file_actions_destroy(fa);
            if (attrInit) attr_destroy(attr);
            foreach (var p in blocks) NativeMemory.Free((void*)p);
            if (wAdded) write.DangerousRelease();
            if (rAdded) read.DangerousRelease();
            write.Dispose(); // the child has its copy; EOF on the read end once it (and what it started) exit
        }
        using (read)
        {
            var output = new MemoryStream();
            var buf = new byte[16384];
            var deadline = DateTime.UtcNow + timeout;
            bool timedOut = false;
            while (true)
            {
                int left = (int)Math.Clamp((deadline - DateTime.UtcNow).TotalMilliseconds, 0, int.MaxValue);
                int ev = left == 0 ? 0 : Poll.Wait(read, Poll.POLLIN, left);
                if (ev == 0) { timedOut = true; break; }
                if (ev < 0) break;
                int n = Libc.Read(read, buf);
                if (n <= 0) break;
                output.Write(buf, 0, n);
            }
            if (timedOut) Libc.Kill(-pid, Libc.SIGKILL); // the whole group: the tool and anything it started
            int status = 0;
            while (waitpid(pid, &status, 0) < 0 && Libc.LastErrno == Errno.EINTR) { }
            string text = PathBytes.Decode(output.GetBuffer().AsSpan(0, (int)output.Length));
            if (timedOut) return new Result(-1, true, text, $"{PathBytes.Show(program)}: timed out after {timeout.TotalSeconds:0.#} s; its process group was killed");
            int exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            return new Result(exit, false, text, null);
        }
    }

    /// <summary>True when a process group still has members (kill(-pgid, 0) succeeds).</summary>
    public static bool GroupAlive(int pgid) => Libc.Kill(-pgid, 0) != Errno.ESRCH;
}
