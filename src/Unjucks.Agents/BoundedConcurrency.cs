// Bounded concurrency: the seed's "semaphore with a release function" for fan-out work such as scanning
// many directories with at most K in flight. Built on Parallel.ForEachAsync (partitioning, cancellation,
// degree of parallelism) and SemaphoreSlim (the gate); nothing here re-implements either.
using System.Diagnostics;

namespace Unjucks.Agents;

/// <summary>Runs an asynchronous body over many items with at most K bodies in flight.</summary>
public static class BoundedConcurrency
{
    /// <summary>
    /// Runs <paramref name="body"/> for every item with at most <paramref name="maxInFlight"/> bodies in flight
    /// (built on <see cref="Parallel.ForEachAsync{TSource}(IEnumerable{TSource}, ParallelOptions, Func{TSource, CancellationToken, ValueTask})"/>).
    /// A body that throws does not stop the others: its exception is returned in its result.
    /// </summary>
    /// <typeparam name="TItem">Item type.</typeparam>
    /// <typeparam name="TResult">Body result type.</typeparam>
    /// <param name="items">The items; enumerated once, up front.</param>
    /// <param name="maxInFlight">Maximum number of bodies running at once (at least 1).</param>
    /// <param name="body">The work for one item.</param>
    /// <param name="cancellationToken">Stops starting new items; the call then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>One result per item, in the order of <paramref name="items"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxInFlight"/> is less than 1.</exception>
    /// <exception cref="OperationCanceledException">The token was canceled.</exception>
    public static async Task<IReadOnlyList<BoundedResult<TItem, TResult>>> ForEachAsync<TItem, TResult>(
        IEnumerable<TItem> items, int maxInFlight, Func<TItem, CancellationToken, ValueTask<TResult>> body,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(body);
        if (maxInFlight < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInFlight), maxInFlight, "maxInFlight must be at least 1 (the number of bodies allowed to run at once).");
        }

        var list = items as IReadOnlyList<TItem> ?? items.ToList();
        var results = new BoundedResult<TItem, TResult>[list.Count];
        long began = Stopwatch.GetTimestamp();
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxInFlight, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, list.Count), options, async (i, ct) =>
        {
            long started = Stopwatch.GetTimestamp();
            TResult? result = default;
            Exception? error = null;
            try
            {
                result = await body(list[i], ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                error = ex;
            }

            // Each index is written by exactly one body; Parallel.ForEachAsync's completion orders these
            // writes before the await below returns.
            results[i] = new BoundedResult<TItem, TResult>(i, list[i], result, error,
                Stopwatch.GetElapsedTime(began, started), Stopwatch.GetElapsedTime(started));
        }).ConfigureAwait(false);
        return results;
    }
}

/// <summary>The outcome of one item of <see cref="BoundedConcurrency.ForEachAsync{TItem, TResult}"/>.</summary>
/// <typeparam name="TItem">Item type.</typeparam>
/// <typeparam name="TResult">Body result type.</typeparam>
public sealed class BoundedResult<TItem, TResult>
{
    internal BoundedResult(int index, TItem item, TResult? result, Exception? error, TimeSpan queueTime, TimeSpan duration)
    {
        Index = index;
        Item = item;
        Result = result;
        Error = error;
        QueueTime = queueTime;
        Duration = duration;
    }

    /// <summary>Position of the item in the input.</summary>
    public int Index { get; }

    /// <summary>The item.</summary>
    public TItem Item { get; }

    /// <summary>The body's result when it succeeded.</summary>
    public TResult? Result { get; }

    /// <summary>The body's exception when it failed.</summary>
    public Exception? Error { get; }

    /// <summary>True when the body returned normally.</summary>
    public bool Succeeded => Error is null;

    /// <summary>Time from the call to the start of this item's body (waiting for a free slot).</summary>
    public TimeSpan QueueTime { get; }

    /// <summary>Time the body took.</summary>
    public TimeSpan Duration { get; }
}

/// <summary>
/// A counting gate (a <see cref="SemaphoreSlim"/>) whose acquisition returns a lease that releases the slot
/// when disposed, exactly once: the seed's <c>const release = await semaphore.acquire()</c> idiom.
/// </summary>
public sealed class ConcurrencyGate : IDisposable
{
    private readonly SemaphoreSlim _semaphore;

    /// <summary>Creates a gate with <paramref name="maxInFlight"/> slots.</summary>
    /// <param name="maxInFlight">Number of holders allowed at once (at least 1).</param>
    public ConcurrencyGate(int maxInFlight)
    {
        if (maxInFlight < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxInFlight), maxInFlight, "maxInFlight must be at least 1.");
        }

        MaxInFlight = maxInFlight;
        _semaphore = new SemaphoreSlim(maxInFlight, maxInFlight);
    }

    /// <summary>Number of slots.</summary>
    public int MaxInFlight { get; }

    /// <summary>Slots free now (a snapshot).</summary>
    public int Available => _semaphore.CurrentCount;

    /// <summary>Waits for a slot.</summary>
    /// <param name="cancellationToken">Cancels the wait; no slot is taken then.</param>
    /// <returns>A lease; dispose it to free the slot (further disposals do nothing).</returns>
    public async ValueTask<IDisposable> AcquireAsync(CancellationToken cancellationToken = default)
    {
        await _semaphore.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Lease(_semaphore);
    }

    /// <summary>Disposes the underlying semaphore.</summary>
    public void Dispose() => _semaphore.Dispose();

    private sealed class Lease : IDisposable
    {
        private SemaphoreSlim? _semaphore;

        public Lease(SemaphoreSlim semaphore) => _semaphore = semaphore;

        public void Dispose()
        {
            // Exchange makes release happen once even when two threads dispose the same lease.
            Interlocked.Exchange(ref _semaphore, null)?.Release();
        }
    }
}
