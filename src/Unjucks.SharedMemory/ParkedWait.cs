// One parked async wait: the futex word it waits on, the value it read there before its last retry, and the
// ValueTask that its caller awaits. Exactly one of three parties completes it, decided by one CAS on _state:
// the region's waiter thread (the word changed, a poll slice passed, or the region is being disposed) or the
// caller's cancellation callback. Whoever wins also gives back the waiter count the caller took in the mapping
// (see FutexWaiterThread's header for why the count is per park and who may touch the mapping when).
using System.Threading.Tasks.Sources;

namespace Unjucks.SharedMemory;

/// <summary>A futex word in the mapping that async waiters park on, and the waiter count that its wakers read.</summary>
internal sealed unsafe class WaitWord
{
    private readonly SharedMessageQueue? _queue;

    /// <param name="address">The futex word (inside the live mapping; the region outlives this object's use).</param>
    /// <param name="waiters">The count that the other side reads to decide whether to bump and wake.</param>
    /// <param name="queue">For a queue's word: the queue, whose completion makes every change wake every waiter.</param>
    internal WaitWord(int* address, int* waiters, SharedMessageQueue? queue)
    {
        Address = address;
        Waiters = waiters;
        _queue = queue;
    }

    internal int* Address { get; }

    internal int* Waiters { get; }

    /// <summary>True when every waiter must retry on any change: the change sequence (each waiter watches for any
    /// change) or a completed queue. False for a live queue's word, where each bump admits one waiter (it stands
    /// for one published message or one freed slot), as futex_wake(1) does for the blocking calls.</summary>
    internal bool WakesAll => _queue is null || _queue.IsCompleted;
}

/// <summary>A parked async wait; awaited once as a <see cref="ValueTask"/>.</summary>
internal sealed unsafe class ParkedWait : IValueTaskSource
{
    private const int Pending = 0;
    private const int Woken = 1;
    private const int Done = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;

    internal ParkedWait(WaitWord word, int observed)
    {
        Word = word;
        Observed = (uint)observed;
    }

    internal WaitWord Word { get; }

    /// <summary>The word's value when the caller last looked; only the waiter thread moves it (to a value it has
    /// accounted for, see FutexWaiterThread.Scan).</summary>
    internal uint Observed { get; set; }

    /// <summary>The caller's cancellation registration; disposed by the caller after the await.</summary>
    internal CancellationTokenRegistration Registration { get; set; }

    // Acquire: pairs with the CAS in Finish; a stale "pending" only delays dropping the entry to the next scan.
    internal bool IsPending => Volatile.Read(ref _state) == Pending;

    /// <summary>The caller awaits this once: completes when woken (the caller retries), throws
    /// <see cref="OperationCanceledException"/> or <see cref="ObjectDisposedException"/>.</summary>
    internal ValueTask AsValueTask() => new(this, _core.Version);

    /// <summary>Woken: the caller retries. False if another party completed the wait first.</summary>
    internal bool TryWake() => Finish(Woken, null);

    /// <summary>Ends the wait with <paramref name="error"/>. False if another party completed it first.</summary>
    internal bool TryFail(Exception error) => Finish(Done, error);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private bool Finish(int outcome, Exception? error)
    {
        // Full fence CAS: exactly one of the waiter thread, the cancellation callback and the disposing thread wins.
        if (Interlocked.CompareExchange(ref _state, outcome, Pending) != Pending)
        {
            return false;
        }

        // Full fence; gives back the count the caller took before its last retry. No partner: a late decrement
        // only costs the other side a wake syscall, and the caller takes the count again before it retries.
        // SAFETY: the winner runs on the waiter thread (which Dispose joins before unmapping) or holds the
        // region's blocking guard (which Dispose waits for), so the mapping is alive (FutexWaiterThread's header).
        Interlocked.Decrement(ref *Word.Waiters);
        if (error is null)
        {
            _core.SetResult(true); // continuations run on the thread pool (RunContinuationsAsynchronously)
        }
        else
        {
            _core.SetException(error);
        }

        return true;
    }
}
