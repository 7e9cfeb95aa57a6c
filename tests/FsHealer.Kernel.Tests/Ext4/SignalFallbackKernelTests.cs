using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Ext4;

/// <summary>
/// Issue 17, "no mounted, supported filesystem is attached without a working signal": one test per signal that can
/// fail, on the real kernel, with the whole daemon (<c>fshealer run</c>). The failure is real, not simulated:
/// the kernel refusing the fanotify mark (an ext4 with a null UUID has a zero fsid: ENODEV); sysfs error counters
/// missing (the daemon runs in a mount namespace whose /sys/fs/ext4 is an empty tmpfs); the kernel log unreadable
/// (the daemon runs without CAP_SYSLOG under kernel.dmesg_restrict=1). Each must be said once, name the thing, and
/// the remaining signal must still find a real error.
/// </summary>
[Collection("ext4-kernel")]
public class SignalFallbackKernelTests
{
    private static void Out(string s) => TestContext.Current.TestOutputHelper?.WriteLine(s);

    private static string Config(string dir, string mnt)
    {
        string path = Path.Combine(dir, "fshealer.json");
        // report only: nothing acts on the filesystems, the test is about what the daemon sees
        File.WriteAllText(path, $$"""{ "rules": [ { "name": "t", "match": { "mount_point": "{{mnt}}" }, "ext4": { "policy": "report" } } ] }""");
        return path;
    }

    /// <summary>The daemon in a mount namespace of its own whose /sys/fs/ext4 is empty (every ext4's counters gone).</summary>
    private static readonly string[] HiddenSysfs =
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs fshealer-test-empty /sys/fs/ext4 && exec \"$0\" \"$@\""];

    private static void NullUuid(Ext4Loop fs)
    {
        Sh.Check("umount", fs.Mnt);
        Sh.Check("e2fsck", "-fy", fs.Device);
        Sh.Check("tune2fs", "-U", "clear", fs.Device);
        Sh.Check("mount", "-o", "errors=continue", fs.Device, fs.Mnt);
        Assert.Equal("", Sh.Run("blkid", "-c", "/dev/null", "-p", "-s", "UUID", "-o", "value", fs.Device).Out.Trim());
    }

    private static int Count(DaemonProcess d, string mnt, string text) => d.Lines.Count(l => l.StartsWith(mnt + ":") && l.Contains(text));

    [Fact]
    public void Null_uuid_ext4_whose_fanotify_mark_is_refused_is_polled_and_its_error_found()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        NullUuid(fs);
        string state = Path.Combine(fs.Dir, "state");
        using var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state, "--poll-interval", "1"]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: fanotify cannot watch this filesystem") && l.Contains("ENODEV")
                                        && l.EndsWith("polling its sysfs error counters instead")), "the fallback to polling, said");
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached") && l.Contains("sysfs error counters polled"));
        fs.TriggerFsError("fshealer null-uuid test");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: 1 error(s) not reported by fanotify") && l.Contains("errors_count on")), "the error found by polling", 20);
        Thread.Sleep(2500);   // more poll ticks: the fallback and the error are each said once
        Assert.Equal(1, Count(d, fs.Mnt, "fanotify cannot watch this filesystem"));
        Assert.Equal(1, Count(d, fs.Mnt, "not reported by fanotify"));
        var st = Sh.Fshealer("status", "--json", "--state-dir", state, "--fs", fs.Mnt);
        Out(st.Out);
        Assert.Contains("\"degraded\"", st.Out);
        d.Kill();
    }

    [Fact]
    public void Ext4_with_its_sysfs_counters_missing_is_watched_by_fanotify_alone_and_says_so_once()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("unshare");
        using var fs = new Ext4Loop();
        string state = Path.Combine(fs.Dir, "state");
        using var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state, "--poll-interval", "1"], wrapper: HiddenSysfs);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached")), "the attach");
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached") && l.Contains("fanotify FAN_FS_ERROR only (sysfs error counters unreadable:")
                                      && l.Contains($"/sys/fs/ext4/{fs.DevName}/errors_count"));
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: sysfs error counters unreadable") && l.Contains("errors are seen through fanotify only")), "the missing counters, said");
        // the test's own namespace still has the real sysfs: the kernel error reaches the daemon through fanotify
        fs.TriggerFsError("fshealer hidden-sysfs test");
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: EUCLEAN")), "the error, through fanotify", 10);
        Thread.Sleep(3000);   // three poll ticks: no repetition, no per-attribute noise
        Assert.Equal(1, d.Lines.Count(l => l.StartsWith($"{fs.Mnt}: sysfs error counters unreadable")));
        Assert.DoesNotContain(d.Lines, l => l.Contains($"/sys/fs/ext4/{fs.DevName}/msg_count"));
        Assert.DoesNotContain(d.Lines, l => l.Contains("cannot reconcile"));
        d.Kill();
    }

    [Fact]
    public void Ext4_with_neither_fanotify_nor_sysfs_is_said_to_have_no_working_signal()
    {
        Ext4Loop.SkipUnlessPossible();
        Sh.RequireTools("unshare");
        using var fs = new Ext4Loop();
        NullUuid(fs);
        string state = Path.Combine(fs.Dir, "state");
        using var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state, "--poll-interval", "1"], wrapper: HiddenSysfs);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: ") && l.Contains("ENODEV") && l.Contains("no working error signal")), "no working signal, said");
        Thread.Sleep(2000);
        Assert.Equal(1, Count(d, fs.Mnt, "no working error signal"));
        // not claimed as watched by fanotify or by polling
        Assert.DoesNotContain(d.Lines, l => l.StartsWith($"{fs.Mnt}: ext4 filesystem attached") && (l.Contains("fanotify FAN_FS_ERROR") || l.Contains("polled")));
        d.Kill();
    }

    [Fact]
    public void Btrfs_without_a_readable_kernel_log_says_what_it_cannot_see_and_keeps_its_counters()
    {
        ScratchFs.Require("btrfs", "setpriv");
        if (File.ReadAllText("/proc/sys/kernel/dmesg_restrict").Trim() != "1")
            Assert.Skip("kernel.dmesg_restrict is 0: /dev/kmsg is readable without CAP_SYSLOG, the failure cannot be made");
        using var fs = ScratchFs.Create("btrfs", 300, tag: "kmsg-eperm");
        string state = Path.Combine(fs.Dir, "state");
        using var d = new DaemonProcess(["run", "--config", Config(fs.Dir, fs.Mnt), "--state-dir", state],
            wrapper: ["setpriv", "--inh-caps=-syslog", "--bounding-set=-syslog"]);
        d.WaitFor(() => d.HasLine(l => l.StartsWith($"{fs.Mnt}: btrfs kernel log not watched (open /dev/kmsg: EPERM")), "the btrfs kernel log, said");
        d.WaitFor(() => d.HasLine(l => l.StartsWith("fshealer: kernel log not readable (open /dev/kmsg: EPERM") && l.Contains("CAP_SYSLOG")), "mount failures, said");
        Assert.Contains(d.Lines, l => l.StartsWith($"{fs.Mnt}: btrfs filesystem attached") && l.Contains("btrfs device error counters")
                                      && !l.Contains("btrfs kernel-log lines"));
        Thread.Sleep(2000);
        Assert.Equal(1, Count(d, fs.Mnt, "btrfs kernel log not watched"));
        var st = Sh.Fshealer("status", "--json", "--state-dir", state, "--fs", fs.Mnt);
        Out(st.Out);
        Assert.Contains("\"healthy\"", st.Out);
        d.Kill();
    }
}
