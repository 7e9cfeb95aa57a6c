using FsHealer.Healing;
using FsHealer.Service;
using FsHealer.Xfs;
using FsHealer.Interop;
using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Service.Live;

namespace FsHealer.Xfs.Live;

/// <summary>The real kernel behind the xfs_healer setup sequence.</summary>
public sealed class LiveXfsPlatform(IUnitManager? units = null) : IXfsHealerPlatform
{
    private SafeFd? _mnt;
    private XfsGeometry _geo;
    private string _fsname = "";
    private LinuxXfsTarget? _target;

    public IUnitManager Units { get; } = units ?? new SystemctlUnitManager();
    /// <summary>The monitor fd; stays open until the platform is disposed (after the workers drained).</summary>
    public SafeFd? MonitorFd { get; private set; }

    public int OpenMount(string mountpoint, out XfsFsFacts facts)
    {
        facts = default;
        var fd = Libc.Open(mountpoint, Libc.O_RDONLY, out int err);
        if (fd.IsInvalid) return err;
        err = XfsIoctl.GetGeometry(fd, out _geo);
        if (err != 0) { fd.Dispose(); return err; }
        _mnt = fd;
        facts = new XfsFsFacts(_geo.HasRmapBt, _geo.HasParent);
        return 0;
    }

    public bool CaptureFsInfo(string mountpoint)
    {
        var rpath = Realpath.Resolve(mountpoint, out _);
        if (rpath is null) return false;
        // Linux 7.0: statmount(STATMOUNT_BY_FD) on the open fd gives mount point, source and the unique mount id
        if (_mnt is not null && MountSyscalls.StatmountByFd(_mnt, StatmountAbi.MNT_POINT | StatmountAbi.SB_SOURCE | StatmountAbi.MNT_BASIC, out var sm) == 0
            && StatmountDecoder.Decode(sm, []) is { MntPoint: { } point, SbSource: { } source } && point == rpath)
        {
            _fsname = source;
            return true;
        }
        // before that: the process's own mount table (sandboxing may hide the global one)
        foreach (var e in XfsMounts.All())
        {
            if (e.FsType != "xfs") continue;
            if (Realpath.Resolve(e.MountPoint, out _) == rpath)
            {
                _fsname = e.Source;
                return true;
            }
        }
        return false;
    }

    public byte[]? ReadAutofsck() =>
        _mnt is null ? null : Xattr.Get(_mnt, XfsAbi.AutofsckXattr, XfsAbi.AutofsckMaxValueLength, out _);

    public bool CanRepair() => _mnt is not null && XfsIoctl.ProbeRepair(_mnt) == 0;

    public int CreateTarget(string mountpoint, out IXfsTarget? target)
    {
        target = null;
        if (_mnt is null) return Errno.EBADF;
        int err = LinuxXfsTarget.Create(_mnt, mountpoint, _fsname, _geo, out _target);
        target = _target;
        return err;
    }

    /// <summary>errno of the last health-monitor open (EEXIST: another healer owns this filesystem).</summary>
    public int LastMonitorErrno { get; private set; }

    public int OpenMonitor(bool verbose, out IRecordSource? source)
    {
        source = null;
        if (_mnt is null) return Errno.EBADF;
        var mon = XfsIoctl.OpenHealthMonitor(_mnt, verbose, out int err);
        LastMonitorErrno = err;
        if (mon.IsInvalid) return err;
        MonitorFd = mon;
        if (_target is not null) _target.MonitorFd = mon;
        source = new FdRecordSource(mon);
        return 0;
    }

    public void CloseMount()
    {
        _mnt?.Dispose();
        _mnt = null;
    }

    public void Dispose()
    {
        CloseMount();
        MonitorFd?.Dispose();
    }
}
