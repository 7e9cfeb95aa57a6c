using System.Text.RegularExpressions;

namespace FsHealer.Kmsg;

/// <summary>
/// The one way kernel-log patterns are compiled: the non-backtracking engine (matching time linear in the line's
/// length; a kernel record is at most about 1 KiB) and no match timeout. A timeout is wall-clock time: on a loaded
/// machine a descheduled thread "timed out" on an ordinary line and the line was dropped (seen in the corpus runs);
/// with a linear-time engine there is nothing for a timeout to protect against.
/// </summary>
public static class KernelLogRegex
{
    public static Regex Create(string pattern) =>
        new(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, Regex.InfiniteMatchTimeout);
}
