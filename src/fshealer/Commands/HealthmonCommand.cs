using System.CommandLine;
using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Cli.Commands;

/// <summary>
/// `fshealer healthmon [-b bufsize] [-c] [-d delay_ms] [-p] [-v] [-o FILE] MOUNTPOINT` — like `xfs_io -c healthmon`:
/// dump health monitor events in xfs_healer's format (no path lookup). -o also records the raw 64-byte records
/// to FILE for `fshealer replay`.
/// </summary>
public static class HealthmonCommand
{
    public static Command Create()
    {
        var cmd = new Command("healthmon", "Dump XFS health monitor events (like xfs_io healthmon): -b bufsize, -c (don't pin the mount), -d delay_ms, -p (probe), -v (verbose), -o FILE (record raw records).");
        cmd.TreatUnmatchedTokensAsErrors = false;
        return cmd;
    }

    public const string Usage = "Usage: fshealer healthmon [-b bufsize] [-c] [-d delay_ms] [-p] [-v] [-o FILE] MOUNTPOINT";

    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Any(a => a is "--help" or "-h"))
        {
            Console.Out.WriteLine(Usage);
            Console.Out.WriteLine("""

                Dump XFS health monitor events of the filesystem at MOUNTPOINT (Linux 7.0), like xfs_io -c healthmon:
                  -b bufsize   read buffer size in bytes (default 4096)
                  -c           do not keep the mount pinned (always the case: the mount is closed once the monitor is open)
                  -d delay_ms  sleep this long between reads
                  -p           only probe whether the health monitor can be opened (exit 0 yes, 1 no)
                  -v           verbose: also the events the kernel filters by default
                  -o FILE      also record the raw 64-byte records to FILE (for fshealer replay)
                Exit status: 0 at the end of the stream, 1 on an error, 64 on a usage error.
                """);
            return 0;
        }
        int bufsize = 4096, delay = 0;
        bool probe = false, verbose = false;
        string? path = null, record = null;
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            string? Next() => i + 1 < args.Count ? args[++i] : null;
            switch (a)
            {
                case "-b": if (!int.TryParse(Next(), out bufsize) || bufsize < 1) return Bad("non-numeric bufsize argument"); break;
                case "-d": if (!int.TryParse(Next(), out delay) || delay < 0) return Bad("non-numeric delay argument"); break;
                case "-c": break; // the mount fd is always closed right after the monitor is opened
                case "-p": probe = true; break;
                case "-v": verbose = true; break;
                case "-o": record = Next() ?? ""; if (record.Length == 0) return Bad("-o needs a file"); break;
                default:
                    if (a.StartsWith('-')) return Bad($"invalid option -- '{a.TrimStart('-')}'");
                    if (path is not null) return Bad("bad argument count");
                    path = a;
                    break;
            }
        }
        if (path is null) return Bad("bad argument count");

        using var root = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY, out int err);
        if (root.IsInvalid) { Console.Error.WriteLine($"{path}: {Errno.Message(err)}"); return 1; }
        using var mon = XfsIoctl.OpenHealthMonitor(root, verbose, out err);
        root.Dispose(); // never pin the mount
        if (mon.IsInvalid) { Console.Error.WriteLine($"XFS_IOC_HEALTH_MONITOR: {Errno.Message(err)}"); return 1; }
        if (probe) return 0;

        using var rec = record is null ? null : File.Create(record);
        var buf = new byte[Math.Max(HealthMonitorEvent.Size, bufsize)];
        int have = 0;
        var stdout = Console.Out;
        if (delay > 0) Thread.Sleep(delay);
        while (true)
        {
            int n = Libc.Read(mon, buf.AsSpan(have));
            if (n < 0) { Console.Error.WriteLine($"healthmon: {Errno.Message(-n)}"); return 1; }
            if (n == 0) break;
            have += n;
            int off = 0;
            while (have - off >= HealthMonitorEvent.Size)
            {
                var e = HealthMonitorEvent.Decode(buf.AsSpan(off, HealthMonitorEvent.Size));
                rec?.Write(buf, off, HealthMonitorEvent.Size);
                off += HealthMonitorEvent.Size;
                if (XfsEventFormatter.FormatEvent(e, path) is { } line) stdout.WriteLine(line);
                else Console.Error.WriteLine($"{path}: unrecognised health event ({XfsEventFormatter.Describe(e)})");
            }
            stdout.Flush();
            Buffer.BlockCopy(buf, off, buf, 0, have - off);
            have -= off;
            if (delay > 0) Thread.Sleep(delay);
        }
        if (have > 0) Console.WriteLine($"healthmon: {have} bytes remain?");
        return 0;

        static int Bad(string msg)
        {
            Console.Error.WriteLine($"healthmon: {msg}");
            Console.Error.WriteLine(Usage);
            return FsHealer.Cli.ExitCodes.Usage;
        }
    }
}
