using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Text;
using FsHealer.Xfs;
using System.Text;

namespace FsHealer.Xfs;

/// <summary>Filesystem facts read at setup.</summary>
public readonly record struct XfsFsFacts(bool HasRmapBt, bool HasParent);

/// <summary>
/// What the xfs_healer setup sequence needs from the system. The live implementation talks to the kernel; the
/// simulated one (replay, scenario tests) answers from options. The sequence itself — messages, their streams and
/// order, exit codes — lives in <see cref="XfsHealerSession"/> and is shared by both.
/// </summary>
public interface IXfsHealerPlatform : IDisposable
{
    /// <summary>Open the mount point read-only and read the fs geometry. Returns 0 or errno.</summary>
    int OpenMount(string mountpoint, out XfsFsFacts facts);
    /// <summary>Find the mount's source and id (statmount / mount table). False: not an XFS mount point.</summary>
    bool CaptureFsInfo(string mountpoint);
    /// <summary>The raw autofsck xattr value, or null (unset, unreadable, any error).</summary>
    byte[]? ReadAutofsck();
    /// <summary>Scrub PROBE with the repair flag succeeded.</summary>
    bool CanRepair();
    /// <summary>Create the weak handle. Returns 0 or errno.</summary>
    int CreateTarget(string mountpoint, out IXfsTarget? target);
    /// <summary>Open the health monitor (VERBOSE when verbose). Returns 0 or errno.</summary>
    int OpenMonitor(bool verbose, out IRecordSource? source);
    /// <summary>Close the mount fd (never pin the mount).</summary>
    void CloseMount();
    IUnitManager Units { get; }
}

/// <summary>The xfs_healer program: option handling, setup, monitoring, exit codes.</summary>
public sealed class XfsHealerSession(IHealerConsole console, string progname = "xfs_healer", string version = "0.1.0")
{
    /// <summary>Whether we run as a systemd service (xfs_healer: SERVICE_MODE is set). The command sets it from the
    /// environment; the session itself reads nothing from the process.</summary>
    public Func<bool> ServiceMode { get; init; } = () => false;

    /// <summary>Online CPUs: --foreground runs this many workers.</summary>
    public int ProcessorCount { get; init; } = 1;

    public const string HealerTemplate = "xfs_healer@.service";

    /// <summary>Exit code 1 = condition not met (unsupported / policy), 255 = error, 0 = ok.</summary>
    public enum SetupResult { Start, Exit, Error, Unsupported }

    public XfsHealerEngine? Engine { get; private set; }

    /// <summary>The name getopt's error messages start with: argv[0] as the program was started (glibc prints it
    /// whole, "/usr/libexec/xfsprogs/xfs_healer: unrecognized option '--x'", where the usage text has the basename).
    /// Defaults to the program name.</summary>
    public string? Argv0 { get; init; }

    /// <summary>Parse arguments and run. <paramref name="platformFactory"/> is called only when monitoring is needed.</summary>
    public int Run(IReadOnlyList<string> args, Func<XfsHealerOptions, IXfsHealerPlatform> platformFactory,
        bool allowReplayOptions = false, Action<XfsEngineSettings, XfsHealerEngine>? onStart = null,
        Func<bool>? serviceMode = null, Action<TimeSpan>? sleep = null)
    {
        if (!XfsHealerArgs.TryParse(args, Argv0 ?? progname, allowReplayOptions, out var o, out var error))
        {
            console.Err(error!);
            return Usage();
        }
        if (o.Help) return Usage();
        if (o.Version)
        {
            console.Out($"{progname} version {version}");
            return 0;
        }
        if (o.Positionals.Count != 1) return Usage();

        if (o.Svcname)
        {
            if (!SystemdEscape.TryEscapePath(o.Mountpoint!, out _, out _))
            {
                console.Err($"{o.Mountpoint}: {Errno.Message(Errno.EINVAL)}");
                return 1;
            }
            console.Out(SystemdEscape.InstanceName(HealerTemplate, o.Mountpoint!));
            return 0;
        }

        int ret;
        using (var platform = platformFactory(o))
        {
            var (setup, settings, target, source) = Setup(o, platform);
            ret = setup switch
            {
                SetupResult.Unsupported => 1,
                SetupResult.Error => 255,
                SetupResult.Exit => 0,
                _ => Monitor(settings!, target, platform.Units, source!, onStart),
            };
        }
        if (o.Supported) return ret;
        // systemd service mode: let journald tie the last lines to our pid, squash errors to 1 (LSB).
        if (serviceMode?.Invoke() ?? ServiceMode())
            (sleep ?? Thread.Sleep)(TimeSpan.FromSeconds(2));
        return ret != 0 ? 1 : 0;
    }

    private int Usage()
    {
        foreach (var line in XfsHealerArgs.Usage(progname).TrimEnd('\n').Split('\n')) console.Err(line);
        return 1;
    }

    private int Monitor(XfsEngineSettings settings, IXfsTarget? target, IUnitManager units, IRecordSource source,
        Action<XfsEngineSettings, XfsHealerEngine>? onStart)
    {
        Engine = new XfsHealerEngine(settings, target, units, console);
        onStart?.Invoke(settings, Engine);
        return Engine.Run(source) == 0 ? 0 : 1;
    }

    /// <summary>xfs_healer's setup_monitor(), step by step.</summary>
    /// <param name="quietUnsupported">the daemon falls back to polling: don't print "not supported".</param>
    public (SetupResult, XfsEngineSettings?, IXfsTarget?, IRecordSource?) Setup(XfsHealerOptions o, IXfsHealerPlatform p, bool quietUnsupported = false)
    {
        var mnt = o.Mountpoint!;
        bool wantRepair = o.Repair;

        int err = p.OpenMount(mnt, out var facts);
        if (err != 0)
        {
            console.Err($"{mnt}: {Errno.Message(err)}");
            return (SetupResult.Error, null, null, null);
        }
        if (!p.CaptureFsInfo(mnt))
        {
            console.Err($"{mnt}: Not a XFS mount point.");
            p.CloseMount();
            return (SetupResult.Error, null, null, null);
        }

        if (o.Autofsck)
        {
            var value = p.ReadAutofsck();
            var decision = Autofsck.Decide(value is null ? AutofsckValue.Unset : Autofsck.Parse(value), facts.HasRmapBt, facts.HasParent);
            switch (decision)
            {
                case HealerDecision.Exit:
                    console.Out($"{mnt}: {Autofsck.DecisionMessage(decision)}");
                    p.CloseMount();
                    return (SetupResult.Unsupported, null, null, null);
                case HealerDecision.Repair:
                    wantRepair = true;
                    console.Out($"{mnt}: {Autofsck.DecisionMessage(decision)}");
                    break;
                case HealerDecision.LogOnly:
                    wantRepair = false;
                    if (o.Log) console.Out($"{mnt}: {Autofsck.DecisionMessage(decision)}");
                    break;
            }
        }

        if (wantRepair && !p.CanRepair())
        {
            if (!o.Autofsck)
            {
                console.Err($"{mnt}: XFS online repair is not supported, exiting");
                p.CloseMount();
                return (SetupResult.Error, null, null, null);
            }
            console.Out($"{mnt}: XFS online repair is not supported, will report only");
            wantRepair = false;
        }

        if (wantRepair)
        {
            if (!facts.HasRmapBt) console.Err($"{mnt}: XFS online repair is less effective without rmap btrees.");
            if (!facts.HasParent) console.Err($"{mnt}: XFS online repair is less effective without parent pointers.");
        }

        IXfsTarget? target = null;
        if (wantRepair || facts.HasParent)
        {
            err = p.CreateTarget(mnt, out target);
            if (err != 0)
            {
                console.Err($"{mnt}: creating weak fshandle: {Errno.Message(err)}");
                p.CloseMount();
                return (SetupResult.Error, null, null, null);
            }
        }

        err = p.OpenMonitor(o.Everything, out var source);
        if (err != 0)
        {
            var result = SetupResult.Error;
            switch (err)
            {
                case Errno.ENOTTY:
                case Errno.EOPNOTSUPP:
                    if (!quietUnsupported) console.Err($"{mnt}: XFS health monitoring not supported.");
                    result = SetupResult.Unsupported;
                    break;
                case Errno.EEXIST:
                    console.Err($"{mnt}: XFS health monitoring already running.");
                    break;
                default:
                    console.Err($"{mnt}: {Errno.Message(err)}");
                    break;
            }
            p.CloseMount();
            return (result, null, null, null);
        }
        p.CloseMount();

        if (o.Supported) return (SetupResult.Exit, null, null, null);

        var settings = new XfsEngineSettings
        {
            Mountpoint = mnt,
            Log = o.Log,
            Everything = o.Everything,
            WantRepair = wantRepair,
            Workers = o.Foreground ? Math.Max(1, ProcessorCount) : 1,
            FullCheckInterval = TimeSpan.FromSeconds(o.FullCheckIntervalSeconds),
            Debug = o.Debug,
        };
        return (SetupResult.Start, settings, target, source);
    }
}

/// <summary>
/// The simulated kernel for `fshealer replay` and scenario tests: filesystem features, autofsck value, repair
/// support and scrub outcomes come from options; events come from a record stream.
/// </summary>
public sealed class SimulatedXfsPlatform(XfsHealerOptions o, Func<IRecordSource> openStream, IUnitManager? units = null) : IXfsHealerPlatform
{
    public SimulatedXfsTarget? Target { get; private set; }
    public IUnitManager Units { get; } = units ?? new RecordingUnitManager();
    public int MonitorErrno { get; set; }
    public bool IsXfsMount { get; set; } = true;
    public bool MountOpen { get; private set; }
    /// <summary>Passed to the target: keep every scrub call (tests) or only count them (replay).</summary>
    public bool RecordCalls { get; init; } = true;

    public int OpenMount(string mountpoint, out XfsFsFacts facts)
    {
        facts = new XfsFsFacts(o.SimRmapBt, o.SimParent);
        MountOpen = true;
        return 0;
    }

    public bool CaptureFsInfo(string mountpoint) => IsXfsMount;
    public byte[]? ReadAutofsck() => o.AutofsckValue is null ? null : Encoding.UTF8.GetBytes(o.AutofsckValue);
    public bool CanRepair() => o.SimRepairSupported;

    public int CreateTarget(string mountpoint, out IXfsTarget? target)
    {
        Target = new SimulatedXfsTarget(mountpoint, o.Outcomes, o.DefaultOutcome) { HasParentPointers = o.SimParent, RecordCalls = RecordCalls };
        target = Target;
        return 0;
    }

    public int OpenMonitor(bool verbose, out IRecordSource? source)
    {
        source = MonitorErrno == 0 ? openStream() : null;
        return MonitorErrno;
    }

    public void CloseMount() => MountOpen = false;
    public void Dispose() { }
}
