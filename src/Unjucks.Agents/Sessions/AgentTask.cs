namespace Unjucks.Agents;

/// <summary>What an agent's <see cref="AgentTaskHandler"/> receives: one task of an <see cref="AgentSession"/>.</summary>
/// <remarks>The memory stays valid after the handler returns (each task's input is its own copy).</remarks>
public sealed class AgentTask
{
    internal AgentTask(long id, ReadOnlyMemory<byte> payload, IReadOnlyList<ReadOnlyMemory<byte>> dependencyResults, int attempt, int agentIndex, ReadOnlyMemory<byte> sessionData)
    {
        Id = id;
        Payload = payload;
        DependencyResults = dependencyResults;
        Attempt = attempt;
        AgentIndex = agentIndex;
        SessionData = sessionData;
    }

    /// <summary>The task's id, as in <see cref="AgentTaskHandle.Id"/> (0, 1, 2... in submission order).</summary>
    public long Id { get; }

    /// <summary>The bytes given to <see cref="AgentSession.SubmitAsync(ReadOnlyMemory{byte}, IReadOnlyList{AgentTaskHandle}?, CancellationToken)"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The results of the task's dependencies, in the order they were given to SubmitAsync.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> DependencyResults { get; }

    /// <summary>1 on the first run; more when an earlier run's agent died or timed out.</summary>
    public int Attempt { get; }

    /// <summary>The agent slot running the task (0 to <see cref="AgentSessionOptions.Agents"/> - 1).</summary>
    public int AgentIndex { get; }

    /// <summary>The session's <see cref="AgentSessionOptions.SessionData"/>, the same for every task.</summary>
    public ReadOnlyMemory<byte> SessionData { get; }
}

/// <summary>Runs one task in an agent process and returns its result (any length, empty included).</summary>
/// <param name="task">The task.</param>
/// <param name="cancellationToken">Cancelled when the session stops.</param>
/// <returns>The result bytes; an exception fails the task with <see cref="AgentTaskFailedException"/> at the submitter.</returns>
public delegate ValueTask<ReadOnlyMemory<byte>> AgentTaskHandler(AgentTask task, CancellationToken cancellationToken);
