using System.CommandLine;
using System.Diagnostics;
using FsHealer.Kmsg;
using FsHealer.Text;
using FsHealer.Xfs;
using FsHealer.Interop;
using FsHealer.Healing.Live;
using FsHealer.Service;
using FsHealer.Xfs.Live;

namespace FsHealer.Cli.Commands;

/// <summary>
/// `fshealer xfs-poll MOUNTPOINT [--interval S] [--once]`: health polling for XFS on kernels without the 7.0 health
/// monitor. `--once` polls once and prints the synthesized monitor events in xfs_healer's log format on stdout (a
/// diagnostic). Without it, it is `fshealer watch` for one XFS with this poll interval: the daemon's watcher, policy,
/// healing pipeline and output; it ends when the filesystem is unmounted.
/// </summary>
public static class XfsPollCommand
{
    public static Command Create()
    {
        var mount = new Argument<string>("mountpoint") { Description = "XFS mount point to poll" };
        var interval = CliOptions.Duration("--poll-interval", "Time between polls (default 10s; e.g. 30s, 5m)", min: TimeSpan.FromMilliseconds(1), max: TimeSpan.FromDays(1));
        var once = new Option<bool>("--once") { Description = "Poll once, print, exit" };
        var budget = new Option<int>("--inode-budget") { Description = "Most inodes bulkstatted per poll (0 = all; the walk resumes next poll)" };
        var cmd = new Command("xfs-poll", "Poll XFS health (sick bits, shutdown, kernel log) where the kernel has no health monitor");
        cmd.Arguments.Add(mount);
        cmd.Options.Add(interval);
        cmd.Options.Add(once);
        cmd.Options.Add(budget);
        var intervalOld = CliOptions.HiddenAlias(cmd, CliOptions.Duration("--interval", "", min: TimeSpan.FromMilliseconds(1), max: TimeSpan.FromDays(1)));
        cmd.SetAction(pr =>
        {
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler h = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += h;
            try
            {
                return Run(pr.GetValue(mount)!, (CliOptions.Get(pr, interval, intervalOld) ?? TimeSpan.FromSeconds(10)).TotalSeconds, pr.GetValue(once), pr.GetValue(budget), Console.Out, Console.Error, cts.Token);
            }
            finally { Console.CancelKeyPress -= h; }
        });
        return cmd;
    }

    /// <summary>Exit codes: 0 done (once, unmounted, shut down or cancelled), 1 the mount cannot be polled, 64 bad arguments.</summary>
    public static int Run(string mountPoint, double intervalSeconds, bool once, int inodeBudget, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!(intervalSeconds > 0) || intervalSeconds > 86400) { error.WriteLine($"xfs-poll: --poll-interval must be in (0, 86400] seconds, got {intervalSeconds}"); return ExitCodes.Usage; }
        if (inodeBudget < 0) { error.WriteLine("xfs-poll: --inode-budget must be >= 0"); return ExitCodes.Usage; }
        mountPoint = Path.GetFullPath(mountPoint);
        if (mountPoint.Length > 1) mountPoint = mountPoint.TrimEnd('/');

        var support = XfsHealthPoller.ProbeSupport(mountPoint, out var probeDiag);
        if (probeDiag is not null) { error.WriteLine($"xfs-poll: {probeDiag}"); return 1; }
        var note = support.Note(mountPoint);
        if (note is not null) error.WriteLine($"xfs-poll: {note}");

        if (!once) return RunWatch(mountPoint, intervalSeconds, output, error, ct);

        var poller = new XfsHealthPoller(mountPoint, new XfsPollOptions { InodeBudget = inodeBudget });
        using var kmsg = KmsgReader.Open(out var kmsgDiag);
        if (kmsg is null) error.WriteLine($"xfs-poll: kernel log not watched ({kmsgDiag}); shutdown reasons will be unknown");
        else if (poller.Device is null) error.WriteLine($"xfs-poll: {mountPoint}: device not found in /proc/self/mountinfo; kernel log lines cannot be matched");

        bool first = true;
        var lastPoll = Stopwatch.StartNew();
        while (!ct.IsCancellationRequested)
        {
            poller.DrainKernelLog(kmsg, d => error.WriteLine($"xfs-poll: {d}"));
            var r = poller.Poll(NowNs());
            lastPoll.Restart();
            foreach (var e in r.Events)
            {
                var line = XfsEventFormatter.FormatEvent(e, mountPoint);
                if (line is not null) output.WriteLine(line);
            }
            foreach (var (ino, errno) in r.NewUnreadableInodes)
                error.WriteLine($"xfs-poll: {mountPoint} ino {ino}: unreadable (XFS_IOC_BULKSTAT: {Errno.Name(errno)}, {Errno.Message(errno)}); no sick bit records this, offline xfs_repair needed");
            foreach (var d in r.Diagnostics) error.WriteLine($"xfs-poll: {d}");
            output.Flush();
            if (first && !r.Complete && !r.ShutDown) return 1;
            first = false;
            if (once || r.ShutDown || r.Events.Exists(e => e.Type == HealthEventType.Unmount)) return 0;

            // wait for the interval, or less when the kernel log names this filesystem (at most one triggered poll per second)
            bool triggered = false;
            while (!ct.IsCancellationRequested && lastPoll.Elapsed.TotalSeconds < intervalSeconds)
            {
                if (poller.DrainKernelLog(kmsg, d => error.WriteLine($"xfs-poll: {d}"))) triggered = true;
                if (triggered && lastPoll.Elapsed.TotalSeconds >= 1) break;
                ct.WaitHandle.WaitOne(200);
            }
        }
        return 0;
    }

    /// <summary>The daemon restricted to this XFS (per-mount mode), its console on the given writers.</summary>
    private static int RunWatch(string mountPoint, double intervalSeconds, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var console = new TextWriterConsole(output, error);
        var store = FsHealer.Config.Live.ConfigFile.Store(null, out var first);
        if (!first.Ok) foreach (var e in first.Errors) console.Err($"fshealer: configuration: {e} (using the built-in defaults)");
        var opts = new DaemonOptions
        {
            StateDir = store.Current.StateDir, Only = new HashSet<string> { mountPoint }, OnlyType = "xfs",
            PollInterval = TimeSpan.FromSeconds(intervalSeconds),
        };
        var daemon = new FsHealerDaemon(opts, console, Watchers.Factories, store);
        return daemon.Run(ct);
    }

    private static ulong NowNs() => (ulong)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
}
