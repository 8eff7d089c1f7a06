namespace Unjucks.Agents;

/// <summary>How one task of an <see cref="AgentSession"/> runs: what it waits for, and how much memory it needs.</summary>
public sealed class AgentTaskOptions
{
    /// <summary>Tasks of this session that must commit first; their results reach the handler in this order. If one
    /// fails, this task fails with <see cref="AgentTaskFailedException.DependencyFailed"/>. Default: none.</summary>
    public IReadOnlyList<AgentTaskHandle>? DependsOn { get; set; }

    /// <summary>Bytes the task is expected to need while it runs (0, the default: none). With
    /// <see cref="AgentSessionOptions.MemoryBudgetBytes"/> set, the session starts the task only once this fits in
    /// the budget beside the reservations of the tasks already placed, first in first out, and releases it when the
    /// task commits or fails; a task larger than the whole budget is refused at once. Without a budget it is ignored.</summary>
    public long EstimatedMemoryBytes { get; set; }
}
