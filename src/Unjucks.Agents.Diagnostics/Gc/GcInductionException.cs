namespace Unjucks.Agents.Gc;

/// <summary>A diagnostics exchange with an agent process (GC induction, counter read) failed.</summary>
public sealed class GcInductionException : Exception
{
    /// <summary>Creates the exception for process <paramref name="pid"/>.</summary>
    public GcInductionException(int pid, string problem, Exception? inner = null)
        : base($"Diagnostics exchange with process {pid} failed: {problem}. Check that it is alive (registry) and retry, or skip this agent for this round.", inner)
    {
        Pid = pid;
    }

    /// <summary>The target process.</summary>
    public int Pid { get; }
}
