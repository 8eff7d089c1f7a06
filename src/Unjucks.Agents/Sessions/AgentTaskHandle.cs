using System.Diagnostics;

namespace Unjucks.Agents;

/// <summary>A submitted task: its id, and its result once it ends.</summary>
public sealed class AgentTaskHandle
{
    private readonly TaskCompletionSource<ReadOnlyMemory<byte>> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal AgentTaskHandle(AgentSession session, long id, ReadOnlyMemory<byte> payload, AgentTaskHandle[] dependsOn)
    {
        Session = session;
        Id = id;
        Payload = payload;
        DependsOn = dependsOn;
        SubmittedTicks = Stopwatch.GetTimestamp();
    }

    /// <summary>The task's id (0, 1, 2... in submission order within its session).</summary>
    public long Id { get; }

    /// <summary>The result bytes; faults with <see cref="AgentTaskFailedException"/> when the task failed.</summary>
    public Task<ReadOnlyMemory<byte>> Result => _result.Task;

    internal AgentSession Session { get; }

    internal ReadOnlyMemory<byte> Payload { get; }

    internal AgentTaskHandle[] DependsOn { get; }

    internal long SubmittedTicks { get; }

    internal Activity? Activity { get; set; }

    internal string? TraceParent { get; set; }

    /// <summary>Set on the coordinator thread when the task ended; read there only.</summary>
    internal bool Ended { get; private set; }

    internal bool Failed { get; private set; }

    internal ReadOnlyMemory<byte> ResultBytes { get; private set; }

    internal AgentTaskFailedException? Failure { get; private set; }

    internal void Complete(ReadOnlyMemory<byte> result)
    {
        Ended = true;
        ResultBytes = result;
        _result.TrySetResult(result);
    }

    internal void Fail(AgentTaskFailedException failure)
    {
        Ended = true;
        Failed = true;
        Failure = failure;
        _result.TrySetException(failure);
        // Observed here so an unobserved failure never reaches TaskScheduler.UnobservedTaskException: failures
        // are counted in the summary, and the caller may never look at this handle.
        _ = _result.Task.Exception;
    }
}
