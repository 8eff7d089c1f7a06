using Unjucks.Agents;

namespace Unjucks.Cli.Engine;

/// <summary>One agent's line in a live snapshot of a running job.</summary>
/// <param name="Slot">The agent's slot in the region's registry (0-based).</param>
/// <param name="Pid">Operating-system process id of the agent (the tool's own pid in threads mode).</param>
/// <param name="State">Short state word, e.g. "starting", "running", "stealing", "idle", "exited", "dead".</param>
/// <param name="Alive">False once the agent's process is gone or its heartbeat expired.</param>
/// <param name="TasksDone">Tasks this agent completed so far (templates rendered, successfully or not).</param>
/// <param name="Steals">Tasks this agent took from other agents' deques.</param>
public sealed record AgentSnapshot(int Slot, int Pid, string State, bool Alive, long TasksDone, long Steals);

/// <summary>An alert that is active at the time of a snapshot.</summary>
/// <param name="Severity">How serious it is.</param>
/// <param name="Message">One line saying what is wrong, for a person.</param>
public sealed record JobAlert(AlertSeverity Severity, string Message);

/// <summary>
/// A point-in-time view of a running job, reported by <see cref="IJobEngine.RunAsync"/> through its
/// <see cref="IProgress{T}"/>. Immutable: the engine builds a new one for each report.
/// </summary>
/// <param name="Elapsed">Time since the job started.</param>
/// <param name="Agents">One entry per agent slot, in slot order.</param>
/// <param name="Completed">Templates finished so far (rendered or failed).</param>
/// <param name="Total">Templates in the job; 0 while discovery has not finished.</param>
/// <param name="Failed">Templates that failed so far (included in <paramref name="Completed"/>).</param>
/// <param name="OperationsPerSecond">Recent throughput, operations per second.</param>
/// <param name="LatencyP95">95th percentile of one operation's latency so far.</param>
/// <param name="QueueDepth">Tasks waiting in all queues and deques.</param>
/// <param name="MemoryBytes">Memory in use by the job: the proportional set sizes (PSS) of this process and the live agent processes, summed (shared pages once).</param>
/// <param name="Alerts">Alerts active now; empty when none.</param>
public sealed record JobSnapshot(
    TimeSpan Elapsed,
    IReadOnlyList<AgentSnapshot> Agents,
    long Completed,
    long Total,
    long Failed,
    double OperationsPerSecond,
    TimeSpan LatencyP95,
    long QueueDepth,
    long MemoryBytes,
    IReadOnlyList<JobAlert> Alerts)
{
    /// <summary>Agents rendering now: all live ones, or the adaptive count (0 before the session reports).</summary>
    public int ActiveAgents { get; init; }

    /// <summary>The adaptive count's changes so far, with the controller's reasons; empty for a fixed count.</summary>
    public IReadOnlyList<ActiveAgentsChange> ActiveAgentsHistory { get; init; } = [];

    /// <summary>Bytes of the session's memory budget reserved by running tasks now (0 without a budget).</summary>
    public long MemoryReservedBytes { get; init; }

    /// <summary>Tasks held until their memory reservation fits the budget.</summary>
    public int TasksWaitingForMemory { get; init; }

    /// <summary>The agents' memory budget (0: none).</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>The agents' measured memory (PSS) at the session's last reading (0 without a budget).</summary>
    public long MemoryMeasuredBytes { get; init; }

    /// <summary>Coordinated GC rounds so far.</summary>
    public long GcRounds { get; init; }
}
