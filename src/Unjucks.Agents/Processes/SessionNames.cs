using System.Globalization;

namespace Unjucks.Agents.Processes;

/// <summary>File stems and state-table keys of a session, shared by the coordinator and its agents.</summary>
internal static class SessionNames
{
    /// <summary>Longest session name: keeps "&lt;session&gt;/&lt;seq&gt;/p/&lt;id&gt;" under the region's default 64-byte keys.</summary>
    internal const int MaxSessionLength = 24;

    internal static void Validate(string session)
    {
        ArgumentNullException.ThrowIfNull(session);
        bool ok = session.Length is > 0 and <= MaxSessionLength;
        foreach (char c in session)
        {
            ok &= char.IsAsciiLetterOrDigit(c) || c is '_' or '-';
        }

        if (!ok)
        {
            throw new ArgumentException(
                $"Session name '{session}' is invalid: use 1 to {MaxSessionLength} characters from A-Z, a-z, 0-9, '_' and '-'.", nameof(session));
        }
    }

    internal static string NewSession() =>
        string.Create(CultureInfo.InvariantCulture, $"uj{Environment.ProcessId:x}-{Random.Shared.Next(0x100000, 0xFFFFFF):x}");

    internal static string JobSegment(string session, long seq) => string.Create(CultureInfo.InvariantCulture, $"{session}-{seq}");

    internal static string PayloadKey(string session, long seq, long id) => string.Create(CultureInfo.InvariantCulture, $"{session}/{seq}/p/{id}");

    internal static string FailureKey(string session, long seq, long id) => string.Create(CultureInfo.InvariantCulture, $"{session}/{seq}/f/{id}");

    internal static string SharedQueue(string session) => session + "/q";

    internal static string WakeKey(string session) => session + "/wake";
}
