using System.Diagnostics;
using System.Text;
using FsHealer.Service.Journal;
using FsHealer.Service.Notify;

namespace FsHealer.Service.Notify.Live;

/// <summary>Email through the local MTA: <c>sendmail -t</c> reads the recipients from the headers.</summary>
public sealed class SendmailDestination(EmailSettings settings, string? searchPath = null) : INotifyDestination
{
    public string Name => $"email to {string.Join(", ", settings.To)}";
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Finds the sendmail program: an absolute path as is, else in PATH and the usual sbin/lib places.</summary>
    public string? Resolve()
    {
        if (settings.Sendmail.Contains('/')) return File.Exists(settings.Sendmail) ? settings.Sendmail : null;
        var dirs = (searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/usr/lib", "/sbin"]);
        foreach (var d in dirs)
        {
            var p = Path.Combine(d, settings.Sendmail);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>The message for <c>sendmail -t</c>: headers bounded and encoded (<see cref="MailFormat"/>), the
    /// host in the subject, an 8-bit UTF-8 body with no line over 998 bytes.</summary>
    public static string Compose(EmailSettings s, NotifyMessage m)
    {
        var sb = new StringBuilder();
        sb.Append(MailFormat.Header("From", s.From, 998)).Append('\n');
        sb.Append(FoldAddresses("To", s.To)).Append('\n');
        sb.Append(MailFormat.SubjectHeader(m.Subject)).Append('\n');
        sb.Append("Date: ").Append(m.Time.ToString("r")).Append('\n');   // RFC 5322 date (the mail format's own)
        sb.Append("Auto-Submitted: auto-generated\n");
        sb.Append("X-FsHealer-Kind: ").Append(m.Kind.ToString().ToLowerInvariant()).Append('\n');
        sb.Append("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\nMIME-Version: 1.0\n\n");
        foreach (var line in MailFormat.BodyLines(m.Body))
            sb.Append(line == "." ? ".." : line).Append('\n');
        return sb.ToString();
    }

    // "To: a, b, c" folded after commas below 78 characters per line
    private static string FoldAddresses(string name, IReadOnlyList<string> addresses)
    {
        var sb = new StringBuilder(name).Append(": ");
        int lineLen = sb.Length;
        for (int i = 0; i < addresses.Count; i++)
        {
            var a = MailFormat.OneLine(addresses[i]);
            if (i > 0)
            {
                sb.Append(',');
                if (lineLen + 2 + a.Length > 78) { sb.Append("\n "); lineLen = 1; }
                else { sb.Append(' '); lineLen += 2; }
            }
            sb.Append(a);
            lineLen += a.Length;
        }
        return sb.ToString();
    }

    public DeliveryResult Send(NotifyMessage m)
    {
        var exe = Resolve();
        if (exe is null) return DeliveryResult.Failure($"sendmail program \"{settings.Sendmail}\" not found");
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-t");
        psi.ArgumentList.Add("-oi");
        psi.Environment.Clear();
        psi.Environment["PATH"] = HookDestination.SafePath;
        FdHygiene.MarkAllCloseOnExec();
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var outp = p.StandardOutput.ReadToEndAsync();
            p.StandardInput.Write(Compose(settings, m));
            p.StandardInput.Close();
            if (!p.WaitForExit(Timeout)) { try { p.Kill(true); } catch (InvalidOperationException) { } return DeliveryResult.Failure($"{exe} timed out"); }
            p.WaitForExit();
            return p.ExitCode == 0 ? DeliveryResult.Success($"{exe} -t accepted the message")
                : DeliveryResult.Failure($"{exe} -t exited {p.ExitCode}: {(err.Wait(1000) ? err.Result.Trim() : "")}");
        }
        catch (Exception ex) { return DeliveryResult.Failure($"{exe}: {ex.Message}"); }
    }
}
