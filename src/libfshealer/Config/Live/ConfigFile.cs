namespace FsHealer.Config.Live;

/// <summary>Reads the configuration file (the parsing and validation are <see cref="ConfigLoader"/>'s). A file
/// larger than <see cref="ConfigLoader.MaxFileBytes"/> is refused from its size, without reading it; a file that
/// grows while read (or a FIFO, a device) is cut off after the limit and refused too.</summary>
public static class ConfigFile
{
    public static ConfigResult Load(string path)
    {
        byte[] bytes;
        try
        {
            if (Directory.Exists(path)) return new(null, [new ConfigError(path, null, null, null, "cannot read: is a directory")]);
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            long size = f.CanSeek ? f.Length : -1;
            if (size > ConfigLoader.MaxFileBytes) return new(null, [ConfigLoader.TooLargeError(path, size)]);
            // read at most limit + 1 bytes: /proc-like files say 0, FIFOs and devices have no length
            var buf = new byte[Math.Min(ConfigLoader.MaxFileBytes + 1, size > 0 ? size + 1 : 64 * 1024)];
            int n = 0;
            while (true)
            {
                if (n == buf.Length)
                {
                    if (buf.Length > ConfigLoader.MaxFileBytes) break;
                    Array.Resize(ref buf, (int)Math.Min(ConfigLoader.MaxFileBytes + 1L, buf.Length * 2L));
                }
                int r = f.Read(buf, n, buf.Length - n);
                if (r <= 0) break;
                n += r;
            }
            if (n > ConfigLoader.MaxFileBytes) return new(null, [ConfigLoader.TooLargeError(path, Math.Max(n, size))]);
            bytes = n == buf.Length ? buf : buf[..n];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return new(null, [new ConfigError(path, null, null, null, $"cannot read: {e.Message}")]);
        }
        return ConfigLoader.Parse(bytes, path);
    }

    /// <summary>The default path: no file there → the safe defaults; an explicit path must exist.</summary>
    public static ConfigResult LoadOrDefault(string? explicitPath)
    {
        if (explicitPath is null && !File.Exists(FsHealerConfig.DefaultPath)) return new(FsHealerConfig.Default, []);
        return Load(explicitPath ?? FsHealerConfig.DefaultPath);
    }

    /// <summary>A store reading <paramref name="path"/> (null = the default path, missing = defaults).</summary>
    public static ConfigStore Store(string? path, out ConfigResult first)
    {
        first = LoadOrDefault(path);
        return new ConfigStore(first.Config ?? FsHealerConfig.Default, () => LoadOrDefault(path));
    }
}
