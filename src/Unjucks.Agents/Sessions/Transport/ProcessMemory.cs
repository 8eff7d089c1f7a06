using System.Globalization;

namespace Unjucks.Agents.Sessions.Transport;

/// <summary>
/// Memory of a job: the proportional set size (PSS, <c>/proc/&lt;pid&gt;/smaps_rollup</c>) of this process and of each
/// agent process, summed, so pages shared between them (the session's shared memory, the runtime's files) count
/// once in total instead of once per process as with RSS. Also each agent's anonymous (private heap) memory.
/// A process that is gone counts 0. Used by sessions (the measured memory that feeds the budget's pressure) and by the
/// tool's dashboard.
/// </summary>
internal static class ProcessMemory
{
    /// <summary>The summed PSS of this process and <paramref name="pids"/> (each once), and the largest anonymous size among the agents.</summary>
    public static (long PssBytes, long MaxAgentAnonymousBytes) Sample(IEnumerable<int> pids)
    {
        var self = Environment.ProcessId;
        long pss = Read(self).Pss;
        long anonymous = 0;
        foreach (var pid in pids.Distinct())
        {
            if (pid == self || pid <= 0)
            {
                continue; // thread agents live in this process: counted once, above.
            }

            var (p, a) = Read(pid);
            pss += p;
            anonymous = Math.Max(anonymous, a);
        }

        return (pss, anonymous);
    }

    /// <summary>The summed PSS of <paramref name="pids"/>, each once (0 for one that is gone): what a session's agents
    /// use (in threads mode, this process's pid stands for all of them).</summary>
    public static long PssOf(IEnumerable<int> pids)
    {
        long pss = 0;
        foreach (var pid in pids.Where(p => p > 0).Distinct())
        {
            pss += Read(pid).Pss;
        }

        return pss;
    }

    private static (long Pss, long Anonymous) Read(int pid)
    {
        long pss = 0;
        long anonymous = 0;
        try
        {
            foreach (var line in File.ReadLines(string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/smaps_rollup")))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    pss = Kilobytes(line);
                }
                else if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
                {
                    anonymous = Kilobytes(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone, or not ours to read.
        }

        return (pss, anonymous);
    }

    private static long Kilobytes(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : 0;
    }
}
