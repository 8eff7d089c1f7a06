namespace Unjucks.Agents;

/// <summary>A task of an <see cref="AgentSession"/> failed; <see cref="AgentTaskHandle.Result"/> faults with it.</summary>
public sealed class AgentTaskFailedException : Exception
{
    /// <summary>"AgentDied": the task's agent died <see cref="Attempts"/> times.</summary>
    public const string AgentDied = "AgentDied";

    /// <summary>"LeaseTimeout": the task outlived <see cref="AgentSessionOptions.LeaseTimeout"/> <see cref="Attempts"/> times.</summary>
    public const string LeaseTimeout = "LeaseTimeout";

    /// <summary>"DependencyFailed": a task it depends on failed.</summary>
    public const string DependencyFailed = "DependencyFailed";

    /// <summary>"SessionStopped": the session was disposed before the task ended.</summary>
    public const string SessionStopped = "SessionStopped";

    /// <summary>Creates the exception.</summary>
    /// <param name="taskId">The failed task.</param>
    /// <param name="exceptionType">The handler's exception type name, or one of the constants of this class.</param>
    /// <param name="message">The handler exception's whole message, or what went wrong.</param>
    /// <param name="attempts">Runs the task had.</param>
    /// <param name="agentStackTrace">The handler exception's stack trace in the agent, when there is one.</param>
    public AgentTaskFailedException(long taskId, string exceptionType, string message, int attempts, string? agentStackTrace = null)
        : base($"Task {taskId} failed ({exceptionType}, {attempts} attempt{(attempts == 1 ? "" : "s")}): {message}")
    {
        TaskId = taskId;
        ExceptionType = exceptionType;
        AgentMessage = message;
        Attempts = attempts;
        AgentStackTrace = agentStackTrace;
    }

    /// <summary>The failed task's id.</summary>
    public long TaskId { get; }

    /// <summary>The handler's exception type name (e.g. "System.InvalidOperationException"), or "AgentDied",
    /// "LeaseTimeout", "DependencyFailed", "SessionStopped".</summary>
    public string ExceptionType { get; }

    /// <summary>The handler exception's message as thrown, never truncated (or the runtime's explanation).</summary>
    public string AgentMessage { get; }

    /// <summary>How many times the task ran (0 when it never started).</summary>
    public int Attempts { get; }

    /// <summary>The handler exception's stack trace inside the agent, when the handler threw.</summary>
    public string? AgentStackTrace { get; }
}
