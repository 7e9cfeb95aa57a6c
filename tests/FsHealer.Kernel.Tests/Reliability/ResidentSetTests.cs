using System.IO.MemoryMappedFiles;
using FsHealer.Service;
using FsHealer.Kernel.Tests.Infra;
using FsHealer.Service.Live;

namespace FsHealer.Kernel.Tests.Reliability;

/// <summary>The daemon's release of clean file pages (MADV_DONTNEED), on this process's real mappings: clean file
/// pages leave the resident set and read back intact; private modified pages are never touched.</summary>
public class ResidentSetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fshealer-rss-").FullName;
    public void Dispose()
    {
        foreach (var d in _open) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A file of <paramref name="size"/> patterned bytes mapped with <paramref name="access"/>; the mapping
    /// and its view are disposed with the test (<see cref="Dispose"/>).</summary>
    private (string Path, MemoryMappedViewAccessor View) Mapped(string name, int size, MemoryMappedFileAccess access)
    {
        var path = PatternFile(name, size);
        var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, access);
        var view = mmf.CreateViewAccessor(0, size, access);
        _open.Add(view);
        _open.Add(mmf);
        return (path, view);
    }

    private readonly List<IDisposable> _open = [];

    private string PatternFile(string name, int size)
    {
        var path = Path.Combine(_dir, name);
        var bytes = new byte[size];
        for (int i = 0; i < size; i++) bytes[i] = (byte)(i * 7 + i / 4096);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static Mapping Find(string path) =>
        Assert.Single(ProcessMappings.ParseSmaps(File.ReadAllText("/proc/self/smaps")), m => m.Path == path);

    [Fact]
    public void Clean_file_pages_leave_the_resident_set_and_read_back_the_same()
    {
        const int size = 1 << 20;
        var (path, view) = Mapped("clean", size, MemoryMappedFileAccess.Read);
        var first = new byte[size];
        view.ReadArray(0, first, 0, size);
        Assert.True(Find(path).RssKiB >= 1000, $"mapping not resident after reading it: {Find(path)}");

        var r = ResidentSet.ReleaseCleanFilePages();

        Assert.Null(r.Error);
        Assert.True(r.Mappings > 0 && r.ResidentKiB >= 1024, $"released {r.Mappings} mappings, {r.ResidentKiB} KiB");
        Assert.Equal(0, Find(path).RssKiB);
        var again = new byte[size];
        view.ReadArray(0, again, 0, size);
        Assert.Equal(first, again);
        Assert.Equal(File.ReadAllBytes(path), again);
    }

    [Fact]
    public void Private_modified_pages_are_kept()
    {
        const int size = 256 << 10;
        var (path, view) = Mapped("cow", size, MemoryMappedFileAccess.CopyOnWrite);
        for (int off = 0; off < size; off += 4096) view.Write(off, (byte)0xAB);   // every page now a private copy
        var before = Find(path);
        Assert.True(before.Writable && before.AnonymousKiB > 0, before.ToString());

        var r = ResidentSet.ReleaseCleanFilePages();

        Assert.Null(r.Error);
        for (int off = 0; off < size; off += 4096) Assert.Equal(0xAB, view.ReadByte(off));
        Assert.Equal(before.AnonymousKiB, Find(path).AnonymousKiB);
        Assert.NotEqual(0xAB, File.ReadAllBytes(path)[0]);   // and the file never saw them
    }

    [Fact]
    public void The_process_keeps_running_its_released_code()
    {
        // the test host's own code (libcoreclr, the JIT, this assembly's R2R code) is released and faulted back
        var r = ResidentSet.ReleaseCleanFilePages();
        Assert.Null(r.Error);
        Assert.True(r.Mappings > 0, "nothing released");
        var text = string.Join(",", Enumerable.Range(0, 1000).Select(i => (i * i).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.StartsWith("0,1,4,9,16", text);
        Assert.Null(ResidentSet.ReleaseCleanFilePages().Error);   // and again, with the code just faulted back
    }

    private static long RssFileKiB(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("RssFile:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)).Single();

    [Fact]
    public void The_daemon_drops_its_start_up_pages_once_settled()
    {
        Sh.RequireRoot();
        var dir = Directory.CreateTempSubdirectory("fshealer-settle-").FullName;
        try
        {
            using var d = DaemonProcess.Run("--poll-interval", "60", "--state-dir", Path.Combine(dir, "state"));
            d.WaitFor(() => d.HasLine(l => l.Contains("watching")), "the daemon to start", 30);
            long atReady = RssFileKiB(d.Pid), settled = atReady;
            // the daemon settles 2 s after start: wait for the drop, not for a guessed time
            d.WaitFor(() => (settled = RssFileKiB(d.Pid)) < atReady * 3 / 4,
                      $"file-backed resident memory to fall below 3/4 of the {atReady} KiB at READY", 15);
            TestContext.Current.TestOutputHelper?.WriteLine($"file-backed resident: {atReady} KiB at READY, {settled} KiB settled");
            Assert.DoesNotContain("cannot release", d.Output);
            Assert.False(d.Process.HasExited, d.Output);
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    }
}
