// The region's side of async waits: the lazily started waiter thread (FutexWaiterThread), the blocking guard
// that callers and cancellation callbacks hold while they touch the mapping, and WaitForChangeAsync.
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

public sealed partial class SharedRegion
{
    private FutexWaiterThread? _waiter;

    /// <summary>Test hook: false makes new regions' waiter threads use the bounded 1 ms poll that stands in for
    /// futex_waitv on kernels without it.</summary>
    internal static bool UseFutexWaitv { get; set; } = FutexWaitv.IsSupported;

    /// <summary>Test hook: whether this region's waiter thread was started.</summary>
    internal bool HasWaiterThread => Volatile.Read(ref _waiter) is not null; // acquire; pairs with the CAS in Waiter

    /// <summary>The waiter thread, started on the first async wait that parks.</summary>
    internal FutexWaiterThread Waiter
    {
        get
        {
            FutexWaiterThread? waiter = Volatile.Read(ref _waiter); // acquire; pairs with the CAS below
            if (waiter is not null)
            {
                return waiter;
            }

            var created = new FutexWaiterThread(this, UseFutexWaitv);
            // Full fence CAS: one thread per region; the loser's thread object was never started.
            waiter = Interlocked.CompareExchange(ref _waiter, created, null);
            if (waiter is not null)
            {
                return waiter;
            }

            created.Start();
            return created;
        }
    }

    /// <summary>
    /// Waits until <see cref="ChangeSequence"/> differs from <paramref name="lastSeen"/> without holding a thread:
    /// true if it changed, false after <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for
    /// none). Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is
    /// cancelled and <see cref="ObjectDisposedException"/> when the region is disposed meanwhile.
    /// </summary>
    public ValueTask<bool> WaitForChangeAsync(long lastSeen, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            CheckTimeout(timeout);
            ThrowIfDisposed();
            return _changes.WaitAsync(lastSeen, timeout, cancellationToken);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<bool>(e);
        }
    }

    /// <summary>Like <see cref="EnterBlocking"/>, but false instead of ObjectDisposedException.</summary>
    internal bool TryEnterBlocking(out BlockingGuard guard)
    {
        Interlocked.Increment(ref _blocking); // full fence: Dispose either sees us or we see its flag below
        if (Volatile.Read(ref _disposed) != 0) // after our full-fence increment: pairs with Dispose's Exchange
        {
            Interlocked.Decrement(ref _blocking); // full fence; Dispose's poll sees it
            guard = default;
            return false;
        }

        guard = new BlockingGuard(this);
        return true;
    }

    internal static ObjectDisposedException DisposedError() =>
        new(nameof(SharedRegion), "The region was disposed while this call waited; open it again to go on.");

    /// <summary>Stops the waiter thread (pending async waits end with ObjectDisposedException). False if it
    /// did not stop in time: the caller must not unmap then.</summary>
    private bool StopWaiter()
    {
        FutexWaiterThread? waiter = Interlocked.Exchange(ref _waiter, null); // full fence; no later wait starts one (they see _disposed)
        return waiter is null || waiter.Stop(TimeSpan.FromSeconds(2));
    }
}
