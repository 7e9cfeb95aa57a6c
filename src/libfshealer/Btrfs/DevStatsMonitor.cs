using System.Text.Json;
using System.Text.Json.Serialization;
using FsHealer.Text;

namespace FsHealer.Btrfs;

/// <summary>One device's counters as read by the poller.</summary>
public sealed record DeviceSample(ulong Devid, Guid Uuid, string Path, DevStatCounters Counters);

public enum DevStatsEventKind
{
    /// <summary>A counter went up: new errors on this device.</summary>
    Rise,
    /// <summary>First sight of a device with no saved state: counters taken as the baseline (non-zero ones are pre-existing errors).</summary>
    Baseline,
    /// <summary>A counter went down (stats reset with -z, device replaced, or counters not yet persisted at unmount). Not a rise.</summary>
    Reset,
    /// <summary>The device at this devid is a different device (uuid changed): replaced.</summary>
    Replaced,
    /// <summary>A known devid is no longer part of the filesystem.</summary>
    Removed,
}

/// <summary>A monitor event. For <see cref="DevStatsEventKind.Rise"/>, Counter/Old/New name the counter; WhileDown marks a rise found against the saved state at start.</summary>
public sealed record DevStatsEvent(DevStatsEventKind Kind, string Fsid, ulong Devid, string Path, DevStatKind? Counter,
    ulong Old, ulong New, bool WhileDown)
{
    public ulong Delta => New >= Old ? New - Old : New;

    public string Describe() => Kind switch
    {
        DevStatsEventKind.Rise => $"btrfs {Fsid}: device {Path} (devid {Devid}): {DevStatNames.Name(Counter!.Value)} rose {Old} -> {New} (+{Delta}){(WhileDown ? " while fshealer was not running" : "")}",
        DevStatsEventKind.Baseline => $"btrfs {Fsid}: device {Path} (devid {Devid}): baseline {(Counter is { } c ? $"{DevStatNames.Name(c)}={New} (pre-existing)" : "taken")}",
        DevStatsEventKind.Reset => $"btrfs {Fsid}: device {Path} (devid {Devid}): {DevStatNames.Name(Counter!.Value)} went down {Old} -> {New}; counters were reset, new baseline",
        DevStatsEventKind.Replaced => $"btrfs {Fsid}: devid {Devid} is now {Path} (device replaced); new baseline",
        DevStatsEventKind.Removed => $"btrfs {Fsid}: device {Path} (devid {Devid}) is gone from the filesystem",
        _ => $"btrfs {Fsid}: devid {Devid}: {Kind}",
    };
}

/// <summary>Persisted last-seen counters for one device.</summary>
public sealed class DeviceState
{
    public ulong Devid { get; set; }
    public string Uuid { get; set; } = "";
    public string Path { get; set; } = "";
    public ulong[] Counters { get; set; } = new ulong[BtrfsAbi.DevStatValuesMax];
    /// <summary>The counters right after the last scrub of this device that left it clean (completed, nothing
    /// uncorrectable): what health compares the live counters with (issue 17: counters are persistent; errors a
    /// scrub repaired must not keep a clean filesystem degraded forever). Null: no clean scrub recorded.</summary>
    public ulong[]? CleanCounters { get; set; }
    /// <summary>When <see cref="CleanCounters"/> was taken.</summary>
    public DateTimeOffset? CleanAt { get; set; }
}

/// <summary>Persisted state for one filesystem.</summary>
public sealed class FilesystemState
{
    public string Fsid { get; set; } = "";
    public List<DeviceState> Devices { get; set; } = [];
    /// <summary>When the last full scrub finished (UTC), if known.</summary>
    public DateTimeOffset? LastFullScrub { get; set; }
}

/// <summary>The daemon's btrfs state file.</summary>
public sealed class DevStatsState
{
    public int Version { get; set; } = 1;
    public List<FilesystemState> Filesystems { get; set; } = [];

    public FilesystemState? Find(string fsid) => Filesystems.Find(f => string.Equals(f.Fsid, fsid, StringComparison.OrdinalIgnoreCase));

    public FilesystemState GetOrAdd(string fsid)
    {
        var f = Find(fsid);
        if (f is null) { f = new FilesystemState { Fsid = fsid }; Filesystems.Add(f); }
        return f;
    }

    public string ToJson() => JsonSerializer.Serialize(this, BtrfsJsonContext.Default.DevStatsState);

    /// <summary>Parse the state file. Bad JSON gives null and a diagnostic; never throws.</summary>
    public static DevStatsState? FromJson(string json, out string? error)
    {
        error = null;
        try
        {
            var s = JsonSerializer.Deserialize(json, BtrfsJsonContext.Default.DevStatsState);
            if (s is null) { error = "state file: empty document"; return null; }
            s.Filesystems ??= [];
            s.Filesystems.RemoveAll(f => f is null);
            foreach (var f in s.Filesystems)
            {
                f.Fsid ??= "";
                f.Devices ??= [];
                f.Devices.RemoveAll(d => d is null);
                foreach (var d in f.Devices)
                {
                    d.Uuid ??= ""; d.Path ??= "";
                    if (d.Counters is null || d.Counters.Length != BtrfsAbi.DevStatValuesMax)
                    {
                        var c = new ulong[BtrfsAbi.DevStatValuesMax];
                        d.Counters?.AsSpan(0, Math.Min(d.Counters.Length, c.Length)).CopyTo(c);
                        d.Counters = c;
                    }
                }
            }
            return s;
        }
        catch (JsonException e) { error = $"state file: {e.Message}"; return null; }
        catch (NotSupportedException e) { error = $"state file: {e.Message}"; return null; }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    Converters = [typeof(ExactStringJsonConverter)])] // device paths are kept exact
[JsonSerializable(typeof(DevStatsState))]
internal sealed partial class BtrfsJsonContext : JsonSerializerContext;

/// <summary>
/// Device error-counter state machine. The first observation of a filesystem compares against the saved state
/// (a rise while the daemon was down is reported) or, without saved state, takes a baseline. Later observations
/// report each counter that went up. A counter that went down is a reset (stats -z, replace), never a negative rise;
/// the value after a reset counts as new errors if it is non-zero.
/// </summary>
public sealed class DevStatsMonitor
{
    private readonly DevStatsState _state;
    private readonly HashSet<string> _attached = new(StringComparer.OrdinalIgnoreCase);

    public DevStatsMonitor(DevStatsState? saved = null) => _state = saved ?? new DevStatsState();

    /// <summary>True when the state changed since the last <see cref="Snapshot"/> call with clearDirty.</summary>
    public bool Dirty { get; private set; }

    public DevStatsState State => _state;

    public bool IsAttached(string fsid) => _attached.Contains(fsid);

    /// <summary>Forget the in-memory attachment (e.g. on unmount); the saved counters stay for the next attach.</summary>
    public void Detach(string fsid) => _attached.Remove(fsid);

    /// <summary>Mark the state unsaved again (a save failed).</summary>
    public void MarkDirty() => Dirty = true;

    public string Snapshot(bool clearDirty = true)
    {
        if (clearDirty) Dirty = false;
        return _state.ToJson();
    }

    public IReadOnlyList<DevStatsEvent> Observe(string fsid, IReadOnlyList<DeviceSample> samples)
    {
        var events = new List<DevStatsEvent>();
        bool attach = _attached.Add(fsid);
        var fs = _state.GetOrAdd(fsid);
        var seen = new HashSet<ulong>();
        foreach (var s in samples)
        {
            if (!seen.Add(s.Devid)) continue;
            string uuid = s.Uuid.ToString("D");
            var d = fs.Devices.Find(x => x.Devid == s.Devid);
            if (d is null)
            {
                d = new DeviceState { Devid = s.Devid, Uuid = uuid, Path = s.Path };
                fs.Devices.Add(d);
                Dirty = true;
                Store(d, s.Counters);
                bool any = false;
                for (int i = 0; i < BtrfsAbi.DevStatValuesMax; i++)
                    if (s.Counters[(DevStatKind)i] != 0)
                    {
                        any = true;
                        events.Add(new DevStatsEvent(DevStatsEventKind.Baseline, fsid, s.Devid, s.Path, (DevStatKind)i, 0, s.Counters[(DevStatKind)i], false));
                    }
                if (!any) events.Add(new DevStatsEvent(DevStatsEventKind.Baseline, fsid, s.Devid, s.Path, null, 0, 0, false));
                continue;
            }
            if (!string.Equals(d.Uuid, uuid, StringComparison.OrdinalIgnoreCase) && d.Uuid.Length > 0)
            {
                events.Add(new DevStatsEvent(DevStatsEventKind.Replaced, fsid, s.Devid, s.Path, null, 0, 0, attach));
                d.Uuid = uuid; d.Path = s.Path;
                d.CleanCounters = null; d.CleanAt = null;
                Store(d, s.Counters);
                continue;
            }
            if (d.Uuid.Length == 0) { d.Uuid = uuid; Dirty = true; }
            if (d.Path != s.Path) { d.Path = s.Path; Dirty = true; }
            for (int i = 0; i < BtrfsAbi.DevStatValuesMax; i++)
            {
                ulong old = d.Counters[i], now = s.Counters[(DevStatKind)i];
                if (now > old)
                    events.Add(new DevStatsEvent(DevStatsEventKind.Rise, fsid, s.Devid, s.Path, (DevStatKind)i, old, now, attach));
                else if (now < old)
                {
                    events.Add(new DevStatsEvent(DevStatsEventKind.Reset, fsid, s.Devid, s.Path, (DevStatKind)i, old, now, attach));
                    // the clean-scrub baseline counted errors of a count that is gone: new errors must not hide under it
                    if (d.CleanCounters is not null) { d.CleanCounters = null; d.CleanAt = null; Dirty = true; }
                    // Errors counted since the reset are new errors.
                    if (now > 0)
                        events.Add(new DevStatsEvent(DevStatsEventKind.Rise, fsid, s.Devid, s.Path, (DevStatKind)i, 0, now, attach));
                }
            }
            Store(d, s.Counters);
        }
        // Devices gone since the last observation.
        for (int i = fs.Devices.Count - 1; i >= 0; i--)
        {
            var d = fs.Devices[i];
            if (seen.Contains(d.Devid)) continue;
            events.Add(new DevStatsEvent(DevStatsEventKind.Removed, fsid, d.Devid, d.Path, null, 0, 0, attach));
            fs.Devices.RemoveAt(i);
            Dirty = true;
        }
        return events;
    }

    /// <summary>A scrub of <paramref name="devid"/> left it clean: its counters now are the baseline health compares
    /// with. Call after the counters the scrub moved were observed. False when the device is not known.</summary>
    public bool RecordCleanScrub(string fsid, ulong devid, DateTimeOffset when)
    {
        var d = _state.Find(fsid)?.Devices.Find(x => x.Devid == devid);
        if (d is null) return false;
        d.CleanCounters = [.. d.Counters];
        d.CleanAt = when;
        Dirty = true;
        return true;
    }

    public void RecordFullScrub(string fsid, DateTimeOffset when)
    {
        _state.GetOrAdd(fsid).LastFullScrub = when;
        Dirty = true;
    }

    private void Store(DeviceState d, DevStatCounters c)
    {
        for (int i = 0; i < BtrfsAbi.DevStatValuesMax; i++)
        {
            ulong v = c[(DevStatKind)i];
            if (d.Counters[i] != v) { d.Counters[i] = v; Dirty = true; }
        }
    }
}

/// <summary>
/// Pure (issue 17, defect 2): btrfs device error counters are persistent — a filesystem whose errors a scrub repaired
/// keeps them forever. Health compares the live counters with the baseline each device got at its last clean scrub
/// (<see cref="DeviceState.CleanCounters"/>, kept in the state file keyed by the filesystem UUID): what was counted by
/// then was repaired and verified. A device with another UUID at that devid (replaced) or with counters below the
/// baseline (reset) has no baseline.
/// </summary>
public static class DevStatsBaseline
{
    public readonly record struct Comparison(ulong Total, ulong Baseline, DateTimeOffset? At)
    {
        /// <summary>Errors counted since the last clean scrub (all of them where there was none).</summary>
        public ulong SinceClean => Total - Baseline;
    }

    public static Comparison Compare(IReadOnlyList<(ulong Devid, Guid Uuid, DevStatCounters Now)> devices, FilesystemState? saved)
    {
        ulong total = 0, baseline = 0;
        DateTimeOffset? at = null;
        foreach (var (devid, uuid, now) in devices)
        {
            var d = saved?.Devices.Find(x => x.Devid == devid);
            bool same = d?.CleanCounters is { Length: BtrfsAbi.DevStatValuesMax }
                && (d.Uuid.Length == 0 || string.Equals(d.Uuid, uuid.ToString("D"), StringComparison.OrdinalIgnoreCase));
            bool reset = false;
            ulong devBase = 0;
            for (int i = 0; i < BtrfsAbi.DevStatValuesMax; i++)
            {
                ulong v = now[(DevStatKind)i];
                total += v;
                if (!same) continue;
                ulong b = d!.CleanCounters![i];
                if (v < b) reset = true;
                devBase += Math.Min(b, v);
            }
            if (!same || reset) continue;
            baseline += devBase;
            if (d!.CleanAt is { } ca && (at is null || ca > at)) at = ca;
        }
        return new Comparison(total, baseline, at);
    }
}
