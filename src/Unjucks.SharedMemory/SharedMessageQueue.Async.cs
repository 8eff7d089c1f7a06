// SharedMessageQueue's async side, shaped after System.Threading.Channels: DequeueAsync / EnqueueAsync (ReadAsync /
// WriteAsync), ReadAllAsync, Complete (Writer.Complete) and SharedQueueCompletedException (ChannelClosedException).
//
// A call tries and spins like the blocking ones; then, instead of parking its thread on the futex word, it
// registers a ParkedWait with the region's waiter thread (FutexWaiterThread) and returns a pending ValueTask.
// Lost-wake-up argument, per park (the blocking one of this file's header, with the waiter thread's read in the
// middle):  caller: waiters++ (full fence) ; o = read word ; retry ; register(o).  other side: publish or free
// (Interlocked.Exchange of seq: store + full fence) ; read waiters ; if non-zero: word++ ; wake.  Either the
// other side's read sees our count and bumps the word after our failed retry (so the waiter thread finds it
// moved from o, or its futex_waitv compare fails, or the wake reaches it), or our retry sees its progress. The
// count is taken per park and given back by whoever completes the ParkedWait (see ParkedWait.Finish): the
// producers' fast path stays syscall-free whenever nobody is parked.
//
// Timeouts: the overloads with a TimeSpan link a timer to the caller's token (only for a call that parks) and
// turn its firing into TimeoutException, the async form of the blocking calls' false.
// Completion: Complete sets bit 63 of EnqueuePos (this file's header in SharedMessageQueue.cs) and then bumps and
// wakes both futex words unconditionally; the waiter thread wakes every parked wait of a completed queue.
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

// Not an unsafe part: async methods cannot be unsafe contexts; the few pointer uses are in unsafe members.
public sealed partial class SharedMessageQueue
{
    private enum Outcome
    {
        Park,
        Done,
        Ended,
    }

    /// <summary>
    /// Completes the queue for every process: later enqueues throw <see cref="SharedQueueCompletedException"/>
    /// (so do pending ones), and consumers get every message already enqueued, then the end:
    /// <see cref="DequeueAsync(Memory{byte}, CancellationToken)"/> and <see cref="Dequeue"/> throw <see cref="SharedQueueCompletedException"/>,
    /// <see cref="ReadAllAsync"/> ends, <see cref="TryDequeue(Span{byte}, out int)"/> returns false. Cannot be undone.
    /// </summary>
    /// <returns>True if this call completed the queue; false if it was already completed (by any process).</returns>
    public unsafe bool Complete()
    {
        _region.ThrowIfDisposed();
        while (true)
        {
            long word = Volatile.Read(ref EnqueuePos); // acquire: pairs with the producers' CAS
            if (word < 0)
            {
                return false;
            }

            // Full fence CAS: from here no producer's CAS of EnqueuePos (from a plain position) can succeed, so the
            // messages are exactly those below this position; a producer that moved it first is in the count.
            if (Interlocked.CompareExchange(ref EnqueuePos, word | QueueLayout.CompletedBit, word) == word) // pairs with the acquire loads of EnqueuePos
            {
                break;
            }
        }

        // Every parked side must look again, whether or not its count is visible to us yet: a waiter that reads
        // the word after these bumps retries and sees the bit (the CAS above precedes the bumps).
        Interlocked.Increment(ref NotEmpty); // full fence; parked consumers' futex compare fails or they are woken
        Futex.Wake((int*)Unsafe.AsPointer(ref NotEmpty), int.MaxValue); // SAFETY: word inside the live mapping
        Interlocked.Increment(ref NotFull); // full fence; the same for parked producers
        Futex.Wake((int*)Unsafe.AsPointer(ref NotFull), int.MaxValue); // SAFETY: word inside the live mapping
        return true;
    }

    /// <summary>
    /// Takes the oldest message into <paramref name="destination"/> and returns its length, waiting without a
    /// thread while the queue is empty (a parked call costs a registration with the region's one waiter thread).
    /// The end of a completed queue is reported as <see cref="SharedQueueCompletedException"/> once no message is
    /// left (<see cref="ReadAllAsync"/> ends instead). Pass a timeout (the other overload) to bound the wait.
    /// </summary>
    /// <param name="destination">Receives the message; at least as long as the message.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled call takes no message.</param>
    /// <returns>The length of the message written to the start of <paramref name="destination"/>.</returns>
    /// <exception cref="SharedQueueCompletedException">The queue is completed and no message is left.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first; no message was taken.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed while the call waited.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the message (it stays queued).</exception>
    public ValueTask<int> DequeueAsync(Memory<byte> destination, CancellationToken cancellationToken = default) =>
        DequeueAsync(destination, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// <see cref="DequeueAsync(Memory{byte}, CancellationToken)"/> bounded by <paramref name="timeout"/>: the async
    /// counterpart of <see cref="Dequeue"/>, whose <c>false</c> on time-out becomes a <see cref="TimeoutException"/>.
    /// </summary>
    /// <param name="destination">Receives the message; at least as long as the message.</param>
    /// <param name="timeout">How long to wait for a message; <see cref="Timeout.InfiniteTimeSpan"/> for no bound.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled call takes no message.</param>
    /// <returns>The length of the message written to the start of <paramref name="destination"/>.</returns>
    /// <exception cref="TimeoutException">No message came within <paramref name="timeout"/>; none was taken.</exception>
    /// <exception cref="SharedQueueCompletedException">The queue is completed and no message is left.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first; no message was taken.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed while the call waited.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is smaller than the message (it stays queued).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public ValueTask<int> DequeueAsync(Memory<byte> destination, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ValueTask<int> taking = TakeAsync(destination, timeout, cancellationToken);
        if (taking.IsCompletedSuccessfully)
        {
            int length = taking.Result;
            return length >= 0 ? new ValueTask<int>(length) : ValueTask.FromException<int>(CompletedError());
        }

        return AwaitTakeAsync(taking);
    }

    /// <summary>
    /// Adds a message, waiting without a thread while the queue is full. Pass a timeout (the other overload) to
    /// bound the wait.
    /// </summary>
    /// <param name="message">The message, at most <see cref="MaxMessageBytes"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled call adds nothing.</param>
    /// <exception cref="SharedQueueCompletedException">The queue is completed (also when that happens while the call waits).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first; nothing was added.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed while the call waited.</exception>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageBytes"/>.</exception>
    public ValueTask EnqueueAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        EnqueueAsync(message, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// <see cref="EnqueueAsync(ReadOnlyMemory{byte}, CancellationToken)"/> bounded by <paramref name="timeout"/>:
    /// the async counterpart of <see cref="Enqueue"/>, whose <c>false</c> on time-out becomes a
    /// <see cref="TimeoutException"/>.
    /// </summary>
    /// <param name="message">The message, at most <see cref="MaxMessageBytes"/> bytes.</param>
    /// <param name="timeout">How long to wait for room; <see cref="Timeout.InfiniteTimeSpan"/> for no bound.</param>
    /// <param name="cancellationToken">Cancels the wait; a cancelled call adds nothing.</param>
    /// <exception cref="TimeoutException">No room came within <paramref name="timeout"/>; nothing was added.</exception>
    /// <exception cref="SharedQueueCompletedException">The queue is completed (also when that happens while the call waits).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first; nothing was added.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed while the call waited.</exception>
    /// <exception cref="ArgumentException">The message is longer than <see cref="MaxMessageBytes"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public ValueTask EnqueueAsync(ReadOnlyMemory<byte> message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        try
        {
            SharedRegion.CheckTimeout(timeout);
            var attempt = new EnqueueAttempt(message.Span);
            if (Spin(ref attempt) == Outcome.Done)
            {
                return ValueTask.CompletedTask;
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }

        return EnqueueSlowAsync(message, timeout, cancellationToken);
    }

    /// <summary>
    /// Every message until the queue is completed and drained, each in a fresh array of its own length: the
    /// caller may keep an item after the next MoveNextAsync (the bytes are copied out of the shared mapping in
    /// any case, and a pooled buffer would be overwritten by the next item). Ends after <see cref="Complete"/>;
    /// throws <see cref="OperationCanceledException"/> on cancellation.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[] buffer = new byte[MaxMessageBytes];
        while (true)
        {
            int length = await TakeAsync(buffer, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            if (length < 0)
            {
                yield break;
            }

            yield return buffer.AsSpan(0, length).ToArray();
        }
    }

    /// <summary>Test hook: parked consumers (blocking and async) counted in the mapping.</summary>
    internal int NotEmptyWaitersForTests => Volatile.Read(ref NotEmptyWaiters); // acquire; a snapshot

    /// <summary>Test hook: parked producers (blocking and async) counted in the mapping.</summary>
    internal int NotFullWaitersForTests => Volatile.Read(ref NotFullWaiters); // acquire; a snapshot

    private async ValueTask<int> AwaitTakeAsync(ValueTask<int> taking)
    {
        int length = await taking.ConfigureAwait(false);
        return length >= 0 ? length : throw CompletedError();
    }

    /// <summary>The length of the message taken, or -1 once the queue is completed and drained.</summary>
    private ValueTask<int> TakeAsync(Memory<byte> destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        try
        {
            SharedRegion.CheckTimeout(timeout);
            var attempt = new DequeueAttempt(destination.Span);
            Outcome outcome = Spin(ref attempt);
            if (outcome != Outcome.Park)
            {
                return new ValueTask<int>(outcome == Outcome.Done ? attempt.Length : -1);
            }
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }

        return TakeSlowAsync(destination, timeout, cancellationToken);
    }

    private async ValueTask<int> TakeSlowAsync(Memory<byte> destination, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The timer exists only for a call that parks; the wait itself is the caller's token or the linked one.
        using CancellationTokenSource? timer = TimerFor(timeout, cancellationToken);
        CancellationToken token = timer?.Token ?? cancellationToken;
        try
        {
            while (true)
            {
                var attempt = new DequeueAttempt(destination.Span);
                ParkedWait? wait = Park(ref attempt, ref NotEmpty, ref NotEmptyWaiters, _notEmptyWord, token, out Outcome outcome);
                if (wait is null)
                {
                    return outcome == Outcome.Done ? attempt.Length : -1;
                }

                await AwaitParkedAsync(wait).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timer is not null && !cancellationToken.IsCancellationRequested)
        {
            throw TimedOut("message", timeout);
        }
        catch (OperationCanceledException) when (timer is not null)
        {
            throw new OperationCanceledException(cancellationToken); // the caller's token, not the linked one
        }
    }

    private async ValueTask EnqueueSlowAsync(ReadOnlyMemory<byte> message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using CancellationTokenSource? timer = TimerFor(timeout, cancellationToken);
        CancellationToken token = timer?.Token ?? cancellationToken;
        try
        {
            while (true)
            {
                var attempt = new EnqueueAttempt(message.Span);
                ParkedWait? wait = Park(ref attempt, ref NotFull, ref NotFullWaiters, _notFullWord, token, out _);
                if (wait is null)
                {
                    return;
                }

                await AwaitParkedAsync(wait).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timer is not null && !cancellationToken.IsCancellationRequested)
        {
            throw TimedOut("free slot", timeout);
        }
        catch (OperationCanceledException) when (timer is not null)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>A source linked to <paramref name="cancellationToken"/> that also cancels after
    /// <paramref name="timeout"/>; null for an infinite timeout or one past what a timer can hold (about 49 days,
    /// treated as infinite, as the blocking calls' futex slices would never reach it in practice either).</summary>
    internal static CancellationTokenSource? TimerFor(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= uint.MaxValue - 1)
        {
            return null;
        }

        var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        return timer;
    }

    private TimeoutException TimedOut(string what, TimeSpan timeout) =>
        new($"No {what} in queue '{Name}' of region '{_region.FilePath}' within {timeout}; is the other side running?");

    private static async ValueTask AwaitParkedAsync(ParkedWait wait)
    {
        try
        {
            await wait.AsValueTask().ConfigureAwait(false);
        }
        finally
        {
            wait.Registration.Dispose(); // the callback, if it runs now, finds the wait completed
        }
    }

    /// <summary>
    /// One round of a parked call: takes a waiter count, reads the word, retries; null when the retry succeeded or
    /// the queue ended (<paramref name="outcome"/>), else a wait registered with the waiter thread that owns the
    /// count. A woken wait always retries here before cancellation is honoured, so a wake-up that admitted this
    /// call is not dropped while a message waits.
    /// </summary>
    private ParkedWait? Park<TAttempt>(ref TAttempt attempt, ref int word, ref int waiters, WaitWord waitWord,
        CancellationToken cancellationToken, out Outcome outcome)
        where TAttempt : IAttempt, allows ref struct
    {
        using var guard = _region.EnterBlocking(); // the mapping stays while we touch it (ObjectDisposedException if not)
        // Full fence: the other side's read of the waiter count (after its publish or free) sees us, or we see its
        // publish or free in the retry below; pairs with the Volatile.Read of the waiters in TryEnqueue/TryDequeue.
        Interlocked.Increment(ref waiters);
        bool registered = false;
        try
        {
            // Acquire, read BEFORE retrying: a bump after our failed retry moves the word away from this value.
            int observed = Volatile.Read(ref word);
            outcome = TryOrEnd(ref attempt, out _);
            if (outcome != Outcome.Park)
            {
                return null;
            }

            cancellationToken.ThrowIfCancellationRequested();
            var wait = new ParkedWait(waitWord, observed);
            _region.Waiter.Register(wait, cancellationToken);
            registered = true; // the wait owns the count now (ParkedWait.Finish gives it back)
            return wait;
        }
        finally
        {
            if (!registered)
            {
                Interlocked.Decrement(ref waiters); // full fence; a stale count only costs a wake syscall
            }
        }
    }
}
