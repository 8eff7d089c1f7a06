namespace Unjucks.Agents.Sessions.Core;

/// <summary>The decisions' parameters (validated by the facade; the core trusts them).</summary>
internal sealed record SchedulerCoreOptions
{
    /// <summary>Agent slots, 1 or more.</summary>
    public required int Agents { get; init; }

    /// <summary>Slots for placed-but-not-collected tasks (ids 0 .. Slots-1), 1 or more.</summary>
    public required int Slots { get; init; }

    /// <summary>Deaths or lease time-outs a task may cause before it fails (1 or more).</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Replace dead agents (with back-off and <see cref="MaxRestartsPerMinute"/>).</summary>
    public bool RestartDeadAgents { get; init; } = true;

    /// <summary>Restarts allowed per agent slot in any sliding minute.</summary>
    public int MaxRestartsPerMinute { get; init; } = 3;

    /// <summary>Delay before the first restart after a death; doubles per consecutive death up to <see cref="RestartBackoffMax"/>.</summary>
    public TimeSpan RestartBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Largest restart delay.</summary>
    public TimeSpan RestartBackoffMax { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A started task running longer than this gets its agent killed (null: off).</summary>
    public TimeSpan? LeaseTimeout { get; init; }

    /// <summary>An agent with no heartbeat for this long is stalled: its unstarted tasks move elsewhere.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes the tasks placed at one time may reserve together (their <c>memoryBytes</c>); 0: no budget. A
    /// task's reservation is at most this (the facade refuses larger ones).</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>Agents taking work at the start (the lowest indexes); the others stand by until
    /// <see cref="SchedulerCore.SetActiveAgents"/> raises the count. Null: all.</summary>
    public int? ActiveAgents { get; init; }

    /// <summary>An agent that has not registered this long after its start is killed (then restarted).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
