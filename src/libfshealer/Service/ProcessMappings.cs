using System.Globalization;

namespace FsHealer.Service;

/// <summary>One mapping of /proc/PID/smaps: its address range, permissions, backing inode and path, how much of it is
/// resident and how much of the resident part is anonymous (copy-on-write pages that hold the process's own data;
/// -1 when smaps did not say, which never counts as clean).</summary>
public readonly record struct Mapping(ulong Start, ulong End, string Perms, ulong Inode, string Path, long RssKiB, long AnonymousKiB)
{
    public ulong Length => End - Start;
    public bool Readable => Perms.Length > 0 && Perms[0] == 'r';
    public bool Writable => Perms.Length > 1 && Perms[1] == 'w';
    public bool Executable => Perms.Length > 2 && Perms[2] == 'x';
}

/// <summary>
/// Which of a process's mappings it can unmap from its page tables without losing anything: clean pages of files
/// (program text, read-only data, unwind tables) that the kernel re-maps from the page cache on the next touch.
/// <para>A long-running daemon touches most of its code once while starting (option parsing, configuration, schema
/// checks, attaching every filesystem), and the kernel maps file pages 64 KiB around each touched page
/// (fault-around), so after start-up about 10 MiB of a 14 MB Native AOT binary stay mapped although the idle loop
/// uses a small part of it. Dropping those mappings once start-up has settled makes the resident set what the
/// daemon actually uses; the pages themselves stay in the page cache (shared with other processes of the same
/// binary) until the kernel needs the memory, which unmapped pages give back more readily than mapped code.</para>
/// <para>Safe means: backed by a file (an inode), not writable, and with no anonymous (copy-on-write) pages: RELRO
/// and other relocated data keep their private copies and are never selected, because MADV_DONTNEED would revert
/// them to the file's contents. A mapping that cannot become writable cannot gain anonymous pages later.</para>
/// </summary>
public static class ProcessMappings
{
    /// <summary>Parse the text of /proc/PID/smaps. Lines it does not know are skipped; a header it cannot read ends
    /// the mapping before it (its fields are not attributed to the wrong mapping).</summary>
    public static List<Mapping> ParseSmaps(string text) => ParseSmaps(text.Split('\n'));

    /// <summary>The same, line by line (a JIT process has hundreds of mappings: its smaps is a megabyte of text,
    /// which the daemon should not hold at once).</summary>
    public static List<Mapping> ParseSmaps(IEnumerable<string> lines)
    {
        var result = new List<Mapping>();
        Mapping? current = null;
        foreach (var raw in lines)
        {
            var line = raw.AsSpan().TrimEnd();
            if (line.IsEmpty) continue;
            if (TryHeader(line, out var header))
            {
                if (current is { } done) result.Add(done);
                current = header;
                continue;
            }
            if (current is not { } m) continue;
            if (TryField(line, "Rss:", out long rss)) current = m with { RssKiB = rss };
            else if (TryField(line, "Anonymous:", out long anon)) current = m with { AnonymousKiB = anon };
            else if (LooksLikeHeader(line)) { result.Add(m); current = null; }   // a header we could not read
        }
        if (current is { } last) result.Add(last);
        return result;
    }

    /// <summary>The mappings whose resident pages can be dropped (see the class summary).</summary>
    public static List<Mapping> Releasable(IEnumerable<Mapping> mappings)
    {
        var result = new List<Mapping>();
        foreach (var m in mappings)
            if (m.Inode != 0 && m.Readable && !m.Writable && m.AnonymousKiB == 0 && m.RssKiB > 0 && m.Path.StartsWith('/')
                && m.Length > 0)
                result.Add(m);
        return result;
    }

    // "55ec103eb000-55ec10aec000 r-xp 00014000 fe:00 11657437                   /tmp/aot/fshealer"
    private static bool TryHeader(ReadOnlySpan<char> line, out Mapping m)
    {
        m = default;
        int dash = line.IndexOf('-');
        if (dash <= 0) return false;
        if (!ulong.TryParse(line[..dash], NumberStyles.AllowHexSpecifier, null, out ulong start)) return false;
        var rest = line[(dash + 1)..];
        if (!NextToken(ref rest, out var endText) || !ulong.TryParse(endText, NumberStyles.AllowHexSpecifier, null, out ulong end)) return false;
        if (!NextToken(ref rest, out var perms) || perms.Length != 4) return false;
        if (!NextToken(ref rest, out _) || !NextToken(ref rest, out _)) return false;     // offset, dev
        if (!NextToken(ref rest, out var inodeText) || !ulong.TryParse(inodeText, out ulong inode)) return false;
        if (end < start) return false;
        m = new Mapping(start, end, perms.ToString(), inode, rest.Trim().ToString(), 0, -1);   // Anonymous unknown until read
        return true;
    }

    private static bool LooksLikeHeader(ReadOnlySpan<char> line)
    {
        int dash = line.IndexOf('-'), space = line.IndexOf(' ');
        return dash > 0 && space > dash && !line[..space].Contains(':');
    }

    private static bool NextToken(ref ReadOnlySpan<char> rest, out ReadOnlySpan<char> token)
    {
        rest = rest.TrimStart(' ');
        int sp = rest.IndexOf(' ');
        token = sp < 0 ? rest : rest[..sp];
        rest = sp < 0 ? [] : rest[sp..];
        return !token.IsEmpty;
    }

    // "Rss:                 868 kB"
    private static bool TryField(ReadOnlySpan<char> line, string name, out long kib)
    {
        kib = 0;
        if (!line.StartsWith(name, StringComparison.Ordinal)) return false;
        var v = line[name.Length..].Trim();
        if (v.EndsWith(" kB", StringComparison.Ordinal)) v = v[..^3].TrimEnd();
        return long.TryParse(v, out kib);
    }
}
