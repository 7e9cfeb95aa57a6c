using FsHealer.Devices.Live;

namespace FsHealer.Core.Tests.Devices;

/// <summary>A fake sysfs tree in a temp dir with the real layout: device directories under devices/, relative
/// symlinks dev/block/MAJ:MIN and class/block/NAME, partitions as subdirectories of their disk, slaves/ links.</summary>
public sealed class FakeSysfs : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("fshealer-sysfs-").FullName;
    /// <summary>Host file → "MAJ:MIN" for loop backing files.</summary>
    public Dictionary<string, string> FileDevices { get; } = [];

    public SysfsDirectory View() => new(Root, p => FileDevices.GetValueOrDefault(p));

    public const string ScsiHost = "devices/pci0000:00/0000:00:10.0/host0/target0:0:0/0:0:0:0/block";
    public static string Scsi(int n) => $"devices/pci0000:00/0000:00:10.0/host{n}/target{n}:0:0/{n}:0:0:0/block";
    /// <summary>The SCSI device directory (what block/NAME/device points to) of a disk made by <see cref="Disk"/>.</summary>
    public static string ScsiDeviceOf(string disk) => disk[..disk.LastIndexOf("/block/", StringComparison.Ordinal)];

    public string Disk(string name, string dev, string parent = ScsiHost, bool scsi = true)
    {
        string rel = $"{parent}/{name}";
        Dev(rel, name, dev, "disk");
        if (scsi)
        {
            // device/ is the SCSI device (a directory above block/ in the real tree)
            string sdev = parent[..parent.LastIndexOf('/')];
            Write($"{sdev}/scsi_level", "7\n");
            Write($"{sdev}/state", "running\n");
            Write($"{sdev}/ioerr_cnt", "0x3\n");
            Write($"{sdev}/iotmo_cnt", "0x0\n");
            Write($"{sdev}/iodone_cnt", "0x1f\n");
            Link($"{rel}/device", sdev);
        }
        return rel;
    }

    public string Partition(string disk, string name, string dev)
    {
        string rel = $"{disk}/{name}";
        Dev(rel, name, dev, "partition");
        Write($"{rel}/partition", "1\n");
        return rel;
    }

    public string Virtual(string name, string dev)
    {
        string rel = $"devices/virtual/block/{name}";
        Dev(rel, name, dev, "disk");
        return rel;
    }

    public void Slave(string upper, string lower) => Link($"{upper}/slaves/{lower[(lower.LastIndexOf('/') + 1)..]}", lower);

    private void Dev(string rel, string name, string dev, string type)
    {
        Write($"{rel}/dev", dev + "\n");
        var (ma, mi) = (dev.Split(':')[0], dev.Split(':')[1]);
        Write($"{rel}/uevent", $"MAJOR={ma}\nMINOR={mi}\nDEVNAME={name}\nDEVTYPE={type}\n");
        Write($"{rel}/stat", "     100        0     2000       50       10        0       80        5        0       60       55        0        0        0        0        0        0\n");
        Link($"dev/block/{dev}", rel);
        Link($"class/block/{name}", rel);
    }

    public string Abs(string rel) => Path.Combine(Root, rel);

    public void Write(string rel, string content)
    {
        string p = Abs(rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
    }

    public void Delete(string rel) => File.Delete(Abs(rel));

    /// <summary>A relative symlink at <paramref name="linkRel"/> to <paramref name="targetRel"/> (as sysfs has).</summary>
    public void Link(string linkRel, string targetRel)
    {
        string link = Abs(linkRel);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        if (File.Exists(link) || Directory.Exists(link)) File.Delete(link);
        File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, Abs(targetRel)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
