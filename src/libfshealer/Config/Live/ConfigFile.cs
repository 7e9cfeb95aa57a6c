namespace FsHealer.Config.Live;

/// <summary>Reads the configuration file (the parsing and validation are <see cref="ConfigLoader"/>'s).</summary>
public static class ConfigFile
{
    public static ConfigResult Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return new(null, [new ConfigError(path, null, null, null, $"cannot read: {e.Message}")]);
        }
        return ConfigLoader.Parse(text, path);
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
