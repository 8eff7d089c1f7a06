using System.Diagnostics;

namespace Unjucks.Agents;

/// <summary>A submitted task: its id, and its result once it ends.</summary>
/// <remarks>
/// The <see cref="Result"/> task is made only when someone asks for it: a handle kept for a long time (a caller
/// that holds thousands, or one read only through its dependents) then costs the handle and the result bytes, not a
/// completion source and a task besides. <c>_result</c> goes null -> (a <see cref="TaskCompletionSource{TResult}"/>
/// when <see cref="Result"/> is read first) -> the final task, or null -> <see cref="Ending"/> -> the final task made
/// on first read. Every change is one atomic exchange, so the reader and the coordinator agree on one task.
/// </remarks>
public sealed class AgentTaskHandle
{
    /// <summary>Marks a handle that ended before anyone read <see cref="Result"/> (ResultBytes/Failure hold the outcome).</summary>
    private static readonly object Ending = new();
    private object? _result;

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
    public Task<ReadOnlyMemory<byte>> Result
    {
        get
        {
            object? state = Volatile.Read(ref _result); // acquire: pairs with the exchanges in End.
            if (state is Task<ReadOnlyMemory<byte>> done)
            {
                return done;
            }

            if (state is TaskCompletionSource<ReadOnlyMemory<byte>> pending)
            {
                return pending.Task;
            }

            if (state is null)
            {
                var source = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
                // Full fence: either the coordinator's End sees this source and completes it, or we see its Ending.
                state = Interlocked.CompareExchange(ref _result, source, null);
                if (state is null)
                {
                    return source.Task;
                }

                if (!ReferenceEquals(state, Ending))
                {
                    return state is Task<ReadOnlyMemory<byte>> raced ? raced : ((TaskCompletionSource<ReadOnlyMemory<byte>>)state).Task;
                }
            }

            // Ended before the first read: make the final task once (ResultBytes and Failure were written before
            // Ending was published, and the acquire above ordered those reads after it).
            Task<ReadOnlyMemory<byte>> made = Failure is { } failure
                ? Task.FromException<ReadOnlyMemory<byte>>(failure)
                : Task.FromResult(ResultBytes);
            if (made.IsFaulted)
            {
                _ = made.Exception; // observed: failures are counted in the summary, not raised as unobserved.
            }

            object? winner = Interlocked.CompareExchange(ref _result, made, Ending); // full fence; one task for every reader.
            return ReferenceEquals(winner, Ending) ? made : (Task<ReadOnlyMemory<byte>>)winner!;
        }
    }

    internal AgentSession Session { get; }

    /// <summary>The input, until it is written into the task's slot (then the slot holds it for every retry, and the
    /// handle, which the caller may keep, no longer keeps the bytes or its dependencies alive).</summary>
    internal ReadOnlyMemory<byte> Payload { get; private set; }

    internal AgentTaskHandle[] DependsOn { get; private set; }

    /// <summary>Coordinator thread, after the input went into the slot.</summary>
    internal void ReleaseInput()
    {
        Payload = default;
        DependsOn = [];
    }

    internal long SubmittedTicks { get; }

    /// <summary>When the task became ready (submitted and every dependency ended), in Stopwatch ticks; set at placement.</summary>
    internal long ReadyTicks { get; set; }

    /// <summary>When the task ended, in Stopwatch ticks (its dependents' ready time); coordinator thread.</summary>
    internal long EndedTicks { get; set; }

    internal Activity? Activity { get; set; }

    internal string? TraceParent { get; set; }

    /// <summary>Bytes reserved against the session's memory budget while the task runs (0: none).</summary>
    internal long EstimatedMemoryBytes { get; init; }

    /// <summary>Set on the coordinator thread when the task ended; read there only.</summary>
    internal bool Ended { get; private set; }

    internal bool Failed { get; private set; }

    internal ReadOnlyMemory<byte> ResultBytes { get; private set; }

    internal AgentTaskFailedException? Failure { get; private set; }

    internal void Complete(ReadOnlyMemory<byte> result)
    {
        Ended = true;
        ResultBytes = result;
        if (End() is { } source)
        {
            source.TrySetResult(result);
        }
    }

    internal void Fail(AgentTaskFailedException failure)
    {
        Ended = true;
        Failed = true;
        Failure = failure;
        if (End() is { } source)
        {
            source.TrySetException(failure);
            // Observed here so an unobserved failure never reaches TaskScheduler.UnobservedTaskException: failures
            // are counted in the summary, and the caller may never look at this handle.
            _ = source.Task.Exception;
        }
    }

    /// <summary>Coordinator thread, once, after the outcome fields are written: publishes the end. Returns the
    /// completion source a reader created meanwhile (the caller completes it), or null.</summary>
    private TaskCompletionSource<ReadOnlyMemory<byte>>? End()
    {
        // Full fence: the outcome fields before Ending (a reader's acquire of Ending then sees them).
        object? state = Interlocked.CompareExchange(ref _result, Ending, null);
        if (state is TaskCompletionSource<ReadOnlyMemory<byte>> source)
        {
            Volatile.Write(ref _result, source.Task); // release; later readers take the task straight away.
            return source;
        }

        return null;
    }
}
