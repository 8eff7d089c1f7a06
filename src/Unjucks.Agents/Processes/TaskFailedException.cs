namespace Unjucks.Agents.Processes;

/// <summary>The handler of a streaming job's task threw (or returned the reserved <see cref="JobResult.FailedResult"/>); see <see cref="StreamingJob.Completion"/>.</summary>
internal sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskFailedException()
        : this("A task failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public TaskFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public TaskFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one task.</summary>
    /// <param name="taskId">The failed task.</param>
    /// <param name="message">The handler's message ("ExceptionType: message", as in <see cref="JobResult.Failures"/>).</param>
    public TaskFailedException(long taskId, string message)
        : base(message)
    {
        TaskId = taskId;
    }

    /// <summary>The failed task's id (-1 when unknown).</summary>
    public long TaskId { get; } = -1;
}
