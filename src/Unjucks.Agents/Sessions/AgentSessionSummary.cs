namespace Unjucks.Agents;

/// <summary>What a session did, from <see cref="AgentSession.CompleteAsync"/>: counts and the seed's figures.</summary>
public sealed class AgentSessionSummary
{
    internal AgentSessionSummary() { }

    /// <summary>Tasks that committed a result.</summary>
    public long Completed { get; init; }

    /// <summary>Tasks that failed (handler exceptions, dead agents, time-outs, failed dependencies).</summary>
    public long Failed { get; init; }

    /// <summary>Agent processes that died (killed, crashed, or ended for a time-out).</summary>
    public int AgentDeaths { get; init; }

    /// <summary>Agent processes started to replace dead ones.</summary>
    public int AgentRestarts { get; init; }

    /// <summary>Agents killed because a task outlived <see cref="AgentSessionOptions.LeaseTimeout"/>.</summary>
    public int LeaseTimeouts { get; init; }

    /// <summary>Times an agent's heartbeat stalled beyond <see cref="AgentSessionOptions.StallTimeout"/>.</summary>
    public int Stalls { get; init; }

    /// <summary>Tasks run by another agent than the one they were placed on.</summary>
    public long Steals { get; init; }

    /// <summary>From the session's start to the end of its last task.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Ended tasks per second of <see cref="Elapsed"/>.</summary>
    public double Throughput { get; init; }

    /// <summary>Submission to result, median.</summary>
    public TimeSpan LatencyP50 { get; init; }

    /// <summary>Submission to result, 95th percentile.</summary>
    public TimeSpan LatencyP95 { get; init; }

    /// <summary>Submission to result, 99th percentile.</summary>
    public TimeSpan LatencyP99 { get; init; }

    /// <summary>Queue time, median: from the task being ready (submitted, and every dependency committed) to its
    /// start on an agent.</summary>
    public TimeSpan QueueTimeP50 { get; init; }

    /// <summary>Queue time (ready to started), mean.</summary>
    public TimeSpan QueueTimeMean { get; init; }

    /// <summary>Queue time (ready to started), 99th percentile.</summary>
    public TimeSpan QueueTimeP99 { get; init; }

    /// <summary>Message latency, median: from the task's placement on an agent to its pickup (the lease).</summary>
    public TimeSpan PickupLatencyP50 { get; init; }

    /// <summary>Message latency (placed to picked up), 99th percentile.</summary>
    public TimeSpan PickupLatencyP99 { get; init; }

    /// <summary>Share of the work's time spent coordinating: the coordinator's busy time plus the agents' time
    /// from lease to commit outside the handler, over that plus the handlers' time (0 to 1; the seed alerts above 0.15).</summary>
    public double CoordinationOverhead { get; init; }

    /// <summary>Coefficient of variation of tasks run per agent slot (0: perfectly even; the seed alerts above 0.3).</summary>
    public double LoadCoefficientOfVariation { get; init; }

    /// <summary>Tasks run per agent slot.</summary>
    public IReadOnlyList<long> TasksPerAgent { get; init; } = [];

    /// <summary>The memory budget tasks reserved against (0: none; see <see cref="AgentSessionOptions.MemoryBudgetBytes"/>).</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>The most bytes of the budget reserved at one time by the tasks placed together.</summary>
    public long MemoryReservedPeak { get; init; }

    /// <summary>The largest summed PSS of the agents measured (see <see cref="AgentSession.MemoryMeasured"/>; 0 without a budget).</summary>
    public long MemoryMeasuredPeak { get; init; }

    /// <summary>Coordinated GC rounds the session started (see <see cref="AgentSession.GcRounds"/>).</summary>
    public long GcRounds { get; init; }

    /// <summary>Agents taking work at the end (see <see cref="AgentSessionOptions.Concurrency"/>).</summary>
    public int ActiveAgents { get; init; }

    /// <summary>How the adaptive agent count moved, oldest first, starting with its initial count; each entry says
    /// why. Empty for a fixed count.</summary>
    public IReadOnlyList<ActiveAgentsChange> ActiveAgentsHistory { get; init; } = [];

    /// <summary>Alerts raised during the session, in order.</summary>
    public IReadOnlyList<AgentSessionAlert> Alerts { get; init; } = [];
}

/// <summary>Something a user should know about a running session (a stalled agent, an exhausted restart budget).</summary>
/// <param name="Kind">"AgentStalled", "AgentResumed", "AgentRestartBudgetExhausted", "NoAgentsLeft", "AgentStartFailed".</param>
/// <param name="Agent">The agent slot concerned, or -1.</param>
/// <param name="Message">What happened, in one line.</param>
/// <param name="Time">When it was raised (the session's clock).</param>
public sealed record AgentSessionAlert(string Kind, int Agent, string Message, DateTimeOffset Time);
