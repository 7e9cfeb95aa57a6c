using FsHealer.Interop;
using FsHealer.Kmsg;
using FsHealer.Model;
using FsHealer.Service;

namespace FsHealer.Healing.Live;

/// <summary>
/// Unmountable filesystems (issue 17): reads the kernel log for lines saying a mount of XFS, ext4 or btrfs failed
/// (<see cref="MountFailureLog"/>, grouped by <see cref="MountFailureReporter"/>) and publishes a problem event naming
/// the device when the filesystem on it is damaged — history, notifications and metrics see it; the filesystem is
/// named by the identity its superblock carries (UUID), read from the device. Evidence without a line saying the
/// mount failed is reported only while the device is not mounted. When the configuration's "unmountable" policy
/// allows it (<see cref="UnmountablePolicy"/>, off by default), the report is handed to the healing pipeline
/// (<see cref="HealingPipeline.SubmitUnmountable"/>): offline repair of the unmounted device, then the mount fstab
/// describes.
/// </summary>
public sealed class MountFailureWatcher : IDisposable
{
    private readonly KmsgReader _kmsg;
    private readonly EventHub _events;
    private readonly IHealerConsole _console;
    private readonly MountFailureReporter _reporter = new();
    private readonly LiveHealHost _host = new();
    private bool _errorSaid;

    private readonly HealingPipeline? _healing;
    private readonly Func<UnmountablePolicy>? _policy;

    private MountFailureWatcher(KmsgReader kmsg, EventHub events, IHealerConsole console, HealingPipeline? healing, Func<UnmountablePolicy>? policy)
    { _kmsg = kmsg; _events = events; _console = console; _healing = healing; _policy = policy; }

    /// <summary>Null (said once on the console) when the kernel log cannot be read. <paramref name="healing"/> and
    /// <paramref name="policy"/>: where a repair goes when the current policy allows one.</summary>
    public static MountFailureWatcher? Open(EventHub events, IHealerConsole console, HealingPipeline? healing = null, Func<UnmountablePolicy>? policy = null)
    {
        var k = KmsgReader.Open(out var diag);
        if (k is null)
        {
            console.Err($"fshealer: kernel log not readable ({diag}): mounts refused because a filesystem is damaged are not reported" +
                (diag?.Contains("EPERM") == true ? "; reading /dev/kmsg under kernel.dmesg_restrict=1 needs CAP_SYSLOG" : ""));
            return null;
        }
        return new MountFailureWatcher(k, events, console, healing, policy);
    }

    /// <summary>Read what the kernel logged since the last call; publish the reports due. Never throws.</summary>
    public void Tick()
    {
        try
        {
            List<MountFailureEvent>? lines = null;
            foreach (var r in _kmsg.ReadAvailable())
            {
                if (r.Record is null)
                {
                    if (r.Diagnostic is not null && !r.Overrun && !_errorSaid) { _errorSaid = true; _console.Err($"fshealer: {r.Diagnostic}"); }
                    continue;
                }
                if (MountFailureLog.Decode(r.Record.Message) is { } e) (lines ??= []).Add(e);
            }
            foreach (var rep in _reporter.Observe(lines ?? [], DateTimeOffset.UtcNow))
            {
                if (!rep.Damage) { _console.Out($"fshealer: {rep.Describe()}"); continue; }
                string dev = FsHealer.Text.DeviceName.AsPath(rep.Device)!;
                var probe = _host.ProbeDevice(dev);
                // evidence alone while the device is mounted: the mount went through after all
                if (!rep.Final && (probe.Busy || probe.MountedAt.Count > 0)) continue;
                string? fsId = null;
                FilesystemIdentity? identity = null;
                if (probe.Error is null && probe.Rdev != 0)
                {
                    identity = new FilesystemIdentity(probe.Rdev, rep.Filesystem, probe.Uuid);
                    fsId = identity.Id;
                }
                string text = rep.Describe();
                _console.Err($"fshealer: {text}");
                _events.Publish(new FsEvent
                {
                    Class = EventClass.MetadataCorrupt, Severity = Severity.Critical, Mount = "", FsType = rep.Filesystem,
                    Device = dev, FsId = fsId, Structure = "mount", Errno = rep.Errno, Message = text,
                });
                var policy = _policy?.Invoke() ?? UnmountablePolicy.Off;
                // a filesystem the policy's match leaves out (by UUID or type) is reported only, without a word more
                if (_healing is not null && policy.Repair && identity is not null && !probe.Busy && probe.MountedAt.Count == 0
                    && (policy with { MatchMountPoint = null }).Excludes(rep.Filesystem, probe.Uuid, null) is null)
                {
                    var id = identity;
                    _healing.SubmitUnmountable(new HealingPipeline.UnmountableRequest(id, dev, policy, rep.Damage,
                        () => UnmountableFactsReader.Read(id, dev, policy, rep.Damage), () => UnmountableFactsReader.Fingerprint(dev)),
                        $"the kernel refused to mount it ({string.Join(", ", rep.Reasons.Distinct())})");
                }
                else if (policy.Repair && identity is null)
                    _console.Err($"fshealer: {dev}: not repairing it: {probe.Error ?? "its device number is unknown"}");
            }
        }
        catch (Exception ex) { _console.Err($"fshealer: kernel log (mount failures): {ex.Message}"); }
    }

    public void Dispose() => _kmsg.Dispose();
}
