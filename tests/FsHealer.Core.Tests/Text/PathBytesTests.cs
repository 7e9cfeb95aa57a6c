using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsHealer.Text;

namespace FsHealer.Core.Tests.Text;

/// <summary>Names are bytes: decoding keeps every byte (surrogateescape), display escaping is one reversible line.</summary>
public class PathBytesTests
{
    private static byte[] B(params int[] b) => b.Select(x => (byte)x).ToArray();

    /// <summary>Byte arrays biased towards what breaks UTF-8 decoders: high bytes, lead bytes without continuation,
    /// continuation bytes alone, encoded surrogates, overlong forms, NUL-free ASCII around them.</summary>
    private static Arbitrary<byte[]> Bytes() =>
        Gen.OneOf(
                Gen.Choose(0, 255).Select(i => (byte)i),
                Gen.Choose(0x80, 0xFF).Select(i => (byte)i),
                Gen.Elements((byte)0xC0, (byte)0xC1, (byte)0xE0, (byte)0xED, (byte)0xEF, (byte)0xF0, (byte)0xF4, (byte)0xF5, (byte)0xBF, (byte)0xBD, (byte)0xA0, (byte)0x80),
                Gen.Elements((byte)'x', (byte)'/', (byte)'\\', (byte)'\n', (byte)0x1b))
            .ArrayOf().ToArbitrary();

    /// <summary>Strings of any UTF-16 units, lone surrogates of every kind included.</summary>
    private static Arbitrary<string> AnyString() =>
        Gen.OneOf(
                Gen.Choose(0, 0xFFFF).Select(i => (char)i),
                Gen.Choose(0xD800, 0xDFFF).Select(i => (char)i),
                Gen.Choose(0xDC80, 0xDCFF).Select(i => (char)i),
                Gen.Choose(0, 0x9F).Select(i => (char)i),
                Gen.Elements('\\', 'x', 'u', '0', 'f', 'F', '\uFFFD', '\u2028', '\u202E'))
            .ArrayOf().Select(a => new string(a)).ToArbitrary();

    [Fact]
    public void Encode_of_Decode_gives_back_every_byte_sequence() =>
        Prop.ForAll(Bytes(), b => PathBytes.Encode(PathBytes.Decode(b)).AsSpan().SequenceEqual(b)).QuickCheckThrowOnFailure();

    [Fact]
    public void Decode_is_canonical_Decode_of_Encode_round_trips_every_decoded_string() =>
        Prop.ForAll(Bytes(), b =>
        {
            var s = PathBytes.Decode(b);
            return PathBytes.Decode(PathBytes.Encode(s)) == s && PathBytes.ByteCount(s) == b.Length;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Valid_utf8_decodes_unchanged() =>
        Prop.ForAll(ArbMap.Default.ArbFor<string>(), s =>
        {
            s ??= "";
            var valid = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)); // lone surrogates → U+FFFD: valid text
            var bytes = Encoding.UTF8.GetBytes(valid);
            return PathBytes.Decode(bytes) == valid && PathBytes.Encode(valid).AsSpan().SequenceEqual(bytes) && !PathBytes.HasEscapedBytes(valid);
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Each_invalid_byte_becomes_U_DC00_plus_the_byte()
    {
        // (as a Fact: theory arguments with lone surrogates do not survive xunit's serialization)
        (byte[] Bytes, string Expected)[] cases =
        [
            (B(0x78, 0xFF), "x\uDCFF"),
            (B(0xC3), "\uDCC3"),
            (B(0xC3, 0x41), "\uDCC3A"),
            (B(0x80, 0xBF), "\uDC80\uDCBF"),
            (B(0xC0, 0x80), "\uDCC0\uDC80"),
            (B(0xED, 0xA0, 0x80), "\uDCED\uDCA0\uDC80"),
            (B(0xF4, 0x90, 0x80, 0x80), "\uDCF4\uDC90\uDC80\uDC80"),
            (B(0xE2, 0x82, 0xAC, 0xFF), "€\uDCFF"),
            (B(0xF0, 0x9F, 0x92, 0x80), "\U0001F480"),
        ];
        foreach (var (bytes, expected) in cases)
        {
            Assert.Equal(expected, PathBytes.Decode(bytes));
            Assert.Equal(bytes, PathBytes.Encode(expected));
        }
    }

    [Fact]
    public void The_two_twins_stay_apart()
    {
        string a = PathBytes.Decode(B('x', 0xFF)), b = PathBytes.Decode(B('x', 0xEF, 0xBF, 0xBD));
        Assert.Equal("x\uDCFF", a);
        Assert.Equal("x\uFFFD", b);
        Assert.NotEqual(a, b);
        Assert.Equal(B('x', 0xFF), PathBytes.Encode(a));
        Assert.Equal(B('x', 0xEF, 0xBF, 0xBD), PathBytes.Encode(b));
        Assert.True(PathBytes.HasEscapedBytes(a));
        Assert.False(PathBytes.HasEscapedBytes(b));
        Assert.Equal(@"x\xff", PathBytes.Show(a));
        Assert.Equal("x\uFFFD", PathBytes.Show(b));
    }

    [Fact]
    public void Other_lone_surrogates_encode_as_the_replacement_character()
    {
        Assert.Equal(B('a', 0xEF, 0xBF, 0xBD, 'b'), PathBytes.Encode("a\uD800b"));
        Assert.Equal(B(0xEF, 0xBF, 0xBD), PathBytes.Encode("\uDC7F"));
        Assert.Equal(B(0xEF, 0xBF, 0xBD, 'x'), PathBytes.Encode("\uDBFFx")); // a high surrogate alone
        // a high surrogate followed by DCxx is a pair, not an escape
        Assert.Equal(Encoding.UTF8.GetBytes("\U0001F4FF"), PathBytes.Encode("\uD83D\uDCFF"));
    }

    [Fact]
    public void Encode_into_a_span_matches_and_ByteCount_is_exact() =>
        Prop.ForAll(AnyString(), s =>
        {
            var a = PathBytes.Encode(s);
            var buf = new byte[PathBytes.ByteCount(s)];
            int n = PathBytes.Encode(s, buf);
            return n == buf.Length && a.AsSpan().SequenceEqual(buf);
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Show_escapes_what_could_forge_a_line_or_hide_a_byte()
    {
        (string S, string Shown)[] cases =
        [
            ("/mnt/plain", "/mnt/plain"),
            ("a\\b", @"a\\b"),
            ("new\nline", @"new\nline"),
            ("tab\there", @"tab\there"),
            ("cr\r", @"cr\r"),
            ("esc\u001b[31mred", @"esc\x1b[31mred"),
            ("nul\0", @"nul\x00"),
            ("del\u007f", @"del\x7f"),
            ("c1\u009b", @"c1\u009b"),
            ("ls\u2028ps\u2029", @"ls\u2028ps\u2029"),
            ("bidi\u202Eevil", @"bidi\u202eevil"),
            ("x\uDCFF", @"x\xff"),
            ("lone\uD800", @"lone\ud800"),
            ("x\uFFFD", "x\uFFFD"),
            ("ünïcödé 日本 \U0001F480", "ünïcödé 日本 \U0001F480"),
        ];
        foreach (var (s, shown) in cases)
        {
            Assert.Equal(shown, PathBytes.Show(s));
            Assert.Equal(s, PathBytes.Unshow(shown));
        }
    }

    [Fact]
    public void Show_returns_the_same_instance_when_nothing_needs_escaping()
    {
        var s = "/mnt/data disk/ü";
        Assert.Same(s, PathBytes.Show(s));
        Assert.Same(s, PathBytes.ToStorage(s));
        Assert.Same(s, PathBytes.EscapeControls(s));
    }

    [Fact]
    public void Show_is_one_line_without_controls_or_lone_surrogates_and_reversible() =>
        Prop.ForAll(AnyString(), s =>
        {
            var shown = PathBytes.Show(s);
            bool clean = true;
            for (int i = 0; i < shown.Length; i++)
            {
                char c = shown[i];
                if (char.IsControl(c) || c is '\u2028' or '\u2029' || (c >= '\u202A' && c <= '\u202E')) clean = false;
                if (char.IsHighSurrogate(c) && i + 1 < shown.Length && char.IsLowSurrogate(shown[i + 1])) { i++; continue; }
                if (char.IsSurrogate(c)) clean = false;
            }
            return clean && PathBytes.Unshow(shown) == s;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Show_is_injective_on_names_from_bytes() =>
        Prop.ForAll(Bytes(), Bytes(), (a, b) =>
            a.AsSpan().SequenceEqual(b) == (PathBytes.Show(PathBytes.Decode(a)) == PathBytes.Show(PathBytes.Decode(b))))
            .QuickCheckThrowOnFailure();

    [Fact]
    public void Storage_text_survives_utf8_and_round_trips() =>
        Prop.ForAll(AnyString(), s =>
        {
            var stored = PathBytes.ToStorage(s);
            // what a UTF-8 store (SQLite TEXT) gives back
            var back = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(stored));
            return back == stored && PathBytes.FromStorage(back) == s;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Storage_escapes_only_backslashes_and_lone_surrogates()
    {
        (string S, string Stored)[] cases =
        [
            ("plain\nmulti-line message", "plain\nmulti-line message"),
            ("C:\\dir", "C:\\\\dir"),
            ("x\uDCFF", @"x\xff"),
            ("x\uFFFD", "x\uFFFD"),
            ("lone\uD800", @"lone\ud800"),
        ];
        foreach (var (s, stored) in cases)
        {
            Assert.Equal(stored, PathBytes.ToStorage(s));
            Assert.Equal(s, PathBytes.FromStorage(stored));
        }
    }

    [Fact]
    public void EscapeControls_escapes_controls_only()
    {
        // the drop-in prints an escaped byte (and a backslash) as it is
        (string S, string Expected)[] cases =
        [
            ("/mnt/x\uDCFF: attached", "/mnt/x\uDCFF: attached"),
            ("back\\slash", "back\\slash"),
            ("new\nline", @"new\nline"),
            ("esc\u001b[2J", @"esc\x1b[2J"),
            ("c1\u0085", @"c1\u0085"),
        ];
        foreach (var (s, expected) in cases) Assert.Equal(expected, PathBytes.EscapeControls(s));
    }

    [Fact]
    public void Unshow_keeps_malformed_escapes()
    {
        Assert.Equal(@"a\q", PathBytes.Unshow(@"a\q"));
        Assert.Equal(@"a\x4", PathBytes.Unshow(@"a\x4"));
        Assert.Equal("a\\", PathBytes.Unshow("a\\"));
        Assert.Equal(@"\uZZZZ", PathBytes.Unshow(@"\uZZZZ"));
    }

    [Fact]
    public void Systemd_unit_names_escape_the_raw_bytes()
    {
        // systemd-escape works on the name's bytes: 0xff → \xff, U+FFFD (EF BF BD) → \xef\xbf\xbd
        Assert.Equal(@"xfs_healer@mnt-x\xff.service", SystemdEscape.InstanceName("xfs_healer@.service", "/mnt/x\uDCFF"));
        Assert.Equal(@"xfs_healer@mnt-x\xef\xbf\xbd.service", SystemdEscape.InstanceName("xfs_healer@.service", "/mnt/x\uFFFD"));
    }
}
