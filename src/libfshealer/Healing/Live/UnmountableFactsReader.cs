using System.Security.Cryptography;
using FsHealer.Interop;

namespace FsHealer.Healing.Live;

/// <summary>
/// The live half of repairing an unmountable filesystem (issue 17): what the device looks like now (mounted anywhere
/// visible, held, its tool present), its fstab line, and a fingerprint of its superblock area (the rate limit's "has it
/// changed since the failed attempt"). <see cref="UnmountablePlanner"/> decides.
/// </summary>
public static class UnmountableFactsReader
{
    public static UnmountableFacts Read(FilesystemIdentity id, string device, UnmountablePolicy policy, bool damage)
    {
        var probe = new LiveHealHost().ProbeDevice(device);
        // every mount of this device number, in this mount namespace and in every other one visible through /proc
        var mounted = LiveHealHost.OtherMounts(id.DevKey, "", 0);
        foreach (var m in probe.MountedAt) if (!mounted.Contains(m)) mounted.Add(m);
        var missing = new List<string>();
        if (RepairTools.Fsck.TryGetValue(id.FsType, out var tool) && ToolRunner.FindInPath(tool.Program) is null) missing.Add(tool.Program);
        FstabEntry? entry = null;
        string note;
        bool targetExists = true;
        if (!policy.Mount) note = "not looked up";
        else
        {
            string text;
            try { text = File.ReadAllText(policy.FstabPath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                text = "";
                note = $"cannot read {policy.FstabPath}: {e.Message}";
                goto noFstab;
            }
            entry = Fstab.Find(Fstab.Parse(text), new DeviceFacts(id.DevKey, id.Uuid), ResolveBlock, out note);
            if (entry is not null) targetExists = Directory.Exists(entry.Target);
        noFstab:;
        }
        return new UnmountableFacts
        {
            Identity = id, Device = device, Policy = policy, Damage = damage,
            MountedAt = mounted, Busy = probe.Error is null && probe.Busy, MissingPrograms = missing,
            Fstab = entry, FstabNote = note, TargetExists = targetExists,
        };
    }

    /// <summary>The device number of the block device at <paramref name="path"/> (links followed), or null.</summary>
    public static ulong? ResolveBlock(string path) =>
        FsIoctl.Stat(path, out _, out ulong rdev, out uint mode) == 0 && (mode & FsIoctl.S_IFMT) == FsIoctl.S_IFBLK ? rdev : null;

    /// <summary>SHA-256 of the first <see cref="SuperblockLayout.BytesNeeded"/> bytes of the device (every filesystem's
    /// primary superblock), hex; null when it cannot be read.</summary>
    public static string? Fingerprint(string device)
    {
        using var fd = Libc.Open(device, Libc.O_RDONLY, out _);
        if (fd.IsInvalid) return null;
        var head = new byte[SuperblockLayout.BytesNeeded];
        int n = Libc.ReadFull(fd, head);
        return n <= 0 ? null : Convert.ToHexStringLower(SHA256.HashData(head.AsSpan(0, n)));
    }
}
