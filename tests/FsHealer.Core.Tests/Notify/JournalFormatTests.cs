using System.Buffers.Binary;
using System.Text;
using FsHealer.Model;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Core.Tests.Notify;

public class JournalFormatTests
{
    [Fact]
    public void Every_class_has_a_distinct_128_bit_message_id_and_every_severity_a_priority()
    {
        foreach (var c in Enum.GetValues<EventClass>())
        {
            var id = JournalFormat.MessageIds[c];
            Assert.Equal(32, id.Length);
            Assert.True(id.All(char.IsAsciiHexDigitLower), id);
        }
        Assert.Equal(Enum.GetValues<EventClass>().Length, JournalFormat.MessageIds.Values.Distinct().Count());
        foreach (var s in Enum.GetValues<Severity>()) Assert.InRange(JournalFormat.Priorities[s], 0, 7);
    }

    [Fact]
    public void Simple_values_are_KEY_equals_VALUE_lines()
    {
        var b = JournalFormat.Encode([new("MESSAGE", "hello"), new("PRIORITY", "3")]);
        Assert.Equal("MESSAGE=hello\nPRIORITY=3\n", Encoding.UTF8.GetString(b));
    }

    [Fact]
    public void Values_with_newlines_use_the_length_prefixed_form()
    {
        var b = JournalFormat.Encode([new("MESSAGE", "a\nb"), new("X", "é")]);
        var expect = new List<byte>();
        expect.AddRange("MESSAGE\n"u8.ToArray());
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, 3);
        expect.AddRange(len);
        expect.AddRange("a\nb\n"u8.ToArray());
        expect.AddRange("X=é\n"u8.ToArray());
        Assert.Equal(expect.ToArray(), b);
    }

    [Theory]
    [InlineData("MESSAGE", true)]
    [InlineData("MOUNT_2", true)]
    [InlineData("_PID", false)]
    [InlineData("2X", false)]
    [InlineData("lower", false)]
    [InlineData("A-B", false)]
    [InlineData("", false)]
    public void Field_names_are_validated(string name, bool ok)
    {
        Assert.Equal(ok, JournalFormat.IsValidFieldName(name));
        Assert.Equal(ok, JournalFormat.Encode([new(name, "v")]).Length > 0);
    }

    [Fact]
    public void Event_fields_carry_the_structured_data()
    {
        var e = new FsEvent { Class = EventClass.IoError, Severity = Severity.Error, Mount = "/srv", FsType = "ext4", Device = "/dev/sdb1", Inode = 12, Errno = 5, Message = "EIO" };
        var f = JournalFormat.Fields(e).ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("3", f["PRIORITY"]);
        Assert.Equal("fshealer", f["SYSLOG_IDENTIFIER"]);
        Assert.Equal(JournalFormat.MessageIds[EventClass.IoError], f["MESSAGE_ID"]);
        Assert.Equal("/srv", f["MOUNT"]);
        Assert.Equal("/dev/sdb1", f["DEVICE"]);
        Assert.Equal("12", f["INODE"]);
        Assert.Equal("ext4", f["FSTYPE"]);
        Assert.Equal("5", f["ERRNO"]);
        Assert.Equal("EIO", f["ERRNO_NAME"]);
        Assert.All(f.Keys, k => Assert.True(JournalFormat.IsValidFieldName(k), k));
        Assert.Equal("<3>fshealer: error: /srv: EIO", JournalFormat.PlainLine(e));
    }
}
