using FsHealer.Kernel.Tests.Infra;

namespace FsHealer.Kernel.Tests.Devices;

/// <summary>The real daemon: an ext4 error (trigger_fs_error → FAN_FS_ERROR) on a loop-mounted filesystem is followed
/// by one Diagnostic naming the devices under it (the loop device, its backing file, the disk holding that file).</summary>
public sealed class DeviceFollowUpDaemonTests
{
    [Fact]
    public void Ext4Error_IsFollowedByOneDeviceDiagnostic()
    {
        using var fs = ScratchFs.Create("ext4", sizeMiB: 32, tag: "devdaemon");
        string state = Path.Combine(fs.Dir, "state");
        using (var daemon = DaemonProcess.Run("--poll-interval", "1", "--state-dir", state, "--duration", "20"))
        {
            daemon.WaitFor(() => daemon.HasLine(l => l.StartsWith($"{fs.Mnt}: block devices: {fs.DevName} (loop, file ", StringComparison.Ordinal)), "attach and its device line");
            for (int i = 0; i < 3; i++) File.WriteAllText($"/sys/fs/ext4/{fs.DevName}/trigger_fs_error", "devhealth test");
            daemon.WaitFor(() => History(state).Contains($"{fs.Mnt}: on ", StringComparison.Ordinal), "the device follow-up in the history");
            daemon.Kill();
            TestContext.Current.TestOutputHelper?.WriteLine(daemon.Output);
        }
        var h = History(state);
        TestContext.Current.TestOutputHelper?.WriteLine(h);
        // three errors inside a minute: one follow-up
        Assert.Equal(1, h.Split('\n').Count(l => l.Contains($"{fs.Mnt}: on ", StringComparison.Ordinal)));
        // "on vda (virtio) via loop0 (file /tmp/.../img)", or "on loop0 (loop, file ...)" when the file's filesystem has no block device
        Assert.Contains($"{fs.DevName} (", h);
        Assert.Contains($"file {FsHealer.Interop.Realpath.Resolve(fs.Image, out _)}", h);
    }

    private static string History(string state)
    {
        var r = Sh.Fshealer("history", "--state-dir", state, "--class", "Diagnostic");
        return r.Out;
    }
}
