using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace FsHealer.Core.Tests.Fuzz;

/// <summary>
/// Seeded, structure-aware mutator: bit flips, byte sets, 16/32/64-bit length-field corruption with interesting
/// values (0, 1, -1, size±1, huge), truncation, extension, splicing two valid samples, chunk duplication.
/// Deterministic for a given seed, so any failure is reproducible from the printed seed and iteration.
/// </summary>
public sealed class Mutator(int seed, IReadOnlyList<byte[]> samples)
{
    private readonly Random _rng = new(seed);
    private static readonly ulong[] Interesting =
        [0, 1, 2, 7, 8, 15, 16, 23, 24, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024, 4095, 4096, 65535, 65536,
         0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffff, 0xffffffffffffffff];

    /// <summary>How many inputs a fuzz test runs: FSHEALER_FUZZ_COUNT, else the CI default.</summary>
    public static int Count(int ciDefault = 10_000) =>
        int.TryParse(Environment.GetEnvironmentVariable("FSHEALER_FUZZ_COUNT"), out var n) && n > 0 ? n : ciDefault;

    public byte[] Next()
    {
        var b = (byte[])samples[_rng.Next(samples.Count)].Clone();
        int rounds = 1 + _rng.Next(4);
        for (int i = 0; i < rounds; i++) b = MutateOnce(b);
        return b;
    }

    private byte[] MutateOnce(byte[] b)
    {
        switch (_rng.Next(9))
        {
            case 0: // bit flip
                if (b.Length > 0) b[_rng.Next(b.Length)] ^= (byte)(1 << _rng.Next(8));
                return b;
            case 1: // random byte
                if (b.Length > 0) b[_rng.Next(b.Length)] = (byte)_rng.Next(256);
                return b;
            case 2: // 16-bit field (reclen, metadata_len, info len)
                if (b.Length >= 2) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(_rng.Next(b.Length - 1) & ~1), (ushort)Pick());
                return b;
            case 3: // 32-bit field (event_len, sizes, offsets, counts)
                if (b.Length >= 4) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(_rng.Next(b.Length - 3) & ~3), (uint)PickNear(b.Length));
                return b;
            case 4: // 64-bit field
                if (b.Length >= 8) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(_rng.Next(b.Length - 7) & ~7), Pick());
                return b;
            case 5: // truncate
                return b.Length == 0 ? b : b[.._rng.Next(b.Length)];
            case 6: // extend with garbage or zeros
            {
                var ext = new byte[b.Length + 1 + _rng.Next(256)];
                b.CopyTo(ext, 0);
                if (_rng.Next(2) == 0) _rng.NextBytes(ext.AsSpan(b.Length));
                return ext;
            }
            case 7: // splice: prefix of this, suffix of another valid sample
            {
                var other = samples[_rng.Next(samples.Count)];
                int cut1 = b.Length == 0 ? 0 : _rng.Next(b.Length + 1), cut2 = other.Length == 0 ? 0 : _rng.Next(other.Length + 1);
                return [.. b.AsSpan(0, cut1), .. other.AsSpan(cut2)];
            }
            default: // duplicate a chunk (repeated records)
            {
                if (b.Length == 0) return b;
                int start = _rng.Next(b.Length), len = 1 + _rng.Next(Math.Min(128, b.Length - start));
                return [.. b, .. b.AsSpan(start, len)];
            }
        }
    }

    private ulong Pick() => _rng.Next(3) == 0 ? (ulong)_rng.NextInt64() : Interesting[_rng.Next(Interesting.Length)];
    private ulong PickNear(int len) => _rng.Next(3) == 0 ? (ulong)(len + _rng.Next(-3, 4)) : Pick();

    /// <summary>
    /// Run <paramref name="target"/> over <paramref name="count"/> mutated inputs. Any exception fails the test with
    /// the seed, iteration and input (hex) so it can be replayed. Returns (inputs, rejected, elapsed).
    /// </summary>
    public static (int Inputs, int Rejected, TimeSpan Elapsed) Run(string name, int seed, IReadOnlyList<byte[]> samples,
        Func<byte[], bool> target, int? count = null)
    {
        int n = count ?? Count();
        var m = new Mutator(seed, samples);
        var sw = Stopwatch.StartNew();
        int rejected = 0;
        // the valid samples themselves first: each must be accepted
        foreach (var s in samples)
            Assert.True(target(s), $"{name}: a valid sample was rejected: {Convert.ToHexString(s)}");
        for (int i = 0; i < n; i++)
        {
            var input = m.Next();
            bool accepted;
            try { accepted = target(input); }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"{name}: exception escaped at seed {seed} iteration {i}: {ex.GetType().Name}: {ex.Message}\n" +
                            $"input ({input.Length} bytes): {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 2048)))}");
                throw;
            }
            if (!accepted) rejected++;
        }
        sw.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"fuzz {name}: {n:N0} inputs, {rejected:N0} rejected with a diagnostic, {sw.Elapsed.TotalSeconds:F2} s " +
            $"({n / Math.Max(sw.Elapsed.TotalSeconds, 1e-6):N0}/s), seed {seed}");
        return (n, rejected, sw.Elapsed);
    }

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
    public static string Text(byte[] b) => Encoding.UTF8.GetString(b);
}
