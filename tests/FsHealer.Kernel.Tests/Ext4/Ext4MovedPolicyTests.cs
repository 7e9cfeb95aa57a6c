using System.Runtime.InteropServices;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Kernel.Tests.Mounts;

namespace FsHealer.Kernel.Tests.Ext4;

/// <summary>
/// The real daemon, a real `mount --move`: an ext4 filesystem attached under a configuration rule that matches its
/// mount point keeps that policy after it moves (same superblock), so an error reported at the new place is healed
/// as configured, not silently downgraded to "report" because the new path matches no rule.
/// </summary>
public sealed class Ext4MovedPolicyTests
{
    [Fact]
    public void A_moved_ext4_filesystem_keeps_the_policy_it_was_attached_with()
    {
        Sh.RequireRoot();
        ScratchFs.Require("ext4", "mkfs.ext4", "tune2fs");
        using var s = new MountScratch();
        string img = s.MakeImage("ext4", "moved", 32);
        string loop = s.Losetup(img);
        string a = s.MkDir("a"), b = s.MkDir("b");
        MountScratch.Mount(loop, a, "ext4");
        string state = Path.Combine(s.Dir, "state"), cfg = Path.Combine(s.Dir, "fshealer.json");
        File.WriteAllText(cfg, $$"""
            { "rules": [ { "name": "at-a", "match": { "mount_point": "{{a}}", "fs_type": "ext4" }, "ext4": { "policy": "schedule" } } ] }
            """);

        using var d = DaemonProcess.Run("--config", cfg, "--state-dir", state, "--poll-interval", "60", "--duration", "60");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{a}: ext4 filesystem attached", StringComparison.Ordinal)), "the attach at the first mount point", 30);
        Assert.Equal(0, MountScratch.mount(a, b, null, MountScratch.MS_MOVE, null) == 0 ? 0 : Marshal.GetLastPInvokeError());
        d.WaitFor(() => d.HasLine(l => l.Contains($"{b}: ext4 filesystem moved from {a}", StringComparison.Ordinal)), "the move", 15);

        File.WriteAllText($"/sys/fs/ext4/{Path.GetFileName(loop)}/trigger_fs_error", "moved policy test");

        d.WaitFor(() => d.HasLine(l => l.Contains("heal Schedule:", StringComparison.Ordinal)), "the scheduled check", 30);
        TestContext.Current.TestOutputHelper?.WriteLine(d.Output);
        Assert.Contains(d.Lines, l => l.StartsWith($"{b}: heal plan:", StringComparison.Ordinal));
        Assert.DoesNotContain(d.Lines, l => l.StartsWith($"{a}: heal plan:", StringComparison.Ordinal));
        var history = Sh.Fshealer("history", "--state-dir", state, "--class", "Decision").Out;
        Assert.Contains($"{b}: decision (schedule policy, rule at-a)", history);
    }
}
