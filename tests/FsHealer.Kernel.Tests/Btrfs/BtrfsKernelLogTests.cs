using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Btrfs;

/// <summary>
/// Issue 17, defect 3 on the real kernel: a btrfs raid1 whose metadata leaf is damaged on one mirror. Reading it,
/// the kernel repairs the bad copy from the good one ("read error corrected: ino 0 …") while every device error
/// counter stays 0 — the kernel log is the only trace. The daemon publishes the line as an event of the filesystem
/// (by identity), scrubs the device the line names, and status ends healthy once that scrub is clean.
/// </summary>
[Collection("btrfs-kernel")]
public sealed partial class BtrfsKernelLogTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static List<JsonElement> History(string state)
    {
        var r = Sh.Fshealer("history", "--state-dir", state, "--json", "--limit", "5000");
        Assert.True(r.Code == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToList();
    }

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    /// <summary>A raid1 btrfs with a directory big enough for a two-level fs tree; one leaf (not the root) overwritten
    /// on the first device's copy while unmounted; mounted again. Returns the leaf's logical address.</summary>
    internal static ulong DamageOneMetadataCopy(BtrfsLoopFs fs)
    {
        Directory.CreateDirectory(Path.Combine(fs.Mnt, "d"));
        BtrfsLoopFs.Sh($"cd {fs.Mnt}/d && for i in $(seq 1 2000); do : > file-with-a-rather-long-name-$i; done; sync");
        fs.Umount();
        var dump = BtrfsLoopFs.Sh($"btrfs inspect-internal dump-tree -t 5 {fs.Loops[0]}");
        var leaves = LeafLine().Matches(dump).Select(m => ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToList();
        Assert.True(leaves.Count >= 4, "fs tree has too few leaves:\n" + dump[..Math.Min(2000, dump.Length)]);
        ulong leaf = leaves[leaves.Count / 2];
        var phys = fs.PhysicalOn(leaf, fs.Loops[0]);
        Assert.True(phys is not null, $"leaf {leaf} has no copy on {fs.Loops[0]}");
        fs.Corrupt(0, phys!.Value);
        fs.Mount();
        return leaf;
    }

    private static (ulong Sum, string Text) DeviceStats(string mnt)
    {
        var o = BtrfsLoopFs.Sh($"btrfs device stats {mnt}");
        ulong sum = 0;
        foreach (Match m in StatLine().Matches(o)) sum += ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return (sum, o);
    }

    [Fact]
    public void Silent_metadata_read_repair_is_an_event_of_the_filesystem_and_starts_a_scrub_of_that_device()
    {
        Sh.RequireRoot();
        BtrfsLoopFs.RequireTools();
        using var fs = new BtrfsLoopFs(2, 300L << 20, "-d raid1 -m raid1");
        ulong leaf = DamageOneMetadataCopy(fs);
        string state = Path.Combine(fs.Dir, "state");
        string uuid = Sh.Check("blkid", "-p", "-o", "value", "-s", "UUID", fs.Loops[0]).Trim();
        using var d = new DaemonProcess(["run", "--state-dir", state, "--poll-interval", "1"]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: btrfs filesystem attached", StringComparison.Ordinal)), "the attach", 30);
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: btrfs filesystem attached", StringComparison.Ordinal) && l.Contains("kernel-log"));

        // read the directory in fresh processes of both pid parities (raid1 reads the mirror by pid) until the
        // kernel has read the bad copy and repaired it
        var sw = Stopwatch.StartNew();
        for (int i = 0; !d.HasLine(l => l.Contains("read error corrected")) && sw.Elapsed < TimeSpan.FromSeconds(60); i++)
        {
            BtrfsLoopFs.DropCaches();
            if (i % 2 == 1) BtrfsLoopFs.Sh("true", check: false);
            BtrfsLoopFs.Sh($"ls -l {fs.Mnt}/d > /dev/null", check: false);
            Thread.Sleep(300);
        }
        d.WaitFor(() => d.HasLine(l => l.Contains("read error corrected")), "the kernel's read-repair line", 5);
        long detectMs = sw.ElapsedMilliseconds;
        // the counters did not move: the log line is the only trace
        var stats = DeviceStats(fs.Mnt);
        Assert.True(stats.Sum == 0, "device stats moved (the test premise is that they do not):\n" + stats.Text);

        d.WaitFor(() => d.HasLine(l => l.Contains($"scrubbing {fs.Loops[0]}") && l.Contains("kernel log")), "the scrub of the damaged device", 30);
        d.WaitFor(() => d.HasLine(l => l.Contains("scrub of") && l.Contains("finished:")), "the scrub's end", 90);
        Thread.Sleep(1500);
        Out(d.Output);
        Out($"read-repair line seen by the daemon {detectMs} ms after the first read");

        var hist = History(state);
        var corrected = hist.Where(e => Str(e, "message").Contains("read error corrected")).ToList();
        var one = Assert.Single(corrected);   // once per object, however often the kernel printed it
        Assert.Equal("MediaError", Str(one, "class"));
        Assert.Equal("Warning", Str(one, "severity"));
        Assert.Equal($"uuid:{uuid}", Str(one, "fs_id"));
        Assert.Equal(fs.Loops[0], Str(one, "device"));
        Assert.Contains($"logical {leaf}", Str(one, "message"));
        Assert.Equal(fs.Mnt, Str(one, "mount"));
        // the damage line before it (bad tree block / checksum) names the same block
        Assert.Contains(hist, e => Str(e, "class") == "MetadataCorrupt" && Str(e, "fs_id") == $"uuid:{uuid}" && Str(e, "message").Contains($"logical {leaf}"));
        // the scrub ran on the device the line named, for that reason, and ended clean
        var scrub = Assert.Single(hist, e => Str(e, "class") == "ScrubFinished" && Str(e, "message").Contains("KernelLog"));
        Assert.Equal($"uuid:{uuid}", Str(scrub, "fs_id"));
        Assert.Equal("Notice", Str(scrub, "severity"));
        // only the named device was scrubbed
        Assert.DoesNotContain(d.Lines, l => l.Contains($"scrubbing {fs.Loops[1]}"));

        // status: the read-repair is followed by a clean scrub: healthy, and device counters 0
        var st = Sh.Fshealer("status", "--state-dir", state, "--fs", fs.Mnt, "--json");
        Out(st.Out);
        Assert.True(st.Code == 0, $"status exit {st.Code}: {st.Out}{st.Err}");
        d.Kill();
    }

    [GeneratedRegex(@"^leaf (\d+) items", RegexOptions.Multiline)]
    private static partial Regex LeafLine();

    [GeneratedRegex(@"_errs\s+(\d+)")]
    private static partial Regex StatLine();
}
