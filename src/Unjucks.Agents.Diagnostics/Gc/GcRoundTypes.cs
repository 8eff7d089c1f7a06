namespace Unjucks.Agents.Gc;

/// <summary>An agent process a GC round covers.</summary>
/// <param name="AgentSlot">The agent's slot in the region's registry (<see cref="Unjucks.SharedMemory.AgentRegistry.CurrentSlot"/> in the agent).</param>
/// <param name="Pid">The agent's process id (the EventPipe target).</param>
public sealed record GcTarget(int AgentSlot, int Pid);

/// <summary>What a round did with one agent.</summary>
public enum GcAgentOutcome
{
    /// <summary>The agent acknowledged, a full GC was induced in it, and it reported its after-values.</summary>
    Collected,

    /// <summary>The agent did not acknowledge within the acknowledgement timeout; it was not collected.</summary>
    TimedOut,

    /// <summary>The agent died, the induction failed, or its after-values never came; <see cref="GcAgentReport.Error"/> says which.</summary>
    Failed,
}

/// <summary>Where a report's byte and time values come from.</summary>
public enum GcMeasurement
{
    /// <summary>Nothing was measured (the agent was not collected).</summary>
    None,

    /// <summary>
    /// The agent runtime's own record of the induced full blocking GC (<c>GC.GetGCMemoryInfo(GCKind.FullBlocking)</c>):
    /// heap size on entry to and on exit from that GC summed over generations, and its pause durations.
    /// </summary>
    InducedGc,

    /// <summary>
    /// Fallback when the agent saw no new full blocking GC during its pause: <c>GC.GetTotalMemory(false)</c> at the
    /// acknowledgement and at the release, and the growth of <c>GC.GetTotalPauseDuration()</c> between them.
    /// </summary>
    TotalMemory,
}

/// <summary>One agent's part of a GC round; every number is the agent process's own (see <see cref="Measurement"/>).</summary>
/// <param name="AgentSlot">Registry slot.</param>
/// <param name="Pid">Process id.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="BytesBefore">
/// Collected: managed heap bytes on entry to the induced GC (<see cref="GcMeasurement.InducedGc"/>). Failed after an
/// acknowledgement: <c>GC.GetTotalMemory(false)</c> at the acknowledgement. Otherwise 0.
/// </param>
/// <param name="BytesAfter">Collected: managed heap bytes on exit from the induced GC; otherwise 0.</param>
/// <param name="Gen2Before">The agent's <c>GC.CollectionCount(2)</c> at the acknowledgement.</param>
/// <param name="Gen2After">The agent's <c>GC.CollectionCount(2)</c> at the release (0 unless collected).</param>
/// <param name="GcTime">Collected: the induced GC's own pause (the time the agent runtime suspended managed threads for it); otherwise zero.</param>
/// <param name="Error">Why the agent was not collected, or null.</param>
public sealed record GcAgentReport(int AgentSlot, int Pid, GcAgentOutcome Outcome, long BytesBefore,
    long BytesAfter, int Gen2Before, int Gen2After, TimeSpan GcTime, string? Error)
{
    /// <summary><see cref="BytesBefore"/> minus <see cref="BytesAfter"/> when collected, else 0.</summary>
    public long BytesFreed => Outcome == GcAgentOutcome.Collected ? BytesBefore - BytesAfter : 0;

    /// <summary><see cref="BytesFreed"/> divided by <see cref="BytesBefore"/> (0 when not collected or nothing was in use).</summary>
    public double Efficiency => Outcome == GcAgentOutcome.Collected && BytesBefore > 0 ? (double)BytesFreed / BytesBefore : 0;

    /// <summary>The coordinator's view of the induction: until the EventPipe session was enabled (the GC plus IPC and scheduling); zero unless induced.</summary>
    public TimeSpan InductionTime { get; init; }

    /// <summary>How long the agent was paused, on its own clock (acknowledgement to release); zero unless it reported.</summary>
    public TimeSpan PausedFor { get; init; }

    /// <summary>Where <see cref="BytesBefore"/>, <see cref="BytesAfter"/> and <see cref="GcTime"/> come from.</summary>
    public GcMeasurement Measurement { get; init; }
}

/// <summary>The outcome of one coordinated GC round.</summary>
/// <param name="Duration">From the request to the last report (the coordinator's clock).</param>
/// <param name="Agents">One report per target, in the order the targets were given.</param>
public sealed record GcRoundResult(TimeSpan Duration, IReadOnlyList<GcAgentReport> Agents)
{
    /// <summary>The round's epoch (unique and growing for the life of the region).</summary>
    public long Epoch { get; init; }

    /// <summary>Sum of <see cref="GcAgentReport.BytesFreed"/>.</summary>
    public long BytesFreed => Agents.Sum(a => a.BytesFreed);

    /// <summary>Number of agents with <paramref name="outcome"/>.</summary>
    /// <param name="outcome">The outcome to count.</param>
    /// <returns>The count.</returns>
    public int Count(GcAgentOutcome outcome) => Agents.Count(a => a.Outcome == outcome);
}

/// <summary>Timeouts of a GC round. Every wait of a round is bounded by one of them.</summary>
public sealed record GcRoundOptions
{
    /// <summary>How long agents have to acknowledge the pause (default 5 s).</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Upper bound of each agent's induced GC, EventPipe exchange included (default 30 s).</summary>
    public TimeSpan InductionTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long, after resuming, to wait for the agents' after-values (default 10 s).</summary>
    public TimeSpan ReportTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest an agent stays paused on its own clock, even if the coordinator never resumes it (it died or
    /// hung); default null = <see cref="AckTimeout"/> + <see cref="InductionTimeout"/> + 5 s, so a live
    /// coordinator always resumes before the budget ends.
    /// </summary>
    public TimeSpan? PauseBudget { get; init; }

    internal TimeSpan EffectivePauseBudget => PauseBudget ?? AckTimeout + InductionTimeout + TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        Check(AckTimeout, nameof(AckTimeout));
        Check(InductionTimeout, nameof(InductionTimeout));
        Check(ReportTimeout, nameof(ReportTimeout));
        TimeSpan budget = EffectivePauseBudget;
        Check(budget, nameof(PauseBudget));
        if (budget.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(PauseBudget), budget, $"The pause budget must be at most {int.MaxValue} ms.");
        }
    }

    private static void Check(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero || value == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite, so that no agent or coordinator can wait forever.");
        }
    }
}

/// <summary>Another coordinator, still alive, is running a GC round on this region.</summary>
public sealed class GcRoundInProgressException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="regionName">The region.</param>
    /// <param name="epoch">The running round's epoch.</param>
    /// <param name="coordinatorPid">The running round's coordinator process.</param>
    public GcRoundInProgressException(string regionName, long epoch, int coordinatorPid)
        : base($"A GC round (epoch {epoch}) is already running on region '{regionName}', coordinated by process {coordinatorPid}. Run one coordinator per region, or retry after that round ends.")
    {
        Epoch = epoch;
        CoordinatorPid = coordinatorPid;
    }

    /// <summary>The running round's epoch.</summary>
    public long Epoch { get; }

    /// <summary>The running round's coordinator process.</summary>
    public int CoordinatorPid { get; }
}
