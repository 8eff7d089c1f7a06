namespace Unjucks.Agents.Processes;

/// <summary>What an agent process is doing, as it publishes it in the session control file.</summary>
internal enum AgentRunState
{
    /// <summary>Started, not yet registered.</summary>
    Starting = 0,

    /// <summary>Registered, waiting for a job.</summary>
    WaitingForJob = 1,

    /// <summary>Attached to a job and taking work.</summary>
    Running = 2,

    /// <summary>Attached to a job, found no work anywhere, parked on the region's change sequence.</summary>
    Idle = 3,

    /// <summary>Marked inactive by the coordinator (adaptive agent count): takes no new work.</summary>
    Parked = 4,

    /// <summary>Left its loop (session stopped).</summary>
    Exited = 5,
}
