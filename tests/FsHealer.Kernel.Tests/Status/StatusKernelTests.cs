using FsHealer.Cli.Commands;
using System.Text.Json;
using FsHealer.Mounts.Live;
using FsHealer.Model;
using FsHealer.Kernel.Tests.Ext4;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Service.History.Live;

namespace FsHealer.Kernel.Tests.Status;

public sealed class StatusKernelTests : IDisposable
{
    private readonly string _state = Path.Combine("/tmp", $"fshealer-status-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_state, true); } catch (IOException) { }
    }

    private (int Rc, JsonElement Fs, string Text) Status(string mnt)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = StatusCommand.Run(true, _state, null, mnt, o, e);
        TestContext.Current.TestOutputHelper?.WriteLine($"exit {rc}\n{o}\n{e}");
        using var doc = JsonDocument.Parse(o.ToString());
        var fs = doc.RootElement.GetProperty("filesystems").EnumerateArray().Single().Clone();
        return (rc, fs, o.ToString());
    }

    private (int Rc, JsonElement Fs, JsonElement Root) StatusWithRoot(string mnt)
    {
        var (rc, fs, text) = Status(mnt);
        using var doc = JsonDocument.Parse(text);
        return (rc, fs, doc.RootElement.Clone());
    }

    [Fact]
    public void Ext4_clean_is_healthy_then_an_fs_error_makes_it_degraded()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();

        var (rc, j, root0) = StatusWithRoot(fs.Mnt);
        Assert.Equal(1, rc);                                            // no daemon: nothing watches it — not healthy overall
        Assert.Equal("healthy", j.GetProperty("health").GetString());   // the filesystem itself is
        Assert.False(root0.GetProperty("monitored").GetBoolean());
        Assert.Equal("degraded", root0.GetProperty("health").GetString());
        Assert.Equal(0UL, j.GetProperty("error_count").GetUInt64());
        Assert.Equal("ext4", j.GetProperty("fs_type").GetString());
        Assert.Equal("fshtest", j.GetProperty("label").GetString()); // udev link or blkid
        Assert.Matches("^[0-9a-f-]{36}$", j.GetProperty("uuid").GetString());
        Assert.Contains("ext4: report errors only", j.GetProperty("policy").GetString());
        Assert.Equal("stopped", j.GetProperty("policy_source").GetString());   // no daemon on this state directory
        Assert.Equal("report", j.GetProperty("policy_action").GetString());

        File.WriteAllText(Path.Combine(fs.SysDir, "trigger_fs_error"), "fshealer status test");
        fs.WaitErrorsCount("1");
        (rc, j, _) = Status(fs.Mnt);
        Assert.Equal(1, rc);
        Assert.Equal("degraded", j.GetProperty("health").GetString());
        Assert.Equal(1UL, j.GetProperty("error_count").GetUInt64());
        Assert.Contains("1 error(s) recorded by the kernel", j.GetProperty("reasons").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void Recorded_shutdown_makes_it_an_error_and_a_good_repair_shows_its_age()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        var store = HistoryStore.Open(_state, out var err);
        Assert.NotNull(store);
        using (var sink = new HistorySink(store))
        {
            sink.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = "attached", Time = DateTimeOffset.UtcNow.AddHours(-2) });
            sink.Publish(new FsEvent { Class = EventClass.OfflineRepair, Severity = Severity.Notice, Mount = fs.Mnt, FsType = "ext4", Message = "e2fsck clean", Time = DateTimeOffset.UtcNow.AddHours(-1) });
        }
        var (rc, j, text) = Status(fs.Mnt);
        Assert.Equal(1, rc);   // healthy filesystem, but no daemon
        Assert.Equal("healthy", j.GetProperty("health").GetString());
        Assert.InRange(j.GetProperty("last_good_check_age_seconds").GetInt64(), 3500, 3700);

        using (var sink = new HistorySink(HistoryStore.Open(_state, out _)!))
            sink.Publish(new FsEvent { Class = EventClass.Shutdown, Severity = Severity.Critical, Mount = fs.Mnt, FsType = "ext4", Message = "journal aborted" });
        (rc, j, _) = Status(fs.Mnt);
        Assert.Equal(2, rc);
        Assert.Equal("error", j.GetProperty("health").GetString());
        Assert.Contains("shutdown: journal aborted", j.GetProperty("last_event").GetString());
    }

    /// <summary>What the daemon records on attach (Attached, then the policy Decision) wins over the configuration
    /// file for the current mount; a Detach after it hands back to the configuration.</summary>
    [Fact]
    public void Policy_recorded_by_the_daemon_for_the_current_mount_wins_over_the_configuration()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        var offline = new FsHealer.Config.EffectivePolicy { Ext4 = FsHealer.Config.Ext4Policy.OfflineRepair };
        var attached = DateTimeOffset.UtcNow.AddMinutes(-3);
        using (var sink = new HistorySink(HistoryStore.Open(_state, out var err) ?? throw new InvalidOperationException(err)))
        {
            // an older attach with another policy, then the current one (the same millisecond as its Decision)
            sink.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = $"{fs.Mnt}: attached", Time = attached.AddHours(-1) });
            sink.Publish(new FsEvent { Class = EventClass.Decision, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = $"{fs.Mnt}: policy: ext4: schedule e2fsck at next boot (rule old)", Structure = "schedule", Time = attached.AddHours(-1) });
            sink.Publish(new FsEvent { Class = EventClass.Attached, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = $"{fs.Mnt}: attached", Time = attached });
            sink.Publish(new FsEvent { Class = EventClass.Decision, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = $"{fs.Mnt}: policy: {offline.Describe("ext4")}", Structure = offline.ActionName("ext4"), Time = attached });
        }
        // a daemon is running on this state directory (it holds the lock; status only tests it)
        using var daemon = FsHealer.Service.Live.DaemonLock.TryAcquire(_state, out _, out var lockError) ?? throw new InvalidOperationException(lockError);
        var (rc, j, root) = StatusWithRoot(fs.Mnt);
        Assert.True(root.GetProperty("daemon_running").GetBoolean());
        Assert.Equal(Environment.ProcessId, root.GetProperty("daemon_pid").GetInt32());
        Assert.Equal(0, rc);
        Assert.Equal("ext4: offline repair (unmount, e2fsck, remount) (rule (defaults))", j.GetProperty("policy").GetString());
        Assert.Equal("daemon", j.GetProperty("policy_source").GetString());
        Assert.Equal("offline-repair", j.GetProperty("policy_action").GetString());
        Assert.Equal("(defaults)", j.GetProperty("rule").GetString());
        Assert.Equal(attached.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), j.GetProperty("policy_since").GetString());

        var text = new StringWriter();
        Assert.Equal(0, StatusCommand.Run(false, _state, null, fs.Mnt, text, new StringWriter()));
        Assert.Contains($"policy: ext4: offline repair (unmount, e2fsck, remount) (rule (defaults)) — applied by the daemon since {attached.UtcDateTime:yyyy-MM-ddTHH:mm:ss}Z", text.ToString());

        using (var sink = new HistorySink(HistoryStore.Open(_state, out _)!))
            sink.Publish(new FsEvent { Class = EventClass.Detached, Severity = Severity.Info, Mount = fs.Mnt, FsType = "ext4", Message = $"{fs.Mnt}: detached" });
        (_, j, _) = Status(fs.Mnt);
        Assert.Equal("config", j.GetProperty("policy_source").GetString());
        Assert.Contains("ext4: report errors only", j.GetProperty("policy").GetString());
        text = new StringWriter();
        StatusCommand.Run(false, _state, null, fs.Mnt, text, new StringWriter());
        Assert.Contains("(from the configuration; the daemon has not attached this filesystem)", text.ToString());
        Assert.Contains($"daemon: running (pid {Environment.ProcessId})", text.ToString());

        // the daemon stops (its lock goes away with it): nothing acts on the filesystem any more, whatever it recorded
        daemon.Dispose();
        (_, j, root) = StatusWithRoot(fs.Mnt);
        Assert.False(root.GetProperty("daemon_running").GetBoolean());
        Assert.Equal("stopped", j.GetProperty("policy_source").GetString());
        text = new StringWriter();
        StatusCommand.Run(false, _state, null, fs.Mnt, text, new StringWriter());
        Assert.Contains("no fshealer daemon is running, so nothing acts on this filesystem now", text.ToString());
        Assert.Contains("daemon: NOT RUNNING", text.ToString());
        Assert.Contains("overall: degraded", text.ToString());
    }

    [Fact]
    public void Config_show_matches_the_loop_filesystem_by_label()
    {
        Ext4Loop.SkipUnlessPossible();
        using var fs = new Ext4Loop();
        Directory.CreateDirectory(_state);
        string cfg = Path.Combine(_state, "fshealer.json");
        File.WriteAllText(cfg, """
            { "rules": [ { "name": "other", "match": { "mount_point": "/nowhere/**" } },
                         { "name": "scratch", "match": { "label": "fsh*", "fs_type": "ext4" }, "ext4": { "policy": "schedule" } } ] }
            """);
        var o = new StringWriter();
        Assert.Equal(0, ConfigCommand.Check(cfg, o, new StringWriter()));
        Assert.Contains("OK (2 rule(s))", o.ToString());
        o = new StringWriter();
        Assert.Equal(0, ConfigCommand.Show(cfg, true, o, new StringWriter()));
        using var doc = JsonDocument.Parse(o.ToString());
        var mine = doc.RootElement.GetProperty("filesystems").EnumerateArray().Single(f => f.GetProperty("mount_point").GetString() == fs.Mnt);
        Assert.Equal("scratch", mine.GetProperty("rule").GetString());
        Assert.Equal("schedule", mine.GetProperty("policy").GetProperty("ext4").GetString());

        File.WriteAllText(cfg, "{ \"rules\": [ { \"match\": { \"label\": \"[x\" } } ] }");
        var e = new StringWriter();
        Assert.Equal(78, ConfigCommand.Check(cfg, new StringWriter(), e));
        Assert.Contains("$.rules[0].match.label", e.ToString());
    }

    [Fact]
    public void Xfs_live_state_healthy_then_shutdown_is_an_error()
    {
        FsHealer.Kernel.Tests.XfsPoll.XfsPristine.RequireEnvironment();
        Directory.CreateDirectory(_state);
        using var fs = ScratchFs.Create("xfs", 320, tag: "status");
        var (rc, j, _) = Status(fs.Mnt);
        Assert.Equal(1, rc);   // no daemon
        Assert.Equal("healthy", j.GetProperty("health").GetString());
        Assert.False(j.GetProperty("shutdown").GetBoolean());
        Assert.Empty(j.GetProperty("sick").EnumerateArray());
        Assert.Contains("autofsck", j.GetProperty("policy").GetString());

        Sh.Check("xfs_io", "-x", "-c", "shutdown", fs.Mnt);
        (rc, j, _) = Status(fs.Mnt);
        Assert.Equal(2, rc);
        Assert.True(j.GetProperty("shutdown").GetBoolean());
        Assert.Contains("filesystem is shut down", j.GetProperty("reasons").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void Not_a_supported_mount_is_unknown()
    {
        Ext4Loop.SkipUnlessPossible();
        var e = new StringWriter();
        Assert.Equal(3, StatusCommand.Run(false, _state, null, "/proc", new StringWriter(), e));
        Assert.Contains("not the mount point of a supported filesystem", e.ToString());
    }
}
