using System.CommandLine;
using System.Diagnostics;

namespace FsHealer.Cli.Commands;

/// <summary>`fshealer demo`: runs the self-contained demo (scratch loop XFS, ext4 and btrfs RAID1 with real faults,
/// the daemon healing them, then cleanup). The demo is a script (scripts/demo.sh, installed as
/// /usr/share/fshealer/demo.sh) because it drives mkfs, xfs_db, debugfs and dd like an administrator would.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var cmd = new Command("demo", "Self-contained demo on scratch loop filesystems: inject real faults, watch fshealer detect, decide, heal and verify (root).");
        cmd.SetAction(_ =>
        {
            var script = Find();
            if (script is null)
            {
                Console.Error.WriteLine("fshealer demo: demo.sh not found (looked next to the binary, in the source tree and in /usr/share/fshealer)");
                return 1;
            }
            var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
            psi.ArgumentList.Add(script);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode;
        });
        return cmd;
    }

    private static string? Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var s = Path.Combine(d.FullName, "scripts", "demo.sh");
            if (File.Exists(s)) return s;
        }
        return File.Exists("/usr/share/fshealer/demo.sh") ? "/usr/share/fshealer/demo.sh" : null;
    }
}
