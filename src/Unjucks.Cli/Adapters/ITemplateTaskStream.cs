using Unjucks.Agents.Processes;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// Tasks submitted while a job runs, each awaited on its own (the shape of the engine's streaming job): what
/// <see cref="ProcessesJob"/>'s dependency-graph bodies call.
/// </summary>
internal interface ITemplateTaskStream : IAsyncDisposable
{
    /// <summary>Places one task; returns its id. Thread-safe.</summary>
    long Submit(ReadOnlyMemory<byte> payload);

    /// <summary>The task's committed result; faults with <see cref="AgentTaskFailedException"/> when its handler threw.</summary>
    Task<long> Completion(long taskId);

    /// <summary>No more submissions; waits for every task; the job's metrics.</summary>
    Task<JobSummary> CompleteAsync();
}

/// <summary>A task's handler threw in its agent; <see cref="Exception.Message"/> is the engine's failure record.</summary>
internal sealed class AgentTaskFailedException : Exception
{
    public AgentTaskFailedException()
    {
    }

    public AgentTaskFailedException(string message)
        : base(message)
    {
    }

    public AgentTaskFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
