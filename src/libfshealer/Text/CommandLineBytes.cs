using System.Text;

namespace FsHealer.Text;

/// <summary>
/// .NET decodes the command line as UTF-8 with replacement: an argument holding a byte that is not UTF-8 (a mount
/// point such as <c>x\xff</c>) arrives as <c>x\uFFFD</c> — the name of another directory. The kernel keeps the
/// bytes (/proc/self/cmdline: the arguments, each followed by NUL); this puts them back, decoded byte-exactly
/// (<see cref="PathBytes.Decode"/>). An argument is replaced only when it holds U+FFFD and is exactly what .NET would
/// have made of the corresponding raw argument, so nothing else can change.
/// </summary>
public static class CommandLineBytes
{
    /// <summary>The arguments with their bytes restored. <paramref name="cmdline"/> is /proc/self/cmdline: the whole
    /// command line (host, program, then <paramref name="args"/> last).</summary>
    public static string[] Restore(string[] args, ReadOnlySpan<byte> cmdline)
    {
        if (Array.FindIndex(args, a => a.Contains('\uFFFD')) < 0) return args;
        var raw = new List<byte[]>();
        while (!cmdline.IsEmpty)
        {
            int nul = cmdline.IndexOf((byte)0);
            var one = nul < 0 ? cmdline : cmdline[..nul];
            raw.Add(one.ToArray());
            cmdline = nul < 0 ? default : cmdline[(nul + 1)..];
        }
        if (raw.Count < args.Length) return args;
        var result = (string[])args.Clone();
        int offset = raw.Count - args.Length;
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].Contains('\uFFFD')) continue;
            var bytes = raw[offset + i];
            if (Encoding.UTF8.GetString(bytes) == args[i]) result[i] = PathBytes.Decode(bytes);
        }
        return result;
    }
}
