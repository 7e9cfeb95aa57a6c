using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.InteropServices.Marshalling;
using FsHealer.Text;

namespace FsHealer.Interop;

/// <summary>
/// Marshals a path (or any name the kernel compares as bytes) to a NUL-terminated C string with
/// <see cref="PathBytes.Encode"/>: a byte that is not valid UTF-8, carried as U+DC80..U+DCFF, goes back to the kernel
/// as that byte (StringMarshalling.Utf8 would send EF BF BD instead, i.e. another file's name). Every [LibraryImport]
/// that takes a path uses it (<c>StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType =
/// typeof(PathMarshaller)</c>). A path with a NUL inside cannot be passed to the kernel without naming another file:
/// it throws <see cref="ArgumentException"/>.
/// </summary>
[CustomMarshaller(typeof(string), MarshalMode.ManagedToUnmanagedIn, typeof(ManagedToUnmanagedIn))]
public static unsafe class PathMarshaller
{
    public ref struct ManagedToUnmanagedIn
    {
        /// <summary>Paths up to this many bytes are marshalled on the stack.</summary>
        public static int BufferSize => 512;

        private byte* _native;
        private bool _allocated;

        public void FromManaged(string? managed, Span<byte> buffer)
        {
            _allocated = false;
            if (managed is null) { _native = null; return; }
            if (managed.Contains('\0')) throw new ArgumentException($"path \"{PathBytes.Show(managed)}\" contains a NUL byte", nameof(managed));
            int n = PathBytes.ByteCount(managed);
            if (n + 1 > buffer.Length)
            {
                _native = (byte*)NativeMemory.Alloc((nuint)(n + 1));
                _allocated = true;
                buffer = new Span<byte>(_native, n + 1);
            }
            else _native = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(buffer));
            PathBytes.Encode(managed, buffer);
            buffer[n] = 0;
        }

        public readonly byte* ToUnmanaged() => _native;

        public readonly void Free()
        {
            if (_allocated) NativeMemory.Free(_native);
        }
    }

    /// <summary>A NUL-terminated copy of <paramref name="path"/> for the raw syscall() calls that take a pointer.</summary>
    public static byte[] ToCString(string path)
    {
        if (path.Contains('\0')) throw new ArgumentException($"path \"{PathBytes.Show(path)}\" contains a NUL byte", nameof(path));
        var b = new byte[PathBytes.ByteCount(path) + 1];
        PathBytes.Encode(path, b);
        return b;
    }

    /// <summary>The string a C function returned (NUL-terminated bytes), decoded byte-exactly.</summary>
    public static string FromCString(byte* p) => PathBytes.Decode(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(p));
}
