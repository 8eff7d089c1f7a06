using System.Globalization;

namespace Unjucks.Agents.Processes;

/// <summary>File stems and state-table keys of a session, shared by the coordinator and its agents.</summary>
internal static class SessionNames
{
    /// <summary>Longest session name: keeps "&lt;session&gt;/p/&lt;id&gt;" and the GC keys under the region's default 64-byte keys.</summary>
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

    // Payload and failure keys carry no job number: a state-table key keeps its slot forever once bound (deletes leave
    // a tombstone that only the same key reuses), so per-job keys would fill the table after StateSlots tasks over the
    // session's life. Keyed by task id, a session binds at most (largest job) payload + failure keys. Jobs run one at a
    // time and every job removes its keys when it ends (and a streaming job as each task completes), so a key read by
    // an agent of job k was written by job k. A straggler of job k-1 that reads a key of job k can only run an id whose
    // lease lives in job k-1's segment: its commit never reaches job k.
    internal static string PayloadKey(string session, long id) => string.Create(CultureInfo.InvariantCulture, $"{session}/p/{id}");

    internal static string FailureKey(string session, long id) => string.Create(CultureInfo.InvariantCulture, $"{session}/f/{id}");

    internal static string SharedQueue(string session) => session + "/q";

    internal static string WakeKey(string session) => session + "/wake";
}
