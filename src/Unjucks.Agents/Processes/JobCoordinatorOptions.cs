namespace Unjucks.Agents.Processes;

/// <summary>Where the coordinator places a job's tasks.</summary>
internal enum Placement
{
    /// <summary>On the live, active agent with the fewest queued ids (deque count + inbox count): the seed's rule.</summary>
    LeastLoaded,

    /// <summary>Everything on agent 0 (the lowest live active agent if 0 is not): the others run only what they steal. For tests of stealing.</summary>
    SingleAgent,

    /// <summary>Agents in turn (skipping full, dead and inactive ones).</summary>
    RoundRobin,

    /// <summary>
    /// Baseline for measurements: ONE shared MPMC queue in the region (<c>SharedMessageQueue</c>) that every active agent
    /// dequeues from, one id at a time; no per-agent placement and no stealing. Same task table, leases and recovery.
    /// </summary>
    SharedQueue,
}

/// <summary>Options of <see cref="JobCoordinator.StartAsync"/>.</summary>
internal sealed record JobCoordinatorOptions
{
    /// <summary>Agent processes to start (1 to 1022). Default 4.</summary>
    public int AgentCount { get; init; } = 4;

    /// <summary>Directory of the region, control file and job segments; default the region default (/dev/shm/unjucks-&lt;uid&gt;).</summary>
    public string? Directory { get; init; }

    /// <summary>Session name (file stems, state keys; up to 24 of A-Z a-z 0-9 _ -); default a fresh unique name.</summary>
    public string? SessionName { get; init; }

    /// <summary>Placement rule. Default <see cref="Placement.LeastLoaded"/>.</summary>
    public Placement Placement { get; init; } = Placement.LeastLoaded;

    /// <summary>Ids per agent deque (power of two); also the most ids queued on one agent at a time. Default 1024.</summary>
    public int DequeCapacity { get; init; } = 1024;

    /// <summary>
    /// Most ids queued on one agent (deque + inbox) at a time; 0 = the deque capacity. Small values keep work with the
    /// coordinator (better balance for long tasks, faster hand-over on death) at the price of more placement rounds;
    /// 1 hands each task to an idle agent (the latency benchmark). Default 0.
    /// </summary>
    public int MaxQueuedPerAgent { get; init; }

    /// <summary>Ids per agent inbox (power of two; 0 = the deque capacity). Default 0.</summary>
    public int InboxCapacity { get; init; }

    /// <summary>State-table slots of the region: must hold a job's payloads plus its failure messages. Default 16384.</summary>
    public int StateSlots { get; init; } = 16384;

    /// <summary>Largest payload in bytes (the region's value size). Larger inputs go in files the payload names. Default 256.</summary>
    public int MaxPayloadBytes { get; init; } = 256;

    /// <summary>How long every agent has to register before <see cref="AgentStartupException"/>. Default 30 s.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long agents have to leave a finished job and, at dispose, to exit before they are killed. Default 5 s.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Period of <see cref="JobProgress"/> reports. Default 100 ms.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Period of the registry liveness probe of each agent (a flock probe) during a job. Default 20 ms.</summary>
    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>After an agent death, how long without progress before the queued-task sweep re-places everything Queued. Default 200 ms.</summary>
    public TimeSpan StallSweepInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A lease held longer than this is taken as a hung handler: the coordinator ends the agent that holds it (SIGKILL for
    /// an agent process; its cancellation token for an agent thread) and recovers that agent's tasks as for any dead
    /// agent, so the job finishes on the others. Null (the default): leases never time out and a hung handler stalls
    /// its task until the job is cancelled. Set it well above the slowest task: a slow task is indistinguishable from a
    /// hung one, and the agent is not restarted.
    /// </summary>
    public TimeSpan? LeaseTimeout { get; init; }

    /// <summary>Keep the region, control file and job segments after dispose (for inspection). Default false.</summary>
    public bool KeepFiles { get; init; }

    /// <summary>Adaptive agent count: when set, a controller moves the number of active agents in [MinLimit, min(MaxLimit, AgentCount)]; agents above the limit start parked.</summary>
    public AdaptiveConcurrencyOptions? Adaptive { get; init; }

    /// <summary>Adaptive: period of the measured samples fed to the controller during a job (0 = only <see cref="JobCoordinator.RecordSample"/>). Default 1 s.</summary>
    public TimeSpan AdaptiveInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Adaptive: memory pressure in [0, 1] for the measured samples (for example from <see cref="MemoryBudget"/>); default 0.</summary>
    public Func<double>? MemoryPressure { get; init; }

    /// <summary>
    /// Coordinated GC: the agents' combined managed heap budget in bytes (null = no automatic rounds). During a job the
    /// coordinator reads each agent's heap size (published with its heartbeat) every <see cref="GcCheckInterval"/> and runs
    /// a round (<see cref="JobCoordinator.RunGcRoundAsync"/>) when their sum is above <see cref="GcPressureThreshold"/> of
    /// the budget and the last round is at least <see cref="GcCooldown"/> ago. Default null.
    /// </summary>
    public long? GcBudgetBytes { get; init; }

    /// <summary>Coordinated GC: the fraction of <see cref="GcBudgetBytes"/> above which a round runs, in (0, 1]. Default 0.8 (<see cref="Gc.GcPressureMonitor.DefaultThreshold"/>).</summary>
    public double GcPressureThreshold { get; init; } = Gc.GcPressureMonitor.DefaultThreshold;

    /// <summary>Coordinated GC: how often the agents' heap sizes are checked during a job. Default 2 s.</summary>
    public TimeSpan GcCheckInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Coordinated GC: the least time between two automatic rounds. Default 10 s (<see cref="Gc.GcPressureMonitor.DefaultCooldown"/>).</summary>
    public TimeSpan GcCooldown { get; init; } = Gc.GcPressureMonitor.DefaultCooldown;

    /// <summary>Coordinated GC: how long an automatic round waits for the agents to pause at a safe point. Default 5 s.</summary>
    public TimeSpan GcAckTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        if (GcBudgetBytes is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(GcBudgetBytes), GcBudgetBytes, "GcBudgetBytes must be null (no automatic GC rounds) or a positive number of bytes.");
        }

        if (!(GcPressureThreshold > 0 && GcPressureThreshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(GcPressureThreshold), GcPressureThreshold, "GcPressureThreshold is a fraction of GcBudgetBytes in (0, 1]; the seed uses 0.8.");
        }

        if (GcCheckInterval <= TimeSpan.Zero || GcAckTimeout <= TimeSpan.Zero || GcCooldown < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(GcCheckInterval), GcCheckInterval, "GcCheckInterval and GcAckTimeout must be positive, GcCooldown zero or positive.");
        }

        if (AgentCount is < 1 or > Unjucks.SharedMemory.Jobs.JobSegmentLayout.MaxAgents)
        {
            throw new ArgumentOutOfRangeException(nameof(AgentCount), AgentCount, $"AgentCount must be 1 to {Unjucks.SharedMemory.Jobs.JobSegmentLayout.MaxAgents}.");
        }

        if (DequeCapacity < 64 || (DequeCapacity & (DequeCapacity - 1)) != 0 || (InboxCapacity != 0 && (InboxCapacity < 2 || (InboxCapacity & (InboxCapacity - 1)) != 0)))
        {
            throw new ArgumentOutOfRangeException(nameof(DequeCapacity), DequeCapacity, "DequeCapacity must be a power of two >= 64, InboxCapacity 0 or a power of two.");
        }

        if (MaxQueuedPerAgent < 0 || MaxQueuedPerAgent > DequeCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedPerAgent), MaxQueuedPerAgent, $"MaxQueuedPerAgent must be 0 (the deque capacity) to DequeCapacity ({DequeCapacity}).");
        }

        if (StateSlots < 16 || MaxPayloadBytes < 16)
        {
            throw new ArgumentOutOfRangeException(nameof(StateSlots), StateSlots, "StateSlots must be at least 16 and MaxPayloadBytes at least 16.");
        }

        if (SessionName is not null)
        {
            SessionNames.Validate(SessionName);
        }

        if (LeaseTimeout is { } lease && lease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseTimeout), lease, "LeaseTimeout must be positive, or null for no time-out.");
        }

        foreach (var (name, value) in new[] { (nameof(StartupTimeout), StartupTimeout), (nameof(StopTimeout), StopTimeout), (nameof(ProgressInterval), ProgressInterval), (nameof(LivenessInterval), LivenessInterval), (nameof(StallSweepInterval), StallSweepInterval) })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
            }
        }

        if (AdaptiveInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(AdaptiveInterval), AdaptiveInterval, "AdaptiveInterval must be zero (off) or positive.");
        }
    }
}
