namespace Unjucks.Agents.Hosting;

/// <summary>Runs an agent's tasks in a hosted agent process (see
/// <see cref="AgentHostingExtensions.AddAgentHandler{THandler}"/>). The handler is resolved from a new
/// dependency-injection scope for every task, so it may take scoped, transient and singleton services.</summary>
public interface IAgentTaskHandler
{
    /// <summary>Runs one task and returns its result (any length; the bytes are copied before the scope ends).</summary>
    /// <param name="task">The task: its payload, its dependencies' results, the session's data.</param>
    /// <param name="cancellationToken">Cancelled when the agent stops (SIGTERM, the session ending, a lease
    /// time-out): the task is then not committed and runs again on another agent.</param>
    /// <returns>The task's result. An exception fails this task only, and the submitter sees its type and message.</returns>
    ValueTask<ReadOnlyMemory<byte>> HandleAsync(AgentTask task, CancellationToken cancellationToken);
}
