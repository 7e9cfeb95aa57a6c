using FsHealer.Btrfs;
using System.Text;

namespace FsHealer.Btrfs.Live;

/// <summary>The btrfs state file: loaded at start, written atomically (temp file 0600, fsync, rename).</summary>
public static class BtrfsStateFile
{
    public static DevStatsState? Load(string path, out string? error)
    {
        error = null;
        try
        {
            if (!File.Exists(path)) return null;
            return DevStatsState.FromJson(File.ReadAllText(path), out error);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"{path}: {ex.Message}";
            return null;
        }
    }

    private static int _seq;

    /// <summary>Write atomically (callers serialize their own writes; temp names are unique per call). Returns null or a diagnostic.</summary>
    public static string? Save(string path, string json)
    {
        string tmp = path + ".tmp." + Environment.ProcessId + "." + Interlocked.Increment(ref _seq);
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            var opts = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) opts.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var fs = new FileStream(tmp, opts))
            {
                var bytes = Encoding.UTF8.GetBytes(json);
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(tmp, path, overwrite: true);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            try { File.Delete(tmp); } catch (Exception) { }
            return $"{path}: {ex.Message}";
        }
    }
}
