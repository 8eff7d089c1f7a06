namespace Unjucks.Agents.Processes;

/// <summary>Runs one task inside an agent process (<see cref="JobAgentHost"/>).</summary>
internal interface ITaskHandler
{
    /// <summary>
    /// Executes a task and returns its 64-bit result. Throwing marks the task failed (its result becomes
    /// <see cref="JobResult.FailedResult"/> and the message is recorded); the agent keeps running.
    /// Larger results belong in a file the task names (write and flush it BEFORE returning; only the committed
    /// 64-bit value, for example a length or checksum, is authoritative, a losing agent's file is overwritten).
    /// </summary>
    /// <param name="context">The task id, its payload and the executing agent.</param>
    /// <param name="cancellationToken">Cancelled when the agent host is stopped.</param>
    /// <returns>The result; must not be <see cref="JobResult.FailedResult"/> (reserved: reported as a failure).</returns>
    ValueTask<long> ExecuteAsync(TaskContext context, CancellationToken cancellationToken);
}

/// <summary>One task as an agent sees it.</summary>
/// <param name="TaskId">Dense task id, 0 to task count - 1 (the index of the task in the submitted list).</param>
/// <param name="Payload">The task's payload bytes (empty when none was given); an array owned by the handler.</param>
/// <param name="AgentIndex">Index of the executing agent in its session (0 to agent count - 1).</param>
/// <param name="JobSequence">The session's job number (1, 2, ...).</param>
internal sealed record TaskContext(long TaskId, ReadOnlyMemory<byte> Payload, int AgentIndex, long JobSequence);
