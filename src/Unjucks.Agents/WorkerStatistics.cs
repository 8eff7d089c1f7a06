namespace Unjucks.Agents;

/// <summary>A snapshot of one worker's counters.</summary>
/// <param name="WorkerIndex">Worker index, 0-based.</param>
/// <param name="Executed">Items (actions and tasks) the worker ran.</param>
/// <param name="Stolen">Items the worker moved from other workers' deques into its own.</param>
/// <param name="StealAttempts">Batch-steal calls the worker made (successful or not).</param>
/// <param name="ParkedTime">Total time the worker spent parked (blocked waiting for work).</param>
/// <param name="Parks">Number of times the worker parked.</param>
/// <param name="Exceptions">Exceptions thrown by <see cref="WorkStealingScheduler.Schedule(Action)"/> items run by this worker.</param>
public readonly record struct WorkerStatistics(
    int WorkerIndex, long Executed, long Stolen, long StealAttempts, TimeSpan ParkedTime, long Parks, long Exceptions);

/// <summary>Carries an exception thrown by an item passed to <see cref="WorkStealingScheduler.Schedule(Action)"/>.</summary>
public sealed class WorkItemFailedEventArgs : EventArgs
{
    internal WorkItemFailedEventArgs(int workerIndex, Exception exception)
    {
        WorkerIndex = workerIndex;
        Exception = exception;
    }

    /// <summary>The worker that ran the item.</summary>
    public int WorkerIndex { get; }

    /// <summary>The exception the item threw.</summary>
    public Exception Exception { get; }
}
