using FsHealer.Service;

namespace FsHealer.Core.Tests.Memory;

public class ProcessMappingsTests
{
    // abridged from a running fshealer (Native AOT) on Linux 6.18
    private const string Smaps = """
        55ec103d7000-55ec103eb000 r--p 00000000 fe:00 11657437                   /usr/sbin/fshealer
        Size:                 80 kB
        Rss:                  80 kB
        Pss:                  80 kB
        Anonymous:             0 kB
        VmFlags: rd mr mw me dw sd
        55ec103eb000-55ec10aec000 r-xp 00014000 fe:00 11657437                   /usr/sbin/fshealer
        Size:               7172 kB
        Rss:                5472 kB
        Anonymous:             0 kB
        VmFlags: rd ex mr mw me dw sd
        55ec110f8000-55ec110fa000 r--p 00d21000 fe:00 11657437                   /usr/sbin/fshealer
        Size:                  8 kB
        Rss:                   8 kB
        Anonymous:             8 kB
        VmFlags: rd mr mw me dw ac sd
        55ec110fa000-55ec11124000 rw-p 00d22000 fe:00 11657437                   /usr/sbin/fshealer
        Size:                168 kB
        Rss:                 168 kB
        Anonymous:           160 kB
        55ec11124000-55ec1144f000 rw-p 00000000 00:00 0 
        Size:               3244 kB
        Rss:                3120 kB
        Anonymous:          3120 kB
        55ec3cc53000-55ec3ccb8000 rw-p 00000000 00:00 0                          [heap]
        Rss:                 396 kB
        Anonymous:           396 kB
        7f669c2d4000-7f669c3bd000 r-xp 00012000 fe:00 11657504                   /usr/lib/fshealer/libe_sqlite3.so
        Rss:                 868 kB
        Anonymous:             0 kB
        7fa6adf2c000-7fa6adf34000 rw-s 00000000 fe:00 11673886                   /var/lib/fshealer/history.db-shm
        Rss:                  32 kB
        Anonymous:             0 kB
        7fa6adf34000-7fa6adf36000 r--p 00000000 fe:00 11673999                   /usr/lib/x86_64-linux-gnu/libnothing.so (deleted)
        Rss:                   0 kB
        Anonymous:             0 kB
        7ffd5a1b0000-7ffd5a1b4000 r--p 00000000 00:00 0                          [vvar]
        Rss:                   0 kB
        7ffd5a1b4000-7ffd5a1b6000 r-xp 00000000 00:00 0                          [vdso]
        Rss:                   4 kB
        Anonymous:             0 kB
        ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
        Rss:                   0 kB
        """;

    [Fact]
    public void Parses_every_mapping_with_its_resident_and_anonymous_sizes()
    {
        var maps = ProcessMappings.ParseSmaps(Smaps);
        Assert.Equal(12, maps.Count);
        var text = maps[1];
        Assert.Equal(0x55ec103eb000UL, text.Start);
        Assert.Equal(0x55ec10aec000UL, text.End);
        Assert.Equal("r-xp", text.Perms);
        Assert.Equal(11657437UL, text.Inode);
        Assert.Equal("/usr/sbin/fshealer", text.Path);
        Assert.Equal(5472, text.RssKiB);
        Assert.Equal(0, text.AnonymousKiB);
        Assert.True(text.Executable && text.Readable && !text.Writable);
        Assert.Equal("", maps[4].Path);          // anonymous mapping: no path
        Assert.Equal("[heap]", maps[5].Path);
        Assert.Equal("/usr/lib/x86_64-linux-gnu/libnothing.so (deleted)", maps[8].Path);
    }

    [Fact]
    public void Releases_only_clean_read_only_file_pages()
    {
        var chosen = ProcessMappings.Releasable(ProcessMappings.ParseSmaps(Smaps));
        // the binary's headers and text, and the library's text; nothing else
        Assert.Equal(["r--p /usr/sbin/fshealer", "r-xp /usr/sbin/fshealer", "r-xp /usr/lib/fshealer/libe_sqlite3.so"],
                     chosen.Select(m => $"{m.Perms} {m.Path}"));
    }

    [Theory]
    [InlineData("r--p", 11657437, "/usr/sbin/fshealer", 8, 8, false)]    // RELRO: relocated copy-on-write pages would revert
    [InlineData("rw-p", 11657437, "/usr/sbin/fshealer", 168, 0, false)]  // writable: could be written at any moment
    [InlineData("rw-s", 11673886, "/var/lib/x.db-shm", 32, 0, false)]    // shared writable: SQLite's index
    [InlineData("r-xp", 0, "[vdso]", 4, 0, false)]                       // not a file
    [InlineData("r--p", 0, "", 64, 0, false)]                            // anonymous read-only (guard, sealed data)
    [InlineData("---p", 11657437, "/usr/sbin/fshealer", 0, 0, false)]    // no access: nothing resident
    [InlineData("r-xp", 42, "/usr/lib/libc.so.6", 0, 0, false)]          // nothing resident: nothing to do
    [InlineData("r-xp", 42, "/usr/lib/libc.so.6", 1216, 0, true)]
    [InlineData("r--p", 42, "/usr/lib/libc.so.6", 152, 0, true)]
    public void Selection_rules(string perms, long inode, string path, long rss, long anon, bool released)
    {
        var m = new Mapping(0x1000, 0x2000, perms, (ulong)inode, path, rss, anon);
        Assert.Equal(released, ProcessMappings.Releasable([m]).Count == 1);
    }

    [Fact]
    public void Fields_of_an_unreadable_header_are_not_given_to_the_mapping_before_it()
    {
        const string text = """
            1000-2000 r-xp 00000000 fe:00 7 /bin/a
            Rss:                   4 kB
            Anonymous:             0 kB
            zzzz-3000 r-xp 00000000 fe:00 8 /bin/b
            Rss:                 999 kB
            Anonymous:           999 kB
            4000-5000 r-xp 00000000 fe:00 9 /bin/c
            Rss:                   8 kB
            """;
        var maps = ProcessMappings.ParseSmaps(text);
        Assert.Equal(["/bin/a", "/bin/c"], maps.Select(m => m.Path));
        Assert.Equal(4, maps[0].RssKiB);
        Assert.Equal(0, maps[0].AnonymousKiB);
        Assert.Equal(8, maps[1].RssKiB);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage\n\n\0\0")]
    [InlineData("Rss: 4 kB\nAnonymous: 0 kB")]                          // fields before any header
    [InlineData("2000-1000 r-xp 00000000 fe:00 7 /bin/a\nRss: 4 kB")]   // end before start
    [InlineData("1000-2000 r-x 00000000 fe:00 7 /bin/a\nRss: 4 kB")]    // short permissions
    [InlineData("1000-2000 r-xp 00000000 fe:00 notanumber /bin/a")]
    public void Malformed_text_yields_no_mapping_and_no_exception(string text) =>
        Assert.Empty(ProcessMappings.Releasable(ProcessMappings.ParseSmaps(text)));

    [Fact]
    public void A_mapping_without_an_anonymous_line_is_not_assumed_clean()
    {
        // an old kernel or a truncated read: Anonymous unknown → parse leaves 0... which would look clean, so the
        // parser must not invent it: a mapping whose Anonymous line is missing is kept out of the selection
        var maps = ProcessMappings.ParseSmaps("1000-2000 r--p 00000000 fe:00 7 /bin/a\nRss: 4 kB\n");
        Assert.Single(maps);
        Assert.Empty(ProcessMappings.Releasable(maps));
    }
}
