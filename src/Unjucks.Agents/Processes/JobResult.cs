namespace Unjucks.Agents.Processes;

/// <summary>The outcome of one job: every task's committed result exactly once, and a summary.</summary>
internal sealed class JobResult
{
    /// <summary>The result committed for a task whose handler threw (reserved: handlers never return it).</summary>
    public const long FailedResult = long.MinValue;

    internal JobResult(long jobSequence, long[] results, int[] executedBy, IReadOnlyDictionary<long, string> failures, JobSummary summary)
    {
        JobSequence = jobSequence;
        Results = results;
        ExecutedBy = executedBy;
        Failures = failures;
        Summary = summary;
    }

    /// <summary>The session's job number.</summary>
    public long JobSequence { get; }

    /// <summary>Each task's committed result, indexed by task id; <see cref="FailedResult"/> for failed tasks.</summary>
    public IReadOnlyList<long> Results { get; }

    /// <summary>The agent index whose commit won, per task id.</summary>
    public IReadOnlyList<int> ExecutedBy { get; }

    /// <summary>Failed task ids and their messages ("ExceptionType: message", truncated to the state table's value size; "(message lost)" if it could not be stored).</summary>
    public IReadOnlyDictionary<long, string> Failures { get; }

    /// <summary>Metrics of the job.</summary>
    public JobSummary Summary { get; }
}

/// <summary>Percentiles of a duration distribution.</summary>
/// <param name="P50">Median.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="Max">Largest.</param>
/// <param name="Mean">Mean.</param>
internal sealed record LatencySummary(TimeSpan P50, TimeSpan P95, TimeSpan P99, TimeSpan Max, TimeSpan Mean);

/// <summary>
/// Metrics of one job (definitions: docs/agent-processes.md, "Job summary").
/// </summary>
/// <param name="TaskCount">Tasks in the job.</param>
/// <param name="Elapsed">From publishing the job to seeing every task Done.</param>
/// <param name="Throughput">TaskCount / Elapsed, tasks per second.</param>
/// <param name="Execution">Pickup (lease) to commit of each task, from the task table's ticks (handler time plus the commit).</param>
/// <param name="QueueTime">Placement to pickup of each task (first placement; includes any recovery delay).</param>
/// <param name="MessageLatencyP50">Placement-to-pickup median: the SAME data as <see cref="QueueTime"/> (the "message latency").</param>
/// <param name="MessageLatencyP95">Placement-to-pickup 95th percentile (same data as <see cref="QueueTime"/>).</param>
/// <param name="TotalSteals">Successful batch steals over all agents.</param>
/// <param name="LoadCoefficientOfVariation">Population standard deviation / mean of tasks executed per agent, over agents alive and active at the end.</param>
/// <param name="CoordinationOverhead">Sum over agents of (attached - handler - parked) / sum of attached time: the share of agents' job time spent on queues, leases, commits, steals and spinning.</param>
/// <param name="AgentDeaths">Agents found dead during the job.</param>
/// <param name="RecoveredTasks">Ids collected from dead agents (task table, deque, inbox) and by the stall sweep, for re-placement.</param>
/// <param name="FailedTasks">Tasks committed as failed.</param>
/// <param name="Agents">Per-agent counters for this job.</param>
/// <param name="ActiveCountChanges">Changes of the active agent count during the job (adaptive), in order.</param>
internal sealed record JobSummary(
    int TaskCount,
    TimeSpan Elapsed,
    double Throughput,
    LatencySummary Execution,
    LatencySummary QueueTime,
    TimeSpan MessageLatencyP50,
    TimeSpan MessageLatencyP95,
    long TotalSteals,
    double LoadCoefficientOfVariation,
    double CoordinationOverhead,
    int AgentDeaths,
    long RecoveredTasks,
    int FailedTasks,
    IReadOnlyList<AgentJobStats> Agents,
    IReadOnlyList<ActiveCountChange> ActiveCountChanges)
{
    /// <summary>Agents ended because one of their leases outlived <see cref="JobCoordinatorOptions.LeaseTimeout"/> (each is
    /// also counted in <see cref="AgentDeaths"/> once it is seen dead).</summary>
    public int LeaseTimeouts { get; init; }

    /// <summary>
    /// Coordinated GC rounds that ended during the job, in order: automatic ones (<see cref="JobCoordinatorOptions.GcBudgetBytes"/>)
    /// and on-demand ones (<see cref="JobCoordinator.RunGcRoundAsync"/>).
    /// </summary>
    public IReadOnlyList<Gc.GcRoundResult> GcRounds { get; init; } = [];
}

/// <summary>One agent's share of a job.</summary>
/// <param name="Index">Agent index.</param>
/// <param name="Pid">Process id.</param>
/// <param name="RegistrySlot">Registry slot.</param>
/// <param name="Alive">Alive at the end of the job.</param>
/// <param name="Active">Active at the end of the job.</param>
/// <param name="TasksExecuted">Tasks whose Done record names this agent (exact, from the task table).</param>
/// <param name="Commits">Successful commits the agent counted itself (equals TasksExecuted for a live agent).</param>
/// <param name="LostCommits">Commits refused because the lease was revoked or recovered.</param>
/// <param name="Failures">Tasks it committed as failed.</param>
/// <param name="Steals">Successful batch steals.</param>
/// <param name="StolenTasks">Ids taken by those steals.</param>
/// <param name="StealAttempts">Batch steal calls (successful or not).</param>
/// <param name="HandlerTime">Time inside the handler.</param>
/// <param name="AttachedTime">Time attached to the job (from opening its segment to leaving it).</param>
/// <param name="ParkedTime">Time parked on the change sequence while attached.</param>
internal sealed record AgentJobStats(
    int Index, int Pid, int RegistrySlot, bool Alive, bool Active, long TasksExecuted, long Commits, long LostCommits, long Failures,
    long Steals, long StolenTasks, long StealAttempts, TimeSpan HandlerTime, TimeSpan AttachedTime, TimeSpan ParkedTime);

/// <summary>A change of the number of active agents.</summary>
/// <param name="At">Time since the job started.</param>
/// <param name="OldCount">Active agents before.</param>
/// <param name="NewCount">Active agents after.</param>
internal sealed record ActiveCountChange(TimeSpan At, int OldCount, int NewCount);
