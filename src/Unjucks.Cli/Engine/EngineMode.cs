namespace Unjucks.Cli.Engine;

/// <summary>How a job's agents run.</summary>
public enum EngineMode
{
    /// <summary>Each agent is a separate process attached to the job's shared region (the default).</summary>
    Processes,

    /// <summary>Each agent is a thread in the tool's own process, over the same kind of region.</summary>
    Threads,
}
