namespace FsHealer;

/// <summary>What every fshealer executable reports as its version (`fshealer --version`, `xfs_healer -V`).</summary>
public static class Product
{
    public const string Version = "0.1.0";
}
