using FsHealer.Model;
using FsHealer.Text;

namespace FsHealer.Core.Tests.Config;

/// <summary>Issue 16: one parser for sizes and durations (CLI options and configuration values); one time format;
/// one device naming; one spelling of event classes.</summary>
public class UnitsTests
{
    [Theory]
    [InlineData("90", 90)]
    [InlineData("90s", 90)]
    [InlineData("90 sec", 90)]
    [InlineData("15m", 900)]
    [InlineData("15min", 900)]
    [InlineData("12h", 43200)]
    [InlineData("30d", 2592000)]
    [InlineData("2w", 1209600)]
    [InlineData("1h30m", 5400)]
    [InlineData("1d 12h", 129600)]
    [InlineData("1.5h", 5400)]
    [InlineData("250ms", 0.25)]
    [InlineData("  7D ", 604800)]
    public void Durations(string text, double seconds)
    {
        Assert.True(Units.TryParseDuration(text, out var d, out var err), err);
        Assert.Equal(seconds, d.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("5x")]
    [InlineData("1h 30")]
    [InlineData("s")]
    [InlineData("99999999d")]
    public void Bad_durations_say_why(string text)
    {
        Assert.False(Units.TryParseDuration(text, out _, out var err));
        Assert.False(string.IsNullOrEmpty(err));
    }

    [Fact]
    public void A_bare_number_is_in_the_callers_unit()
    {
        Assert.True(Units.TryParseDuration("30", out var d, out _, TimeSpan.FromDays(1)));
        Assert.Equal(TimeSpan.FromDays(30), d);
        Assert.True(Units.TryParseSize("64", out var b, out _, 1 << 20));
        Assert.Equal(64UL << 20, b);
    }

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("512K", 512UL << 10)]
    [InlineData("50M", 50UL << 20)]
    [InlineData("50MB", 50UL << 20)]
    [InlineData("50MiB", 50UL << 20)]
    [InlineData("50m", 50UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("1.5G", 3UL << 29)]
    [InlineData("2T", 2UL << 40)]
    [InlineData("100M/s", 100UL << 20)]
    [InlineData("0", 0UL)]
    public void Sizes(string text, ulong bytes)
    {
        Assert.True(Units.TryParseSize(text, out var b, out var err), err);
        Assert.Equal(bytes, b);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("-1M")]
    [InlineData("M")]
    [InlineData("1X")]
    [InlineData("99999999999999999999T")]
    public void Bad_sizes_say_why(string text)
    {
        Assert.False(Units.TryParseSize(text, out _, out var err));
        Assert.False(string.IsNullOrEmpty(err));
    }

    [Fact]
    public void Formatting_round_trips_through_the_parser()
    {
        foreach (var t in new[] { TimeSpan.FromDays(30), TimeSpan.FromMinutes(90), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1500) })
        {
            Assert.True(Units.TryParseDuration(Units.FormatDuration(t), out var back, out _));
            Assert.Equal(t, back);
        }
        Assert.Equal("1 MiB", Units.FormatSize(1 << 20));
        Assert.Equal("200 MiB", Units.FormatSize(200UL << 20));
    }

    [Fact]
    public void One_time_format_rfc3339_utc()
    {
        var t = new DateTimeOffset(2026, 11, 21, 11, 0, 5, 123, TimeSpan.FromHours(2));
        Assert.Equal("2026-11-21T09:00:05Z", TimeFormat.Utc(t));
        Assert.Equal("2026-11-21T09:00:05.123Z", TimeFormat.UtcMillis(t));
    }

    [Theory]
    [InlineData("loop1", "/dev/loop1")]
    [InlineData("/dev/loop0", "/dev/loop0")]
    [InlineData("cciss!c0d0", "/dev/cciss/c0d0")]
    [InlineData("dm-0", "/dev/dm-0")]
    public void One_device_naming(string name, string path) => Assert.Equal(path, DeviceName.AsPath(name));

    [Fact]
    public void Published_events_name_devices_by_path()
    {
        var seen = new List<FsEvent>();
        var hub = new EventHub();
        hub.Add(new ListSink(seen));
        hub.Publish(new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/m", FsType = "ext4", Message = "x", Device = "loop1" });
        hub.Publish(new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/m", FsType = "ext4", Message = "x", Device = "/dev/sdb1" });
        Assert.Equal(["/dev/loop1", "/dev/sdb1"], seen.Select(e => e.Device));
    }

    private sealed class ListSink(List<FsEvent> list) : IEventSink
    {
        public void Publish(FsEvent e) => list.Add(e);
    }

    [Fact]
    public void Event_classes_have_one_snake_case_spelling_and_every_old_one_still_parses()
    {
        Assert.Equal("metadata_sick", ClassNames.Of(EventClass.MetadataSick));
        Assert.Equal("io_error", ClassNames.Of(EventClass.IoError));
        Assert.Equal("check_overdue", ClassNames.Of(EventClass.CheckOverdue));
        foreach (var c in Enum.GetValues<EventClass>())
        {
            var n = ClassNames.Of(c);
            Assert.Matches("^[a-z]+(_[a-z]+)*$", n);
            Assert.Equal(c, ClassNames.Parse(n));
            Assert.Equal(c, ClassNames.Parse(c.ToString()));
            Assert.Equal(c, ClassNames.Parse(c.ToString().ToLowerInvariant()));
        }
        Assert.Equal(Enum.GetValues<EventClass>().Length, ClassNames.All.Distinct().Count());
        Assert.Null(ClassNames.Parse("nosuch"));
        Assert.Equal(" (did you mean \"io_error\"?)", ClassNames.DidYouMean("io_eror"));
    }
}
