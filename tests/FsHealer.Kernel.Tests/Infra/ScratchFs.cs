namespace FsHealer.Kernel.Tests.Infra;

/// <summary>
/// Scratch filesystem(s) for real-kernel tests: a unique /tmp/fshealer-TAG-XXXXXX directory holding sparse images,
/// the loop devices attached to them (always <c>losetup -f --show</c>, never a fixed number) and mounts. Every step
/// that needs undoing is recorded as it succeeds; <see cref="Dispose"/> undoes them in reverse order (umount each
/// mount still mounted, <c>losetup -d</c> each device still bound to our image, custom teardown steps) and then
/// deletes the directory, also after a step failed half-way, and never throws. Use <see cref="Create"/> for the
/// common "N images → loop devices → mkfs → mount" recipe, or the steps one by one for anything special.
/// </summary>
public sealed class ScratchFs : IDisposable
{
    /// <summary>mkfs flags that make each mkfs quiet and overwrite whatever is on the target.</summary>
    private static readonly Dictionary<string, string[]> MkfsQuietForce = new()
    {
        ["xfs"] = ["-q", "-f"],
        ["ext4"] = ["-q", "-F"],
        ["btrfs"] = ["-q", "-f"],
    };

    private readonly record struct Step(string Kind, string Target, string? Backing, Action? Undo);

    private readonly List<Step> _steps = [];
    private readonly List<string> _images = [];
    private readonly List<string> _loops = [];
    private bool _disposed;

    /// <summary>The scratch directory (/tmp/fshealer-TAG-XXXXXX).</summary>
    public string Dir { get; }
    /// <summary>The default mount point, Dir/mnt.</summary>
    public string Mnt { get; }
    /// <summary>Filesystem type given to <see cref="Mkfs"/> (used by <see cref="Mount()"/> as -t).</summary>
    public string? FsType { get; private set; }
    public IReadOnlyList<string> Images => _images;
    /// <summary>Loop devices attached by this fixture and not yet detached, in attach order.</summary>
    public IReadOnlyList<string> Loops => _loops;
    public string Image => _images[0];
    public string Loop => _loops[0];
    public string DevName => Path.GetFileName(Loop);

    /// <summary>An empty scratch directory (with Dir/mnt); never skips, so it can sit in a field initializer.</summary>
    public ScratchFs(string tag = "fs")
    {
        Dir = Directory.CreateTempSubdirectory($"fshealer-{tag}-").FullName;
        Mnt = Path.Combine(Dir, "mnt");
        Directory.CreateDirectory(Mnt);
    }

    /// <summary>Skip the test unless we are root and have losetup and mkfs.<paramref name="fsType"/> (plus <paramref name="tools"/>).</summary>
    public static void Require(string? fsType, params string[] tools)
    {
        Sh.RequireRoot();
        Sh.RequireTools(["losetup", .. fsType is null ? Array.Empty<string>() : [$"mkfs.{fsType}"], .. tools]);
    }

    /// <summary>
    /// <paramref name="devices"/> sparse images of <paramref name="sizeMiB"/> MiB on loop devices, one filesystem made
    /// over all of them (mkfs.FSTYPE quiet+force, then <paramref name="mkfsArgs"/>, then every device), mounted from the
    /// first device at <see cref="Mnt"/>. Skips without root or tools; cleans up everything if any step fails.
    /// </summary>
    public static ScratchFs Create(string fsType, long sizeMiB = 320, int devices = 1, string[]? mkfsArgs = null,
                                   string? mountOptions = null, string tag = "fs")
    {
        Require(fsType);
        var s = new ScratchFs(tag);
        try
        {
            for (int i = 0; i < devices; i++) s.Attach(s.NewImage(devices == 1 ? "img" : $"dev{i}.img", sizeMiB));
            s.Mkfs(fsType, mkfsArgs, [.. s.Loops]);
            s.Mount(mountOptions);
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    /// <summary>A sparse file Dir/<paramref name="name"/> of <paramref name="sizeMiB"/> MiB.</summary>
    public string NewImage(string name, long sizeMiB)
    {
        string img = Path.Combine(Dir, name);
        using (var f = File.Create(img)) f.SetLength(sizeMiB << 20);
        _images.Add(img);
        return img;
    }

    /// <summary>A sparse copy of <paramref name="source"/> as Dir/<paramref name="name"/>.</summary>
    public string CopyImage(string source, string name)
    {
        string img = Path.Combine(Dir, name);
        Sh.Check("cp", "--sparse=always", source, img);
        _images.Add(img);
        return img;
    }

    /// <summary>Attach a file to the first free loop device; recorded, so Dispose detaches it.</summary>
    public string Attach(string file)
    {
        string loop = Sh.Check("losetup", "-f", "--show", file).Trim();
        if (!loop.StartsWith("/dev/loop", StringComparison.Ordinal)) throw new InvalidOperationException($"losetup -f --show {file} printed '{loop}'");
        // remember the backing file as the kernel names it: Dispose detaches the device only while it still says so
        _steps.Add(new Step("loop", loop, BackingFile(Path.GetFileName(loop)) ?? Path.GetFullPath(file), null));
        _loops.Add(loop);
        return loop;
    }

    /// <summary>Detach one of our loop devices now (checked).</summary>
    public void Detach(string loop)
    {
        int i = _steps.FindLastIndex(s => s.Kind == "loop" && s.Target == loop);
        if (i < 0) throw new InvalidOperationException($"{loop} was not attached by this fixture");
        if (!DetachIfOurs(loop, _steps[i].Backing!)) throw new InvalidOperationException($"losetup -d {loop} failed");
        _steps.RemoveAt(i);
        _loops.Remove(loop);
    }

    /// <summary>mkfs.<paramref name="fsType"/> -q -f/-F <paramref name="args"/> TARGETS (default: our loop devices).</summary>
    public void Mkfs(string fsType, string[]? args = null, params string[] targets)
    {
        if (targets.Length == 0) targets = [.. _loops];
        if (targets.Length == 0) throw new InvalidOperationException("mkfs: nothing attached yet and no target given");
        FsType = fsType;
        Sh.Check($"mkfs.{fsType}", [.. MkfsQuietForce.GetValueOrDefault(fsType, []), .. args ?? [], .. targets]);
    }

    /// <summary>Mount the first loop device at <see cref="Mnt"/> (-t FsType, -o <paramref name="options"/>).</summary>
    public void Mount(string? options = null) =>
        Mount(Loop, Mnt, [.. FsType is null ? Array.Empty<string>() : ["-t", FsType], .. options is null ? Array.Empty<string>() : ["-o", options]]);

    /// <summary>mount ARGS SOURCE TARGET (checked); recorded, so Dispose unmounts it.</summary>
    public void Mount(string source, string target, params string[] args)
    {
        Sh.Check("mount", [.. args, source, target]);
        Track(target);
    }

    /// <summary>Record a mount made some other way (mount(2), a CLI under test) so that Dispose unmounts it.</summary>
    public void Track(string target) => _steps.Add(new Step("mount", target, null, null));

    /// <summary>umount (checked; lazily with <paramref name="lazy"/>) the topmost of our mounts at <paramref name="target"/>.</summary>
    public void Umount(string? target = null, bool lazy = false)
    {
        target ??= Mnt;
        Sh.Check("umount", lazy ? ["-l", target] : [target]);
        int i = _steps.FindLastIndex(s => s.Kind == "mount" && s.Target == target);
        if (i >= 0) _steps.RemoveAt(i);
    }

    /// <summary>A custom teardown step, run in reverse order with the others (e.g. stop a FUSE daemon).</summary>
    public void Defer(string what, Action undo) => _steps.Add(new Step("custom", what, null, undo));

    public static bool IsMounted(string target) =>
        File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ') is { Length: > 4 } f && f[4] == target);

    /// <summary>Mount points (from /proc/self/mountinfo) at or below <paramref name="dir"/>.</summary>
    public static List<string> MountsUnder(string dir) =>
        [.. File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')).Where(f => f.Length > 4 && (f[4] == dir || f[4].StartsWith(dir + "/", StringComparison.Ordinal))).Select(f => f[4])];

    /// <summary>Loop devices whose backing file is at or below <paramref name="dir"/> (from sysfs, any process's).</summary>
    public static List<string> LoopsBackedUnder(string dir)
    {
        var found = new List<string>();
        foreach (var b in Directory.EnumerateDirectories("/sys/block", "loop*"))
        {
            string? backing = BackingFile(Path.GetFileName(b));
            if (backing is not null && (backing == dir || backing.StartsWith(dir + "/", StringComparison.Ordinal))) found.Add("/dev/" + Path.GetFileName(b));
        }
        return found;
    }

    private static string? BackingFile(string loopName)
    {
        try { return File.ReadAllText($"/sys/block/{loopName}/loop/backing_file").Trim().Replace(" (deleted)", "", StringComparison.Ordinal); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>losetup -d, but only while the device is still bound to our file: after an autoclear the number may
    /// already belong to someone else's test.</summary>
    private static bool DetachIfOurs(string loop, string backing)
    {
        for (int i = 0; i < 20; i++)
        {
            if (BackingFile(Path.GetFileName(loop)) != backing) return true;
            if (Sh.Run("losetup", "-d", loop).Code == 0) return true;
            Thread.Sleep(50);
        }
        return false;
    }

    private static void UmountAll(string target)
    {
        for (int i = 0; i < 20 && IsMounted(target); i++)
        {
            if (Sh.Run("umount", target).Code == 0) continue;
            Thread.Sleep(100);
        }
        if (IsMounted(target)) Sh.Run("umount", "-l", target); // test cleanup only; fshealer itself never unmounts lazily
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        var problems = new List<string>();
        for (int i = _steps.Count - 1; i >= 0; i--)
        {
            var s = _steps[i];
            try
            {
                switch (s.Kind)
                {
                    case "mount": UmountAll(s.Target); break;
                    case "loop": if (!DetachIfOurs(s.Target, s.Backing!)) problems.Add($"losetup -d {s.Target} failed"); break;
                    default: s.Undo!(); break;
                }
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException or UnauthorizedAccessException)
            {
                problems.Add($"{s.Kind} {s.Target}: {e.Message}");
            }
        }
        _steps.Clear();
        _loops.Clear();
        // anything still mounted below our unique directory is ours too (moved or bind mounts a test forgot)
        foreach (var m in Enumerable.Reverse(MountsUnder(Dir))) UmountAll(m);
        var left = MountsUnder(Dir);
        if (left.Count > 0) problems.Add($"still mounted, {Dir} kept: {string.Join(", ", left)}");
        else
        {
            try { Directory.Delete(Dir, true); }
            catch (IOException e) { problems.Add($"rm -r {Dir}: {e.Message}"); }
            catch (UnauthorizedAccessException e) { problems.Add($"rm -r {Dir}: {e.Message}"); }
        }
        foreach (var p in problems) TestContext.Current.TestOutputHelper?.WriteLine($"scratch cleanup: {p}");
    }
}
