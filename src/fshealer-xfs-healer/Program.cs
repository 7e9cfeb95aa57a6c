namespace FsHealer.XfsHealer;

/// <summary>`fshealer-xfs-healer [xfs_healer options] MOUNTPOINT`: exactly `fshealer xfs-healer`, in its own small
/// binary (what fshealer@.service and packaging/xfs_healer run).</summary>
public static class Program
{
    public static int Main(string[] args) => FsHealer.Xfs.Live.XfsHealerProgram.Run(args, releasePages: false);
}
