namespace Unjucks.Cli.Engine;

/// <summary>Whether an agent took part in a coordinated GC round.</summary>
public enum GcOutcome
{
    /// <summary>The agent collected and reported back in time.</summary>
    Acknowledged,

    /// <summary>The agent did not report back before the round's timeout.</summary>
    TimedOut,

    /// <summary>The agent died, its collection could not be induced, or its after-values never came (see <see cref="AgentGcReport.Error"/>).</summary>
    Failed,
}

/// <summary>One agent's part of a coordinated GC round.</summary>
/// <param name="Slot">Agent slot.</param>
/// <param name="Pid">Agent pid.</param>
/// <param name="BytesBefore">Managed heap bytes before its collection.</param>
/// <param name="BytesAfter">Managed heap bytes after (equal to before when not collected).</param>
/// <param name="Pause">GC pause time it reported.</param>
/// <param name="Outcome">Acknowledged, timed out or failed.</param>
/// <param name="Error">Why the agent was not collected, or null.</param>
public sealed record AgentGcReport(int Slot, int Pid, long BytesBefore, long BytesAfter, TimeSpan Pause, GcOutcome Outcome, string? Error = null)
{
    /// <summary>Bytes freed (never negative).</summary>
    public long BytesFreed => Math.Max(0, BytesBefore - BytesAfter);

    /// <summary>Fraction of the heap freed, 0 to 1 (0 when the heap was empty).</summary>
    public double Efficiency => BytesBefore <= 0 ? 0 : (double)BytesFreed / BytesBefore;
}

/// <summary>The result of one coordinated GC round.</summary>
/// <param name="RegionName">The job's region.</param>
/// <param name="Duration">From the request to the last report or the timeout.</param>
/// <param name="Agents">One report per live agent, in slot order.</param>
public sealed record GcRoundReport(string RegionName, TimeSpan Duration, IReadOnlyList<AgentGcReport> Agents);

/// <summary>Asks every agent of a running job to collect garbage in a coordinated round.</summary>
public interface IGcCoordinator
{
    /// <summary>
    /// Runs one round on the job that owns <paramref name="regionName"/>: agents drain in-flight work as the
    /// engine decides, collect, and report. Agents that do not answer within <paramref name="timeout"/> are
    /// reported as <see cref="GcOutcome.TimedOut"/>, agents that die or cannot be collected as <see cref="GcOutcome.Failed"/>. Throws when the region does not exist or has no live job.
    /// </summary>
    /// <param name="regionName">Region name from <see cref="IRegionInspector.ListRegions"/>.</param>
    /// <param name="timeout">How long to wait for agents.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    Task<GcRoundReport> RunRoundAsync(string regionName, TimeSpan timeout, CancellationToken cancellationToken);
}
