using System.Reflection;
using System.Reflection.Emit;

namespace FsHealer.Core.Tests.Architecture;

/// <summary>
/// The layout rule of src/libfshealer, checked on the compiled IL (not on file names or using lines):
/// <list type="bullet">
/// <item>only <c>FsHealer.Interop</c> declares P/Invokes;</item>
/// <item>everything outside <c>FsHealer.Interop</c> and the <c>…Live</c> namespaces is pure: its method bodies, fields,
/// signatures and base types never touch the interop layer, a Live namespace, processes, files, directories, sockets,
/// SQLite or the process environment.</item>
/// </list>
/// Pure code reaches the system only through interfaces that Live code implements.
/// </summary>
public sealed class PurityTests
{
    private static readonly Assembly Library = typeof(FsHealer.Model.FsEvent).Assembly;

    /// <summary>BCL types whose use is a system call, a file or a process (by full name or namespace prefix).</summary>
    private static readonly string[] ForbiddenTypes =
    [
        "System.Diagnostics.Process", "System.Diagnostics.ProcessStartInfo",
        "System.IO.File", "System.IO.FileInfo", "System.IO.Directory", "System.IO.DirectoryInfo", "System.IO.FileSystemInfo",
        "System.IO.FileStream", "System.IO.StreamReader", "System.IO.StreamWriter", "System.IO.FileSystemWatcher",
        "System.IO.RandomAccess", "System.IO.DriveInfo", "System.IO.Pipes.",
        "System.Net.", "Microsoft.Data.Sqlite.", "SQLitePCL.",
        "System.Runtime.InteropServices.Marshal", "System.Runtime.InteropServices.NativeLibrary",
        "System.Runtime.InteropServices.PosixSignalRegistration",
        "System.Environment", "System.Console",
    ];

    /// <summary>Members of forbidden types that read no system state (compiler-generated iterators use the first).</summary>
    private static readonly HashSet<string> AllowedMembers =
        ["System.Environment.get_CurrentManagedThreadId", "System.Environment.get_NewLine", "System.Environment.get_TickCount64"];

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    internal static bool IsImpureNamespace(string? ns) =>
        ns is not null && (ns == "FsHealer.Interop" || ns.StartsWith("FsHealer.Interop.", StringComparison.Ordinal)
                           || ns.Split('.').Contains("Live"));

    private static bool IsForbidden(Type t)
    {
        while (t.HasElementType) t = t.GetElementType()!;
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
            if (t.GetGenericArguments().Any(IsForbidden)) return true;
        var decl = t;
        while (decl.DeclaringType is { } outer) decl = outer;
        if (decl.Assembly == Library) return IsImpureNamespace(decl.Namespace);
        var name = decl.FullName ?? decl.Name;
        return ForbiddenTypes.Any(f => f.EndsWith('.') ? name.StartsWith(f, StringComparison.Ordinal) : name == f);
    }

    private static IEnumerable<Type> PureTypes() =>
        Library.GetTypes().Where(t =>
        {
            var top = t;
            while (top.DeclaringType is { } outer) top = outer;
            return top.Namespace is { } ns && ns.StartsWith("FsHealer", StringComparison.Ordinal) && !IsImpureNamespace(ns);
        });

    /// <summary>Every type, member and signature a method body refers to.</summary>
    private static IEnumerable<(string What, Type Type)> References(MethodBase m)
    {
        byte[]? il;
        try { il = m.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { yield break; }
        if (il is null) yield break;
        var module = m.Module;
        Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = m is MethodInfo { IsGenericMethod: true } || m is MethodInfo { IsGenericMethodDefinition: true } ? m.GetGenericArguments() : null;
        int i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break; // unknown opcode: stop rather than misparse
            int size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            if (op.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                int token = BitConverter.ToInt32(il, i);
                MemberInfo? member = null;
                try { member = module.ResolveMember(token, typeArgs, methodArgs); }
                catch (ArgumentException) { }
                switch (member)
                {
                    case Type t: yield return ($"{op.Name} {t}", t); break;
                    case FieldInfo f:
                        yield return ($"{op.Name} {f.DeclaringType}.{f.Name}", f.DeclaringType!);
                        yield return ($"{op.Name} {f.DeclaringType}.{f.Name} : {f.FieldType}", f.FieldType);
                        break;
                    case MethodBase mb when AllowedMembers.Contains($"{mb.DeclaringType}.{mb.Name}"):
                        break;
                    case MethodBase mb:
                        yield return ($"{op.Name} {mb.DeclaringType}.{mb.Name}", mb.DeclaringType!);
                        if (mb is MethodInfo mi) yield return ($"{op.Name} {mb.DeclaringType}.{mb.Name} returns {mi.ReturnType}", mi.ReturnType);
                        foreach (var p in mb.GetParameters()) yield return ($"{op.Name} {mb.DeclaringType}.{mb.Name}({p.ParameterType})", p.ParameterType);
                        break;
                }
            }
            i += size;
        }
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    internal static List<string> Violations(IEnumerable<Type> types)
    {
        var found = new List<string>();
        foreach (var t in types)
        {
            if (t.BaseType is { } b && IsForbidden(b)) found.Add($"{t}: derives from {b}");
            foreach (var i in t.GetInterfaces().Where(IsForbidden)) found.Add($"{t}: implements {i}");
            foreach (var f in t.GetFields(All).Where(f => IsForbidden(f.FieldType))) found.Add($"{t}.{f.Name}: field of type {f.FieldType}");
            foreach (var m in t.GetMethods(All).Cast<MethodBase>().Concat(t.GetConstructors(All)))
            {
                if ((m.Attributes & MethodAttributes.PinvokeImpl) != 0) found.Add($"{t}.{m.Name}: P/Invoke outside FsHealer.Interop");
                if (m is MethodInfo mi && IsForbidden(mi.ReturnType)) found.Add($"{t}.{m.Name}: returns {mi.ReturnType}");
                foreach (var p in m.GetParameters().Where(p => IsForbidden(p.ParameterType))) found.Add($"{t}.{m.Name}: parameter {p.Name} of type {p.ParameterType}");
                foreach (var (what, type) in References(m))
                    if (IsForbidden(type)) found.Add($"{t}.{m.Name}: {what}");
            }
        }
        return found.Distinct().ToList();
    }

    [Fact]
    public void Pure_namespaces_never_touch_the_system()
    {
        var violations = Violations(PureTypes());
        Assert.True(violations.Count == 0, "pure code touches the system:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void Only_the_interop_layer_declares_platform_invokes()
    {
        var pinvokes = Library.GetTypes()
            .SelectMany(t => t.GetMethods(All).Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0).Select(m => (t, m)))
            .Where(x => { var top = x.t; while (top.DeclaringType is { } o) top = o; return top.Namespace != "FsHealer.Interop"; })
            .Select(x => $"{x.t}.{x.m.Name}")
            .ToList();
        Assert.True(pinvokes.Count == 0, "P/Invokes outside FsHealer.Interop:\n" + string.Join('\n', pinvokes));
        // and the interop layer does have them (the check above is not vacuous)
        Assert.Contains(Library.GetTypes(), t => t.Namespace == "FsHealer.Interop" && t.GetMethods(All).Any(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0));
    }

    /// <summary>The checker itself: it must see a syscall layer reference, a process, a file and a Live type in a body.</summary>
    [Fact]
    public void The_checker_finds_what_it_must_find()
    {
        var v = Violations([typeof(Impure)]);
        Assert.Contains(v, s => s.Contains("System.Diagnostics.Process", StringComparison.Ordinal));
        Assert.Contains(v, s => s.Contains("System.IO.File", StringComparison.Ordinal));
        Assert.Contains(v, s => s.Contains("FsHealer.Interop", StringComparison.Ordinal));
        Assert.Empty(Violations([typeof(PureExample)]));
    }

    private static class Impure
    {
        public static int Run() => System.Diagnostics.Process.GetCurrentProcess().Id;
        public static string Read() => File.ReadAllText("/etc/hostname");
        public static int Errno() => FsHealer.Interop.Libc.O_RDONLY + new Func<int>(() => FsHealer.Text.Errno.EBADF)();
        public static object Fd() => new FsHealer.Interop.SafeFd();
    }

    private static class PureExample
    {
        public static string Format(int n) => $"{n} events; {FsHealer.Text.Errno.Name(5)}";
    }
}
