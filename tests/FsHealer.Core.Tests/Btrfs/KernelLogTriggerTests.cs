using FsHealer.Btrfs;
using FsHealer.Kmsg;
using FsHealer.Model;

namespace FsHealer.Core.Tests.Btrfs;

/// <summary>Issue 17, defect 3: the btrfs kernel log as an event of its own and a scrub trigger (pure part).</summary>
public class KernelLogTriggerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 23, 0, 0, TimeSpan.Zero);
    private static readonly BtrfsMember[] Raid1 = [new(1, "/dev/loop3"), new(2, "/dev/loop4")];
    private static readonly BtrfsMember[] Other = [new(1, "/dev/loop9")];

    // what Linux 6.18 printed on the test machine for a damaged leaf copy on loop3 (mounted from loop3)
    private const string BadStart = "BTRFS error (device loop3): bad tree block start, mirror 1 want 30605312 have 14301443014404283562";
    private const string MetaCorrected = "BTRFS info (device loop3): read error corrected: ino 0 off 30605312 (dev /dev/loop3 sector 59776)";
    private const string MetaCsum = "BTRFS warning (device loop3): checksum verify failed on logical 30752768 mirror 2 wanted 0x2f218126 found 0xd42360d8 level 0";
    private const string MetaCorrectedOn4 = "BTRFS info (device loop3): read error corrected: ino 0 off 30752768 (dev /dev/loop4 sector 1234)";
    private const string DataCsum = "BTRFS warning (device loop3): csum failed root 5 ino 257 off 8192 csum 0xb57e503f expected csum 0x1a928949 mirror 1";
    private const string DataCorrected = "BTRFS info (device loop3): read error corrected: ino 257 off 8192 (dev /dev/loop3 sector 172176)";
    private const string ScrubFixed = "BTRFS info (device loop3): scrub: fixed up error at logical 30605312 on dev /dev/loop3 physical 30605312";
    private const string ScrubUnfixable = "BTRFS error (device loop3): scrub: unable to fixup (regular) error at logical 13631488 on dev /dev/loop4 physical 13631488";
    private const string DevErrs = "BTRFS error (device loop3): bdev /dev/loop3 errs: wr 0, rd 0, flush 0, corrupt 1, gen 0";
    private const string Aborted = "BTRFS error (device loop3 state A): Transaction aborted (error -5)";

    private static BtrfsKernelEvent[] L(params string[] lines) => [.. lines.Select(l => BtrfsKernelLog.Decode(l) ?? throw new InvalidOperationException("not decoded: " + l))];

    [Fact]
    public void Metadata_read_repair_is_published_with_its_block_and_scrubs_only_the_member_it_names()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(BadStart, MetaCorrected), Raid1, T0);
        Assert.Equal(2, b.Publish.Count);
        Assert.Equal([1UL], b.ScrubDevids);
        Assert.True(b.PollCounters);
        Assert.Contains("logical 30605312", b.ScrubWhy);
        // the unnamed damage line was resolved by the repair line in the same batch: nothing waits
        Assert.Equal(0, t.Waiting);
        Assert.Empty(t.Observe([], Raid1, T0.AddMilliseconds(200)).ScrubDevids);

        var ev = BtrfsKernelLogTrigger.ToEvent(b.Publish[1], "/mnt", "uuid:x")!;
        Assert.Equal((EventClass.MediaError, Severity.Warning, "/dev/loop3", "uuid:x"), (ev.Class, ev.Severity, ev.Device, ev.FsId));
        Assert.Contains("read error corrected", ev.Message);
        Assert.Contains("logical 30605312", ev.Message);
        Assert.Contains("sector 59776", ev.Message);
        Assert.Null(ev.Inode);   // ino 0 is metadata, not an inode
        var dmg = BtrfsKernelLogTrigger.ToEvent(b.Publish[0], "/mnt", "uuid:x")!;
        Assert.Equal((EventClass.MetadataCorrupt, Severity.Error, "/dev/loop3"), (dmg.Class, dmg.Severity, dmg.Device));
        Assert.Contains("mirror 1", dmg.Message);
    }

    [Fact]
    public void The_repair_line_may_come_one_read_later_and_still_names_the_member()
    {
        var t = new BtrfsKernelLogTrigger();
        var b1 = t.Observe(L(MetaCsum), Raid1, T0);
        Assert.Single(b1.Publish);
        Assert.Empty(b1.ScrubDevids);
        Assert.Equal(1, t.Waiting);
        var b2 = t.Observe(L(MetaCorrectedOn4), Raid1, T0.AddMilliseconds(200));
        Assert.Equal([2UL], b2.ScrubDevids);
        Assert.Equal(0, t.Waiting);
    }

    [Fact]
    public void Damage_that_no_line_attributes_to_a_member_scrubs_every_device_after_one_read()
    {
        var t = new BtrfsKernelLogTrigger();
        Assert.Empty(t.Observe(L(MetaCsum), Raid1, T0).ScrubDevids);
        var b = t.Observe([], Raid1, T0.AddMilliseconds(200));
        Assert.Equal([1UL, 2UL], b.ScrubDevids);
        Assert.Contains("MetadataChecksumFailed at logical 30752768", b.ScrubWhy);
    }

    [Fact]
    public void Data_checksum_failure_is_tied_to_its_repair_by_inode_and_offset()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(DataCsum, DataCorrected), Raid1, T0);
        Assert.Equal([1UL], b.ScrubDevids);
        Assert.Equal(0, t.Waiting);
        var ev = BtrfsKernelLogTrigger.ToEvent(b.Publish[0], "/mnt", null)!;
        Assert.Equal((EventClass.MediaError, Severity.Error, 257UL), (ev.Class, ev.Severity, ev.Inode!.Value));
        Assert.Contains("inode 257 root 5", ev.Message);
        Assert.Contains("offset 8192", ev.Message);
    }

    [Fact]
    public void Another_filesystems_lines_are_not_this_ones()
    {
        var t = new BtrfsKernelLogTrigger();
        Assert.True(t.Observe(L(BadStart, MetaCorrected, DataCsum, DevErrs, Aborted), Other, T0).IsEmpty);
        Assert.Equal(0, t.Waiting);
        // a line whose prefix is another device but that names one of ours as the bad member is ours
        var mixed = BtrfsKernelLog.Decode("BTRFS info (device sdz): read error corrected: ino 0 off 4096 (dev /dev/loop9 sector 8)")!;
        Assert.True(BtrfsKernelLogTrigger.Concerns(mixed, Other));
        Assert.False(BtrfsKernelLogTrigger.Concerns(mixed, Raid1));
    }

    [Fact]
    public void Repeats_of_one_object_are_folded_within_the_window_and_start_no_second_scrub()
    {
        var t = new BtrfsKernelLogTrigger();
        Assert.Equal([1UL], t.Observe(L(BadStart, MetaCorrected), Raid1, T0).ScrubDevids);
        var again = t.Observe(L(BadStart, MetaCorrected, BadStart), Raid1, T0.AddSeconds(5));
        Assert.Empty(again.Publish);
        Assert.Equal(3, again.Repeats);
        Assert.Empty(again.ScrubDevids);
        Assert.Empty(t.Observe([], Raid1, T0.AddSeconds(6)).ScrubDevids);   // the repeated unnamed line does not wait either
        var later = t.Observe(L(BadStart, MetaCorrected), Raid1, T0 + BtrfsKernelLogTrigger.RepeatWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(2, later.Publish.Count);
        Assert.Equal([1UL], later.ScrubDevids);
    }

    [Fact]
    public void A_storm_of_distinct_blocks_keeps_memory_bounded()
    {
        var t = new BtrfsKernelLogTrigger();
        // built, not decoded: the decoder's regex timeout is not what this test is about
        var template = L(MetaCorrected)[0];
        for (int i = 0; i < 3 * BtrfsKernelLogTrigger.MaxRemembered; i++)
            t.Observe([template with { FileOffset = 4096UL * (ulong)i, Sector = 8UL * (ulong)i }], Raid1, T0.AddMilliseconds(i));
        Assert.True(t.Remembered <= BtrfsKernelLogTrigger.MaxRemembered, $"{t.Remembered} remembered");
    }

    [Fact]
    public void A_scrubs_own_findings_are_published_but_start_no_scrub()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(ScrubFixed, ScrubUnfixable), Raid1, T0);
        Assert.Equal(2, b.Publish.Count);
        Assert.Empty(b.ScrubDevids);
        Assert.Equal(0, t.Waiting);
        var lost = BtrfsKernelLogTrigger.ToEvent(b.Publish[1], "/mnt", null)!;
        Assert.Equal((EventClass.DataLost, Severity.Critical, "/dev/loop4"), (lost.Class, lost.Severity, lost.Device));
        Assert.Contains("unable to fix up", lost.Message);
        Assert.Contains("logical 13631488", lost.Message);
    }

    [Fact]
    public void Counter_lines_ask_for_a_poll_and_are_not_events_of_their_own()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(DevErrs), Raid1, T0);
        Assert.True(b.PollCounters);
        Assert.Empty(b.Publish);
        Assert.Empty(b.ScrubDevids);
        Assert.Null(BtrfsKernelLogTrigger.ToEvent(L(DevErrs)[0], "/mnt", null));
    }

    [Fact]
    public void A_fatal_line_is_a_shutdown_and_nothing_is_scrubbed_with_it()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(BadStart, Aborted), Raid1, T0);
        Assert.Empty(b.ScrubDevids);
        Assert.Equal(0, t.Waiting);
        Assert.Equal(EventClass.Shutdown, BtrfsKernelLogTrigger.ToEvent(b.Publish[1], "/mnt", null)!.Class);
    }

    [Fact]
    public void Policy_without_auto_scrub_reports_only()
    {
        var t = new BtrfsKernelLogTrigger();
        var b = t.Observe(L(BadStart, MetaCorrected), Raid1, T0, autoScrub: false);
        Assert.Equal(2, b.Publish.Count);
        Assert.Empty(b.ScrubDevids);
        Assert.Null(b.ScrubWhy);
    }

    [Fact]
    public void Every_published_kind_has_an_event_class()
    {
        foreach (var k in Enum.GetValues<BtrfsLogKind>())
            Assert.True(k == BtrfsLogKind.DeviceErrorCounters || BtrfsKernelLogTrigger.EventOf.ContainsKey(k), $"{k} has no event class");
    }
}
