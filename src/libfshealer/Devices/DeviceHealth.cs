using System.Globalization;
using System.Text;

namespace FsHealer.Devices;

/// <summary>What could be read about one device at one moment (absent files are simply missing here).</summary>
public sealed record DeviceSample(string Name, BlockKind Kind, IReadOnlyDictionary<string, ulong> Counters,
                                  IReadOnlyDictionary<string, string> States, BlockStat? Stat);

/// <summary>A health counter that went up between two samples.</summary>
public readonly record struct CounterRise(string Device, string Counter, ulong Before, ulong After)
{
    public ulong Delta => After - Before;
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Counter} {Before} -> {After} (+{Delta})");
}

/// <summary>A state (or a problem counter) that is not healthy right now: md degraded 1, state offline, suspended 1.</summary>
public readonly record struct DeviceProblem(string Device, string Name, string Value)
{
    public override string ToString() => $"{Device} {Name} {Value}";
}

public static class DeviceHealth
{
    /// <summary>Read every fact that exists for a device.</summary>
    public static DeviceSample Sample(ISysfsView v, BlockNode n)
    {
        var counters = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        var paths = n.HealthPaths;
        for (int i = 0; i < BlockFacts.Health.Length; i++)
        {
            var f = BlockFacts.Health[i];
            var text = v.Read(paths[i]);
            if (text is null) continue;
            switch (f.Format)
            {
                case FactFormat.Counter when BlockDecode.TryParseNumber(text, out ulong c): counters[f.Name] = c; break;
                case FactFormat.State when BlockDecode.ParseState(text) is { } s: states[f.Name] = s; break;
                case FactFormat.Text when BlockDecode.ParseText(text) is { } t: states[f.Name] = t; break;
            }
        }
        if (n.Kind == BlockKind.Nvme && !states.ContainsKey("state") && NvmeMultipathState(v, n.SysPath) is { } ms) states["state"] = ms;
        return new DeviceSample(n.Name, n.Kind, counters, states, BlockDecode.ParseStat(v.Read(paths[^1])));
    }

    /// <summary>NVMe native multipath: the namespace head's <c>device</c> is the subsystem (nvme-subsysN), which has no
    /// state but links every controller (nvme0, nvme1, ...): "live" when every controller is, else the first other
    /// state with its controller, e.g. "resetting(nvme1)".</summary>
    private static string? NvmeMultipathState(ISysfsView v, string path)
    {
        string? worst = null;
        bool any = false;
        foreach (var e in v.List($"{path}/device").Order(StringComparer.Ordinal).Take(64))
        {
            if (!e.StartsWith("nvme", StringComparison.Ordinal) || e.Length == 4 || e.AsSpan(4).ContainsAnyExceptInRange('0', '9')) continue;
            if (BlockDecode.ParseState(v.Read($"{path}/device/{e}/state")) is not { } st) continue;
            any = true;
            if (st != "live" && worst is null) worst = $"{st}({e})";
        }
        return worst ?? (any ? "live" : null);
    }

    private static readonly Dictionary<string, BlockFact> ByName = BlockFacts.Health.GroupBy(f => f.Name).ToDictionary(g => g.Key, g => g.First());

    /// <summary>Whether two samples of a device carry the same counters and states (the I/O statistics are not
    /// health): the common case of a periodic poll, which then needs no comparison at all.</summary>
    public static bool SameHealth(DeviceSample a, DeviceSample b)
    {
        if (a.Counters.Count != b.Counters.Count || a.States.Count != b.States.Count) return false;
        foreach (var (k, v) in a.Counters) if (!b.Counters.TryGetValue(k, out ulong w) || w != v) return false;
        foreach (var (k, v) in a.States) if (!b.States.TryGetValue(k, out var w) || !string.Equals(w, v, StringComparison.Ordinal)) return false;
        return true;
    }

    /// <summary>Problem counters that rose from <paramref name="before"/> to <paramref name="after"/>. A counter that
    /// went down (device re-probed, counters reset) is not a rise.</summary>
    public static List<CounterRise> Rises(DeviceSample before, DeviceSample after)
    {
        var list = new List<CounterRise>();
        foreach (var (name, now) in after.Counters)
            if (ByName.TryGetValue(name, out var f) && f.RiseIsProblem && before.Counters.TryGetValue(name, out ulong was) && now > was)
                list.Add(new CounterRise(after.Name, name, was, now));
        return list;
    }

    /// <summary>Unhealthy states now: a state outside its healthy set, or md degraded &gt; 0.</summary>
    public static List<DeviceProblem> Problems(DeviceSample s)
    {
        var list = new List<DeviceProblem>();
        foreach (var (name, value) in s.States)
            if (ByName.TryGetValue(name, out var f) && f.OkStates is { } ok && !ok.Contains(value, StringComparer.Ordinal))
                list.Add(new DeviceProblem(s.Name, name, value));
        if (s.Counters.TryGetValue("degraded", out ulong d) && d > 0)
            list.Add(new DeviceProblem(s.Name, "degraded", d.ToString(CultureInfo.InvariantCulture)));
        return list;
    }

    /// <summary>"sdb (scsi, 8:16, sysfs devices/.../sdb): state running, ioerr_cnt 3, iodone_cnt 1234; 10 reads, 3 writes, 0 in flight".</summary>
    public static string FormatSample(BlockNode n, DeviceSample s)
    {
        var sb = new StringBuilder();
        sb.Append(n.Name).Append(" (").Append(n.KindName).Append(", ").Append(n.Dev).Append(", ").Append(n.Relation switch
        {
            BlockRelation.WholeDisk => "whole disk",
            BlockRelation.Member => "stack member",
            BlockRelation.BackingStore => "holds the backing file",
            _ => "filesystem device",
        }).Append(')');
        var parts = new List<string>();
        foreach (var f in BlockFacts.Health)
        {
            if (f.Format == FactFormat.Counter && s.Counters.TryGetValue(f.Name, out ulong c)) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{f.Name} {c}"));
            else if (f.Format != FactFormat.Counter && s.States.TryGetValue(f.Name, out var v)) parts.Add($"{f.Name} {v}");
        }
        if (n.BackingFile is not null) parts.Add("file " + n.BackingFile + (n.BackingDeleted ? " (deleted)" : ""));
        if (s.Stat is { } st) parts.Add(string.Create(CultureInfo.InvariantCulture, $"{st.Reads} reads, {st.Writes} writes, {st.InFlight} in flight"));
        if (n.Note is not null) parts.Add(n.Note);
        if (parts.Count > 0) sb.Append(": ").AppendJoin(", ", parts);
        return sb.ToString();
    }

    /// <summary>
    /// The follow-up line: "/srv: on sdb (scsi, state running) via md0: sdb ioerr_cnt 3 -> 11 (+8); md0 degraded 1".
    /// <paramref name="baseline"/> and <paramref name="now"/> are keyed by sysfs path.
    /// </summary>
    public static string Describe(string mount, IReadOnlyList<BlockNode> roots, IReadOnlyDictionary<string, DeviceSample> baseline,
                                  IReadOnlyDictionary<string, DeviceSample> now, string since, out int rising, out bool problems)
    {
        var nodes = BlockNode.AllOf(roots);
        var leaves = nodes.Where(n => n.Below.Count == 0).ToList();
        var via = nodes.Where(n => n.Below.Count > 0).ToList();
        var sb = new StringBuilder(mount).Append(": ");
        if (nodes.Count == 0) sb.Append("no block device found under this filesystem");
        else
        {
            sb.Append("on ");
            for (int i = 0; i < leaves.Count; i++)
            {
                var n = leaves[i];
                if (i > 0) sb.Append(", ");
                sb.Append(n.Name).Append(" (").Append(n.KindName);
                if (now.TryGetValue(n.SysPath, out var s))
                {
                    if (s.States.TryGetValue("state", out var st)) sb.Append(", state ").Append(st);
                    if (s.Stat is { InFlight: > 0 } bs) sb.Append(", ").Append(bs.InFlight.ToString(CultureInfo.InvariantCulture)).Append(" I/Os in flight");
                }
                if (n.BackingFile is not null) sb.Append(", file ").Append(n.BackingFile);
                if (n.Note is not null) sb.Append(", ").Append(n.Note);
                sb.Append(')');
            }
            if (via.Count > 0)
            {
                sb.Append(" via ");
                for (int i = 0; i < via.Count; i++)
                {
                    var n = via[i];
                    if (i > 0) sb.Append(", ");
                    sb.Append(n.Name);
                    if (now.TryGetValue(n.SysPath, out var s) && s.States.TryGetValue("dm_name", out var dm)) sb.Append(" (").Append(dm).Append(')');
                    else if (n.BackingFile is not null) sb.Append(" (file ").Append(n.BackingFile).Append(n.BackingDeleted ? ", deleted)" : ")");
                }
            }
        }
        var parts = new List<string>();
        var risen = new HashSet<(string, string)>();
        rising = 0;
        foreach (var n in nodes)
            if (baseline.TryGetValue(n.SysPath, out var b) && now.TryGetValue(n.SysPath, out var a))
                foreach (var r in Rises(b, a)) { parts.Add($"{n.Name} {r}"); risen.Add((n.Name, r.Counter)); rising++; }
        // current problems, without repeating a counter whose rise is already listed ("md0 degraded 0 -> 1 (+1)")
        var bad = nodes.Where(n => now.ContainsKey(n.SysPath)).SelectMany(n => Problems(now[n.SysPath]))
                       .Where(p => !risen.Contains((p.Device, p.Name))).ToList();
        problems = bad.Count > 0;
        parts.AddRange(bad.Select(p => p.ToString()));
        if (parts.Count > 0) sb.Append(": ").AppendJoin("; ", parts);
        else if (nodes.Count > 0)
            sb.Append(nodes.Any(n => now.TryGetValue(n.SysPath, out var s) && s.Counters.Keys.Any(k => ByName.TryGetValue(k, out var f) && f.RiseIsProblem))
                ? ": no device error counter rose since " + since
                : ": the kernel exposes no error counters for these devices");
        return sb.ToString();
    }
}
