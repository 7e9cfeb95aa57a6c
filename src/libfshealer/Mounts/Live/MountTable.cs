using FsHealer.Mounts;
using FsHealer.Text;
using FsHealer.Interop;

namespace FsHealer.Mounts.Live;

/// <summary>Reads the whole mount table: listmount + statmount when the kernel has them, else /proc/self/mountinfo.</summary>
public static class MountTable
{
    public const string MountInfoPath = "/proc/self/mountinfo";

    /// <summary>listmount + statmount of every mount. Returns 0, or the listmount errno (ENOSYS = not supported).
    /// Mounts that vanish between the two calls (ENOENT) are skipped silently.</summary>
    public static int ReadWithStatmount(SafeFd? ns, List<MountEntry> entries, List<string> diagnostics)
    {
        int e = MountSyscalls.ListAll(out var ids, ns);
        if (e != 0) return e;
        foreach (var id in ids)
        {
            int se = MountSyscalls.StatmountEntry(id, ns, diagnostics, out var entry);
            if (se == 0 && entry is not null) entries.Add(entry);
            else if (se != Errno.ENOENT)
                diagnostics.Add($"statmount(mnt_id {id}): {Errno.Name(se)}: {Errno.Message(se)}");
        }
        return 0;
    }

    /// <summary>Parse a mountinfo file (as bytes: mount points are bytes, see <see cref="PathBytes"/>). Returns 0 or
    /// the errno of reading it.</summary>
    public static int ReadMountInfo(string path, List<MountEntry> entries, List<string> diagnostics)
    {
        var bytes = Libc.ReadAllBytes(path, out int e);
        if (bytes is null) { diagnostics.Add($"{PathBytes.Show(path)}: {Errno.Message(e)}"); return e; }
        entries.AddRange(MountInfoParser.ParseAll(bytes, diagnostics));
        return 0;
    }

    /// <summary>Every mount in <see cref="MountInfoPath"/> (malformed lines skipped), or null when the file cannot be
    /// read, with <paramref name="error"/> = "cannot read /proc/self/mountinfo: why".</summary>
    public static List<MountEntry>? ReadMountInfo(out string? error)
    {
        var entries = new List<MountEntry>();
        var diagnostics = new List<string>();
        if (ReadMountInfo(MountInfoPath, entries, diagnostics) != 0)
        {
            error = "cannot read " + diagnostics[^1]; // "/proc/self/mountinfo: why"
            return null;
        }
        error = null;
        return entries;
    }

    /// <summary>The topmost mount at <paramref name="mountPoint"/> in <see cref="MountInfoPath"/>
    /// (<see cref="MountInfoParser.FindTopmost"/>), or null: nothing is mounted there (<paramref name="error"/> null) or
    /// the file cannot be read (<paramref name="error"/> says why, as <see cref="ReadMountInfo(out string?)"/>).</summary>
    public static MountEntry? FindTopmost(string mountPoint, out string? error) =>
        ReadMountInfo(out error) is { } entries ? MountInfoParser.FindTopmost(entries, mountPoint) : null;

    /// <summary>Best available method; returns the entries and which method produced them.</summary>
    public static List<MountEntry> ReadAll(List<string> diagnostics, out string method)
    {
        var list = new List<MountEntry>();
        int e = ReadWithStatmount(null, list, diagnostics);
        if (e == 0) { method = "listmount"; return list; }
        list.Clear();
        method = "mountinfo";
        ReadMountInfo(MountInfoPath, list, diagnostics);
        return list;
    }
}
