namespace Unjucks.Agents.Processes;

/// <summary>Options of <see cref="JobAgentHost.RunAsync"/>.</summary>
internal sealed record AgentHostOptions
{
    /// <summary>Creates options from a launch (the usual way: <c>new AgentHostOptions(AgentLaunch.Parse(args, out _))</c>).</summary>
    /// <param name="launch">What the coordinator passed.</param>
    public AgentHostOptions(AgentLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        Launch = launch;
    }

    /// <summary>Region, directory, session and agent index.</summary>
    public AgentLaunch Launch { get; init; }

    /// <summary>Period of the registry heartbeat (a timer; liveness itself comes from the flock). Default 100 ms.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest park on the region's change sequence when no work is anywhere (a wake ends it early). Default 50 ms.</summary>
    public TimeSpan IdleParkTimeout { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long to wait for the session control file and job segments to become ready. Default 10 s.</summary>
    public TimeSpan AttachTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the agent checks that its coordinator is alive (it exits when not). Default 500 ms.</summary>
    public TimeSpan CoordinatorCheckInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    internal void Validate()
    {
        if (Launch.AgentIndex < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Launch), Launch.AgentIndex, "The agent index must be non-negative.");
        }

        foreach (var (name, value) in new[] { (nameof(HeartbeatInterval), HeartbeatInterval), (nameof(IdleParkTimeout), IdleParkTimeout), (nameof(AttachTimeout), AttachTimeout), (nameof(CoordinatorCheckInterval), CoordinatorCheckInterval) })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
            }
        }
    }
}
