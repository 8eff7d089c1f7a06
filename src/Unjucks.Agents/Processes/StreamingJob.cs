// A job whose tasks are submitted while it runs (dependency-driven placement without batch barriers): the caller
// submits a task as soon as its inputs are ready and awaits that task's own completion. The engine side is
// JobRun.Streaming.cs; the job's monitor thread is started by JobCoordinator.StartStreamingJobAsync.
namespace Unjucks.Agents.Processes;

/// <summary>
/// A running job of a <see cref="JobCoordinator"/> whose tasks are submitted while it runs
/// (<see cref="JobCoordinator.StartStreamingJobAsync"/>). Same placement, stealing, leases, exactly-once commits and
/// recovery as <see cref="JobCoordinator.RunAsync(int, IProgress{JobProgress}?, CancellationToken)"/>.
/// </summary>
internal sealed class StreamingJob : IAsyncDisposable
{
    private readonly JobRun _run;
    private readonly Task<JobResult> _result;
    private readonly CancellationTokenSource _cancel;
    private int _completeCalled;
    private int _disposed;

    internal StreamingJob(JobRun run, long jobSequence, Task<JobResult> result, CancellationTokenSource cancel)
    {
        _run = run;
        JobSequence = jobSequence;
        _result = result;
        _cancel = cancel;
    }

    /// <summary>The session's job number.</summary>
    public long JobSequence { get; }

    /// <summary>The most tasks this job takes (the task table's capacity, fixed at the start).</summary>
    public int MaxTasks => _run.Capacity;

    /// <summary>Tasks submitted so far (the next id).</summary>
    public long SubmittedCount => _run.Submitted;

    /// <summary>
    /// Places one task now (same placement rules as RunAsync). Thread-safe: several callers may submit at once.
    /// </summary>
    /// <param name="payload">Up to <see cref="JobCoordinatorOptions.MaxPayloadBytes"/> bytes (may be empty); larger inputs go in a file the payload names.</param>
    /// <returns>The task's id: 0, 1, 2, ... in submission order.</returns>
    /// <exception cref="ArgumentException">The payload is larger than MaxPayloadBytes.</exception>
    /// <exception cref="InvalidOperationException">After <see cref="CompleteAsync"/> (or after the job was cancelled or failed), when maxTasks ids were used, or when the region's state table is full.</exception>
    public long Submit(ReadOnlyMemory<byte> payload) => _run.Submit(payload);

    /// <summary>
    /// The task's completion: its committed 64-bit result once its Done record exists (exactly once, after recovery if its
    /// agent died); faulted with <see cref="TaskFailedException"/> if the handler threw; canceled if the job is cancelled;
    /// faulted with the job's error if the job failed (for example every agent died). Continuations run asynchronously,
    /// never inline on the coordinator's monitor thread.
    /// </summary>
    /// <param name="taskId">An id returned by <see cref="Submit"/>.</param>
    /// <returns>The task's result.</returns>
    /// <exception cref="ArgumentOutOfRangeException">No task with this id was submitted.</exception>
    public Task<long> Completion(long taskId) => _run.CompletionOf(taskId);

    /// <summary>
    /// No more submissions; waits for every submitted task and returns the job's result (results by id, failures,
    /// summary, exactly as RunAsync computes them). Idempotent: every call returns the same task.
    /// </summary>
    /// <returns>The job's result; canceled if the job was cancelled, faulted if it failed.</returns>
    public Task<JobResult> CompleteAsync()
    {
        Volatile.Write(ref _completeCalled, 1); // release; pairs with the acquire in DisposeAsync.
        _run.Close();
        return _result;
    }

    /// <summary>Cancels the outstanding tasks if <see cref="CompleteAsync"/> was not called; always waits until the job is released.</summary>
    /// <returns>A task that completes when the coordinator can run its next job.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) // full fence; one disposal.
        {
            return;
        }

        if (Volatile.Read(ref _completeCalled) == 0) // acquire; pairs with CompleteAsync.
        {
            await _cancel.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await ((Task)_result).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            _cancel.Dispose();
        }
    }
}
