using FsHealer.Interop;
using FsHealer.Mounts;
using FsHealer.Mounts.Live;
using FsHealer.Text;

namespace FsHealer.Healing.Live;

/// <summary>
/// The real system behind <see cref="IHealHost"/>: looks at mounts and devices through statx, statfs, the filesystem's
/// UUID ioctl and the superblock on the device; unmounts with umount2 (never lazily), mounts with mount(2) (mount(8)
/// as the fallback), runs tools through <see cref="ToolRunner"/> (own process group, killed with the daemon).
/// Also gathers the facts the planner needs (<see cref="Facts"/>).
/// </summary>
public sealed class LiveHealHost : IHealHost
{
    public TimeSpan FsckTimeout { get; init; } = TimeSpan.FromHours(12);
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>The btrfs healer watching a filesystem, by identity (<see cref="FilesystemIdentity.Id"/>): the scheduled
    /// scrub runs through it (its planner, counters and clean-scrub baseline). Null or no healer: a healer of its own
    /// for the one scrub (no baseline kept), logging to <see cref="ScrubConsole"/>.</summary>
    public Func<string, FsHealer.Btrfs.IBtrfsFullScrub?>? BtrfsScrubbers { get; init; }
    public FsHealer.Service.IHealerConsole? ScrubConsole { get; init; }

    public FsHealer.Btrfs.FullScrubResult FullScrub(FilesystemIdentity target, string path, bool readOnly, bool idleIo, CancellationToken abort)
    {
        const string why = "scheduled check (check overdue)";
        if (BtrfsScrubbers?.Invoke(target.Id) is { } healer) return healer.ScrubAll(why, readOnly, idleIo, abort);
        using var own = new FsHealer.Btrfs.Live.BtrfsHealer(path, new FsHealer.Btrfs.Live.BtrfsHealerOptions { AutoScrub = false },
            ScrubConsole ?? new FsHealer.Service.MemoryConsole());
        return own.ScrubAll(why, readOnly, idleIo, abort);
    }

    /// <summary>statfs f_type → the type name the mount layer uses (kernel facts as data).</summary>
    public static readonly IReadOnlyDictionary<long, string> FsTypeByMagic = new Dictionary<long, string>
    {
        [Statfs.XFS_SUPER_MAGIC] = "xfs", [Statfs.EXT4_SUPER_MAGIC] = "ext4", [Statfs.BTRFS_SUPER_MAGIC] = "btrfs",
    };

    public MountProbe ProbeMount(string path) => Probe(path);

    /// <summary>What is mounted at <paramref name="path"/> (the topmost mount a lookup reaches): device, type, UUID, mount id.
    /// Opens the directory for a moment (the UUID ioctl needs an fd) and closes it: nothing stays pinned.</summary>
    public static MountProbe Probe(string path)
    {
        int e = Statx.Get(Libc.AT_FDCWD, path, Statx.AT_SYMLINK_NOFOLLOW, out var sx);
        // a shut-down XFS answers EIO to everything, statx of its root included: the mount table and the superblock on
        // its device still say what is mounted there (the mount id stays unknown: mountinfo's is not statx's)
        if (e == Errno.EIO && ProbeByMountTable(path) is { } byTable) return byTable;
        if (e != 0) return MountProbe.Failed($"statx: {Errno.Name(e)}: {Errno.Message(e)}");
        e = Statfs.Get(path, out long magic, out _);
        string? type = e == 0 ? FsTypeByMagic.GetValueOrDefault(magic) ?? $"0x{magic:x}" : null;
        Guid? uuid = type is null ? null : FsUuid(path, type);
        return new MountProbe(sx.DevKey, type, uuid, sx.MountIdUnique ? sx.MountId : 0);
    }

    /// <summary>The topmost mount at <paramref name="path"/> by the mount table, its UUID read from the superblock on
    /// its device; null when the table has nothing there or cannot be read.</summary>
    private static MountProbe? ProbeByMountTable(string path)
    {
        var m = FsHealer.Mounts.Live.MountTable.FindTopmost(System.IO.Path.GetFullPath(path), out _);
        if (m is null || !m.HasDev) return null;
        return new MountProbe(m.DevKey, m.FsType, IdentityOf(m.DevKey, m.FsType, m.Source).Uuid, 0);
    }

    /// <summary>The UUID the kernel holds for the filesystem mounted at <paramref name="path"/>: FS_IOC_GETFSUUID (ext4,
    /// XFS), BTRFS_IOC_FS_INFO's fsid (btrfs). Null when neither answers.</summary>
    public static Guid? FsUuid(string path, string fsType)
    {
        using var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_NOFOLLOW, out _);
        if (fd.IsInvalid) return null;
        if (fsType == "btrfs") return BtrfsIoctl.FsInfo(fd, out var info) == 0 && info is not null ? info.Fsid : null;
        return FsIoctl.GetFsUuid(fd, out _);
    }

    /// <summary>
    /// The identity of a filesystem about to be attached, without opening anything on the mount (a transient fd on a
    /// mount makes a concurrent umount fail with EBUSY): the UUID is read from the superblock on its device — the
    /// device node of <paramref name="devKey"/>, or <paramref name="source"/> when that is a block device (btrfs: its
    /// st_dev is an anonymous device) — and accepted only when that superblock is of <paramref name="fsType"/>.
    /// </summary>
    public static FilesystemIdentity IdentityOf(ulong devKey, string fsType, string source)
    {
        string? dev = DeviceNode(devKey);
        if (dev is null && source.StartsWith("/dev/", StringComparison.Ordinal)
            && FsIoctl.Stat(source, out _, out _, out uint mode) == 0 && (mode & FsIoctl.S_IFMT) == FsIoctl.S_IFBLK) dev = source;
        Guid? uuid = null;
        if (dev is not null)
        {
            using var fd = Libc.Open(dev, Libc.O_RDONLY, out _);
            if (!fd.IsInvalid)
            {
                var head = new byte[SuperblockLayout.BytesNeeded];
                int n = Libc.ReadFull(fd, head);
                if (n > 0 && SuperblockLayout.Identify(head.AsSpan(0, n)) is (var type, var u) && type == fsType) uuid = u;
            }
        }
        return new FilesystemIdentity(devKey, fsType, uuid);
    }

    public DeviceProbe ProbeDevice(string device)
    {
        int e = FsIoctl.Stat(device, out _, out ulong rdev, out uint mode);
        if (e != 0) return DeviceProbe.Failed(device, $"stat: {Errno.Name(e)}: {Errno.Message(e)}");
        if ((mode & FsIoctl.S_IFMT) != FsIoctl.S_IFBLK) return DeviceProbe.Failed(device, "not a block device");
        var mountedAt = MountsOfDevice(rdev);
        // O_EXCL on a block device: EBUSY while the kernel holds it (mounted in any namespace, md/dm member, another O_EXCL)
        using var fd = Libc.Open(device, Libc.O_RDONLY | Libc.O_EXCL, out e);
        if (fd.IsInvalid)
        {
            if (e == Errno.EBUSY) return new DeviceProbe(device, rdev, null, null, true, mountedAt);
            return DeviceProbe.Failed(device, $"open(O_RDONLY|O_EXCL): {Errno.Name(e)}: {Errno.Message(e)}");
        }
        var head = new byte[SuperblockLayout.BytesNeeded];
        int n = Libc.ReadFull(fd, head);
        if (n < 0) return DeviceProbe.Failed(device, $"read: {Errno.Name(-n)}: {Errno.Message(-n)}") with { Rdev = rdev };
        var (type, uuid) = SuperblockLayout.Identify(head.AsSpan(0, n));
        return new DeviceProbe(device, rdev, type, uuid, false, mountedAt);
    }

    /// <summary>Mount points of device <paramref name="rdev"/> in this mount namespace (mountinfo).</summary>
    private static List<string> MountsOfDevice(ulong rdev)
    {
        var list = new List<string>();
        if (MountTable.ReadMountInfo(out _) is { } entries)
            foreach (var m in entries) if (m.DevKey == rdev) list.Add(m.MountPoint);
        return list;
    }

    public int Unmount(string path) => Umount.Unmount(path);

    public ToolResult Run(string program, IReadOnlyList<string> args, CancellationToken abort) =>
        ToolRunner.Shared.Run(program, args, program is "tune2fs" or LvmTool.Lvs or LvmTool.Lvcreate or LvmTool.Lvremove ? CommandTimeout : FsckTimeout, abort);

    public int Mount(string device, string path, RemountSpec spec, out string detail)
    {
        int e = Umount.Mount(device, path, spec.FsType, spec.Flags, spec.Data);
        if (e == 0) { detail = $"mount(2) {spec.FsType} flags 0x{spec.Flags:x} data \"{spec.Data}\""; return 0; }
        // mount(8) knows option spellings mount(2) does not take (and helpers); try it before giving up
        var args = new List<string> { "-t", spec.FsType };
        if (spec.OptionsText.Length > 0) args.AddRange(["-o", spec.OptionsText]);
        args.AddRange([device, path]);
        var r = ToolRunner.Shared.Run("mount", args, CommandTimeout, CancellationToken.None);
        detail = $"mount(2): {Errno.Name(e)}; mount(8) -o {spec.OptionsText}: " + (r.Exit == 0 ? "ok" : $"exit {r.Exit}: {r.Output}");
        return r.Exit == 0 ? 0 : e;
    }

    public int ReplayLog(string device, string fsType, out string detail)
    {
        string dir;
        try { dir = Directory.CreateTempSubdirectory("fshealer-logreplay-").FullName; }
        catch (IOException x) { detail = x.Message; return Errno.EIO; }
        try
        {
            int e = Umount.Mount(device, dir, fsType, 0, "");
            if (e != 0) { detail = $"mount {device} {dir}: {Errno.Name(e)}: {Errno.Message(e)}"; return e; }
            e = Umount.Unmount(dir);
            detail = e == 0 ? $"mounted at {dir} and unmounted: the log is replayed" : $"umount {dir}: {Errno.Name(e)}: {Errno.Message(e)}";
            return e;
        }
        finally { try { Directory.Delete(dir); } catch (IOException) { } }
    }

    public void Sleep(TimeSpan t) => Thread.Sleep(t);

    /// <summary>The device node of device number <paramref name="devKey"/>: /sys/dev/block/M:m/uevent's DEVNAME under /dev,
    /// accepted only when it is that block device (stat st_rdev).</summary>
    public static string? DeviceNode(ulong devKey)
    {
        string sys = $"/sys/dev/block/{(uint)(devKey >> 32)}:{(uint)devKey}/uevent";
        Span<byte> buf = stackalloc byte[512];
        int n = Libc.ReadFile(sys, buf);
        if (n <= 0) return null;
        foreach (var line in System.Text.Encoding.UTF8.GetString(buf[..n]).Split('\n'))
        {
            if (!line.StartsWith("DEVNAME=", StringComparison.Ordinal)) continue;
            string dev = "/dev/" + line[8..];
            return FsIoctl.Stat(dev, out _, out ulong rdev, out uint mode) == 0 && (mode & FsIoctl.S_IFMT) == FsIoctl.S_IFBLK && rdev == devKey ? dev : null;
        }
        return null;
    }

    /// <summary>Mounts of superblock <paramref name="devKey"/> other than <paramref name="exceptMountId"/> — in this mount
    /// namespace, and in every other namespace visible through /proc (bind mounts, containers) — as "path" or
    /// "path (mount namespace of pid N)".</summary>
    public static List<string> OtherMounts(ulong devKey, string path, ulong exceptMountId, List<string>? diagnostics = null)
    {
        var found = new List<string>();
        var diags = diagnostics ?? [];
        var ours = MountTable.ReadAll(diags, out _);
        bool skipped = false;
        foreach (var m in ours)
        {
            if (m.DevKey != devKey) continue;
            // the watched mount itself: by unique id when known, else the first mount at the path
            if ((exceptMountId != 0 && m.UniqueId == exceptMountId) || (!skipped && (exceptMountId == 0 || m.UniqueId == 0) && m.MountPoint == path))
            { skipped = true; continue; }
            found.Add(m.MountPoint);
        }
        ulong ownNs = NamespaceInode("/proc/self/ns/mnt");
        var seen = new HashSet<ulong> { ownNs };
        IEnumerable<string> procs;
        try { procs = Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(System.IO.Path.GetFileName(d)[0])).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return found; }
        foreach (var dir in procs)
        {
            ulong ns = NamespaceInode(dir + "/ns/mnt");
            if (ns == 0 || !seen.Add(ns)) continue;
            var entries = new List<MountEntry>();
            if (MountTable.ReadMountInfo(dir + "/mountinfo", entries, diags) != 0) continue;
            foreach (var m in entries)
                if (m.DevKey == devKey) found.Add($"{m.MountPoint} (mount namespace of pid {System.IO.Path.GetFileName(dir)})");
        }
        return found;
    }

    private static ulong NamespaceInode(string nsLink) =>
        Statx.Get(Libc.AT_FDCWD, nsLink, 0, out var r) == 0 ? r.Ino : 0;

    /// <summary>Is device <paramref name="devKey"/> the one "/" is on?</summary>
    public static bool IsRootDevice(ulong devKey) => Statx.Get("/", out var r) == 0 && r.DevKey == devKey;

    /// <summary>The filesystem mounted at <paramref name="path"/> now, as the daemon would attach it (its identity, its
    /// mount, its source), with <paramref name="policy"/>; null with the reason when nothing supported is mounted there.</summary>
    public static WatchedFilesystem? Attach(string path, FsHealer.Config.EffectivePolicy policy, out string? error)
    {
        var probe = Probe(path);
        if (probe.Error is { } e) { error = $"{path}: {e}"; return null; }
        var entry = MountTable.ReadMountInfo(out error) is { } all ? MountInfoParser.FindTopmost(all, path) : null;
        if (entry is null || entry.DevKey != probe.DevKey) { error ??= $"{path}: not a mount point"; return null; }
        if (probe.FsType is not ("xfs" or "ext4" or "btrfs")) { error = $"{path}: {probe.FsType} is not a supported filesystem"; return null; }
        error = null;
        return new WatchedFilesystem(new FilesystemIdentity(probe.DevKey, probe.FsType, probe.Uuid), path, probe.MountId, entry.Source, policy);
    }

    /// <summary>Whether the kernel scrubs this XFS online: XFS_IOC_SCRUB_METADATA with the probe type answers 0
    /// (kernels without online scrub, like 6.18 built without CONFIG_XFS_ONLINE_SCRUB, say EOPNOTSUPP/ENOTTY).</summary>
    public static bool XfsOnlineScrub(string path)
    {
        using var fd = FsHealer.Interop.Libc.Open(path, FsHealer.Interop.Libc.O_RDONLY | FsHealer.Interop.Libc.O_DIRECTORY, out int e);
        if (e != 0 || fd.IsInvalid) return false;
        var req = new FsHealer.Xfs.ScrubRequest(FsHealer.Xfs.ScrubType.Probe, 0);
        return FsHealer.Interop.XfsIoctl.ScrubMetadata(fd, ref req) == 0;
    }

    private static readonly Lazy<FsHealer.Devices.ISysfsView> Sysfs = new(() => new FsHealer.Devices.Live.SysfsDirectory());

    /// <summary>The LVM logical volume under device <paramref name="devKey"/> (sysfs dm/uuid "LVM-…", dm/name) and what
    /// <c>lvs</c> says about it (its volume group's free space); (null, null) when it is not an LV, a problem when it
    /// is one but could not be looked up. lvm2 programs missing from PATH are listed.</summary>
    public static (FsHealer.Devices.LvmVolume? Lv, string? Problem, List<string> Missing) LvmFacts(ulong devKey, FsHealer.Devices.ISysfsView? sysfs = null)
    {
        string majMin = $"{(uint)(devKey >> 32)}:{(uint)devKey}";
        if (FsHealer.Devices.Lvm.Identify(sysfs ?? Sysfs.Value, majMin) is not { } id) return (null, null, []);
        var missing = RepairTools.LvmPrograms.Where(p => ToolRunner.FindInPath(p) is null).ToList();
        if (missing.Contains(LvmTool.Lvs))
            return (null, $"{id.Vg}/{id.Lv} is an LVM logical volume but lvm2 is not installed ({LvmTool.Lvs} not found in PATH)", missing);
        var r = ToolRunner.Shared.Run(LvmTool.Lvs, FsHealer.Devices.Lvm.LvsArgs(id.Vg, id.Lv), TimeSpan.FromMinutes(2), CancellationToken.None);
        if (r.Exit != 0)
            return (null, $"{LvmTool.Lvs} {id.Vg}/{id.Lv}: exit {r.Exit}: {r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()}", missing);
        var lv = FsHealer.Devices.Lvm.ParseLvs(r.Output, id.Vg, id.Lv, out var error);
        return (lv, error, missing);
    }

    /// <summary>Everything <see cref="OfflinePlanner.Plan"/> needs about <paramref name="fs"/>, looked up now.</summary>
    /// <summary>Every member device of the btrfs mounted at <paramref name="path"/> (BTRFS_IOC_DEV_INFO on a briefly
    /// opened fd), with its device number; empty when it cannot be read.</summary>
    public static List<MemberDevice> BtrfsMembers(string path)
    {
        var list = new List<MemberDevice>();
        using var m = FsHealer.Btrfs.Live.BtrfsMount.Open(path, out _);
        if (m is null) return list;
        foreach (var d in m.Devices(out _))
            if (d.Path.Length > 0 && FsIoctl.Stat(d.Path, out _, out ulong rdev, out uint mode) == 0 && (mode & FsIoctl.S_IFMT) == FsIoctl.S_IFBLK)
                list.Add(new MemberDevice(d.Path, rdev));
        return list;
    }

    public static OfflineFacts Facts(WatchedFilesystem fs, HealAction wanted, bool durable = true, string? notDurable = null)
    {
        // the LV under it, only where a scheduled check could use a snapshot (lvs is not run for nothing)
        var (lv, lvProblem, lvMissing) = fs.Policy.ScheduledCheck && RepairTools.SnapshotCheck.ContainsKey(fs.FsType)
            ? LvmFacts(fs.Identity.DevKey) : (null, null, []);
        string path = fs.Path;
        var probe = Probe(path);
        string? notTarget = IdentityProof.Mount(fs.Identity, fs.MountId, path, probe);
        MountEntry? entry = null;
        if (MountTable.ReadMountInfo(out _) is { } all) entry = MountInfoParser.FindTopmost(all, path);
        var missing = RepairTools.ProgramsFor(fs.FsType).Where(p => ToolRunner.FindInPath(p) is null).ToList();
        return new OfflineFacts
        {
            Identity = fs.Identity, Path = path, Wanted = wanted, NotTheTarget = notTarget,
            Device = DeviceNode(fs.Identity.DevKey),
            // btrfs: "/" stats as its subvolume's anonymous device; the filesystem UUID says whether it is this one
            IsRootFilesystem = IsRootDevice(fs.Identity.DevKey)
                || (IdentityProof.AnonymousStDev.Contains(fs.FsType) && fs.Identity.Uuid is { } ru && Statfs.Get("/", out long rootMagic, out _) == 0
                    && FsTypeByMagic.GetValueOrDefault(rootMagic) == fs.FsType && FsUuid("/", fs.FsType) == ru),
            OtherMounts = notTarget is null ? OtherMounts(fs.Identity.DevKey, path, fs.MountId) : [],
            IsBindOfSubtree = entry is not null && entry.DevKey == fs.Identity.DevKey && !entry.IsRootMount,
            MissingPrograms = missing, Durable = durable, NotDurableReason = notDurable,
            CanIdleIo = ToolRunner.FindInPath(OfflineExecutor.Ionice) is not null,
            OnlineScrub = fs.FsType == "xfs" && notTarget is null && XfsOnlineScrub(path),
            Remount = entry is not null && entry.DevKey == fs.Identity.DevKey ? RemountSpec.From(entry) : null,
            Members = fs.FsType == "btrfs" && notTarget is null ? BtrfsMembers(path) : [],
            ScrubReadOnly = fs.FsType == "btrfs" && fs.Policy.BtrfsReadOnlyScrub,
            RepairAfterCheck = fs.FsType != "btrfs" || fs.Policy.BtrfsOfflineRepair,
            Lvm = lv, LvmProblem = lvProblem, MissingLvmPrograms = lvMissing,
            SnapshotBytes = fs.Policy.Ext4SnapshotSizeMb << 20,
        };
    }
}
