// SharedMessageQueue: a bounded MPMC ring of fixed-size messages inside the shared region.
//
// Reference: Dmitry Vyukov, "Bounded MPMC queue" (1024cores.net): each slot carries a sequence number; a producer
// at position p may fill slot p & mask when seq == p and publishes seq = p + 1; a consumer at p may take it when
// seq == p + 1 and frees it with seq = p + capacity. Adapted for processes that can die at any instruction
// (after Agrona's ManyToOneRingBuffer.unblock idea):
//
//   * Every slot has a 64-bit Owner word holding a *reservation*: (2 * position + role) in the high half (role 0
//     for the producer of that position, 1 for its consumer) and the agent id in the low half. A producer or
//     consumer first CASes its reservation into Owner (from whatever completed reservation is there), THEN moves
//     the shared position with a CAS, fills or drains the slot, and completes the step with a full-fence store of
//     seq. A reservation is never cleared: seq says whether its step is done, and the position tag in it keeps a
//     stale CAS from succeeding one lap later (no ABA). So a half-done step always names its agent.
//   * A process that finds a step reserved by an agent the registry says is dead takes the reservation over with
//     a CAS from the dead one's exact word and finishes or undoes the step: a dead producer's claimed-but-
//     unpublished slot is published as a "dead record" (length -1) that consumers skip; a dead consumer's
//     taken-but-unfreed slot is freed (its message is lost with it: delivery is exactly-once among live
//     consumers, at-most-once for a consumer that dies holding a message); a dead agent that had only reserved
//     (not moved the position) is simply replaced.
//
// Invariants: positions only grow (64-bit, compared by wrapping difference); a slot's seq is written only by the
// agent whose reservation is in Owner; the store of seq publishes the payload (pairs with the acquire load of seq
// by the other side).
// Failure windows: a live owner that is stopped (SIGSTOP, debugger) between its two CASes blocks others on that
// slot until it resumes (this queue is not lock-free; it is dead-process tolerant). Liveness probes run at most
// every 10 ms per waiter after a spin phase.
//
// Completion (Complete): bit 63 of EnqueuePos (QueueLayout.CompletedBit), set with a CAS. Producers CAS EnqueuePos
// from a plain position p to p + 1, so once the bit is set no producer can claim another position: the set of
// messages is fixed at the positions below the final one, and "completed and DequeuePos reached it" is final
// (consumers see the end only after every claimed message is taken or skipped as a dead record). Positions are
// therefore 63-bit (wrapping after 2^63 messages, about 290 years at 10^9 per second); every read of EnqueuePos
// masks the bit off.
//
// Blocking: Enqueue parks on the NotFull futex word, Dequeue on NotEmpty. The other side bumps the word and wakes
// one waiter only when the matching waiter count is non-zero, so the fast path makes no syscall. Lost-wake-up
// argument as in ChangeSequence: the side that makes progress does  Interlocked.Exchange(seq) (store + full
// fence) ; read waiters,  the waiter does  waiters++ (full fence) ; read futex word ; retry ;
// futex_wait(word, value read).
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>
/// A named, bounded, multi-producer multi-consumer queue of messages of up to <see cref="MaxMessageBytes"/> bytes,
/// shared by every process that opens the region. Each message is delivered to exactly one consumer.
/// </summary>
public sealed unsafe partial class SharedMessageQueue
{
    private static readonly TimeSpan ParkSlice = TimeSpan.FromMilliseconds(50);

    // A blocking call's attempts wait on a busy slot for at most this long, then count as "not now", so that a
    // stopped holder costs the caller its own timeout, not the bound of a non-blocking call.
    private static readonly TimeSpan BlockingStep = TimeSpan.FromMilliseconds(10);

    private readonly SharedRegion _region;
    private readonly byte* _body;
    private readonly byte* _slots;
    private readonly int _slotBytes;
    private readonly long _mask;
    private readonly WaitWord _notEmptyWord;
    private readonly WaitWord _notFullWord;

    internal SharedMessageQueue(SharedRegion region, string name, byte* body, int capacity, int messageBytes)
    {
        _region = region;
        Name = name;
        _body = body;
        _slots = body + QueueLayout.ControlBytes;
        _slotBytes = QueueLayout.SlotBytes(messageBytes);
        Capacity = capacity;
        _mask = capacity - 1;
        MaxMessageBytes = messageBytes;
        // SAFETY: the four words lie in this queue's control block of the live mapping (see the refs below).
        _notEmptyWord = new WaitWord((int*)Unsafe.AsPointer(ref NotEmpty), (int*)Unsafe.AsPointer(ref NotEmptyWaiters), this);
        _notFullWord = new WaitWord((int*)Unsafe.AsPointer(ref NotFull), (int*)Unsafe.AsPointer(ref NotFullWaiters), this);
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>Number of messages the queue holds when full.</summary>
    public int Capacity { get; }

    /// <summary>Largest message payload in bytes.</summary>
    public int MaxMessageBytes { get; }

    /// <summary>Approximate number of queued messages (exact when no one is enqueuing or dequeuing).</summary>
    public int Count
    {
        get
        {
            _region.ThrowIfDisposed();
            long dequeue = Volatile.Read(ref DequeuePos); // acquire; ordering against EnqueuePos is best effort
            long difference = (Volatile.Read(ref EnqueuePos) & QueueLayout.PositionMask) - dequeue; // acquire; a snapshot, no partner needed
            return (int)Math.Clamp(difference, 0, Capacity);
        }
    }

    /// <summary>True once <see cref="Complete"/> was called by any process (messages may still be queued).</summary>
    internal bool IsCompleted => Volatile.Read(ref EnqueuePos) < 0; // acquire; pairs with the CAS in Complete

    /// <summary>Completed and every claimed message taken: no dequeue can ever succeed again.</summary>
    internal bool IsCompletedAndDrained
    {
        get
        {
            long enqueue = Volatile.Read(ref EnqueuePos); // acquire; once the bit is set the position is final
            // Acquire; pairs with the consumers' CAS of DequeuePos. Wrapping difference.
            return enqueue < 0 && Volatile.Read(ref DequeuePos) - (enqueue & QueueLayout.PositionMask) >= 0;
        }
    }

    /// <summary>Spin iterations of blocking calls before parking (internal knob for benchmarks and tests).</summary>
    internal int SpinIterations { get; set; } = 64;

    // SAFETY (the five refs below): fixed offsets inside this queue's 128-aligned control block in the live mapping.
    private ref long EnqueuePos => ref Unsafe.AsRef<long>(_body + QueueLayout.EnqueuePosOffset);

    private ref long DequeuePos => ref Unsafe.AsRef<long>(_body + QueueLayout.DequeuePosOffset);

    private ref int NotEmpty => ref Unsafe.AsRef<int>(_body + QueueLayout.NotEmptyOffset);

    private ref int NotEmptyWaiters => ref Unsafe.AsRef<int>(_body + QueueLayout.NotEmptyWaitersOffset);

    private ref int NotFull => ref Unsafe.AsRef<int>(_body + QueueLayout.NotFullOffset);

    private ref int NotFullWaiters => ref Unsafe.AsRef<int>(_body + QueueLayout.NotFullWaitersOffset);

    /// <summary>Adds a message if there is room; false if the queue is full. Returns within about
    /// <see cref="OwnerBackoff.Bound"/> (250 ms) whatever the region's bytes.</summary>
    /// <exception cref="TimeoutException">A live agent has held the slot for longer than that (it is stopped or starved).</exception>
    /// <exception cref="SharedRegionFormatException">The queue's words are in a state no agent leaves: the region is damaged.</exception>
    /// <exception cref="SharedQueueCompletedException">The queue was completed (<see cref="Complete"/>).</exception>
    public bool TryEnqueue(ReadOnlySpan<byte> message) => TryEnqueue(message, new OwnerBackoff());

    private bool TryEnqueue(ReadOnlySpan<byte> message, OwnerBackoff backoff)
    {
        if (message.Length > MaxMessageBytes)
        {
            throw new ArgumentException(
                $"The message is {message.Length} bytes; queue '{Name}' carries at most {MaxMessageBytes} (SharedRegionOptions.MessageBytes).", nameof(message));
        }

        _region.ThrowIfDisposed();
        int me = _region.Agents.CurrentAgentId;
        while (true)
        {
            long position = Volatile.Read(ref EnqueuePos); // acquire: pairs with the CAS that advanced it (or completed it)
            if (position < 0)
            {
                throw CompletedError();
            }

            byte* slot = Slot(position);
            ref long seq = ref SeqOf(slot);
            ref long owner = ref OwnerOf(slot);
            long observed = Volatile.Read(ref seq); // acquire: pairs with the consumer's free
            long difference = observed - position;
            if (difference == 0)
            {
                if (!TryReserve(ref owner, position, consumer: false, me, ref backoff, out long seen, out long mine))
                {
                    ThrowIfStuck(ref backoff, position, observed, consumer: false, takesOverDead: true);
                    continue;
                }

                // Full fence CAS; only the holder of this position's reservation can move EnqueuePos past it, and it
                // fails once Complete has set the bit (then the next round throws).
                if (Interlocked.CompareExchange(ref EnqueuePos, position + 1, position) != position) // pairs with the acquire load of EnqueuePos
                {
                    Interlocked.CompareExchange(ref owner, seen, mine); // stale position: hand the reservation back
                    continue;
                }

                // SAFETY: we hold the reservation and the slot is free (seq == position); payload fits (checked).
                message.CopyTo(new Span<byte>(slot + QueueLayout.SlotPayloadOffset, MaxMessageBytes));
                Unsafe.AsRef<int>(slot + QueueLayout.SlotLengthOffset) = message.Length;
                // Store + full fence: publishes length and payload (pairs with the consumer's acquire load of seq)
                // and orders the publish before the waiters read below.
                Interlocked.Exchange(ref seq, position + 1); // pairs with the acquire load of seq in TryDequeue
                if (Volatile.Read(ref NotEmptyWaiters) != 0) // pairs with the increment in Dequeue
                {
                    Interlocked.Increment(ref NotEmpty); // full fence; the value parked consumers compare against
                    Futex.Wake((int*)Unsafe.AsPointer(ref NotEmpty), 1); // SAFETY: word inside the live mapping
                }

                return true;
            }

            if (difference < 0)
            {
                // Full, unless the slot's last consumer advanced DequeuePos but has not freed it yet.
                long freeing = position - Capacity;
                if (Volatile.Read(ref DequeuePos) - freeing <= 0) // acquire; pairs with the consumers' CAS of DequeuePos
                {
                    return false; // truly full
                }

                long seen = Volatile.Read(ref owner); // acquire: pairs with the reserving CAS
                if (backoff.WaitAndShouldCheck() && IsReservationFor(seen, freeing, consumer: true)
                    && TakeOverFromDead(ref owner, seen, Reservation(freeing, consumer: true, me)))
                {
                    // The consumer died holding the message: free the slot for this lap (the message is lost).
                    if (Volatile.Read(ref seq) == freeing + 1) // acquire; we now hold the reservation, re-check the slot
                    {
                        Volatile.Write(ref seq, position); // release: frees the slot; pairs with the acquire above
                    }
                }

                _region.ThrowIfDisposed();
                ThrowIfStuck(ref backoff, freeing, observed, consumer: true, takesOverDead: true);
            }
            else if (difference > 0)
            {
                // The slot is a lap ahead of the position we read: another producer moved on; read it again. A
                // producer advances EnqueuePos before it publishes, so a position still current after that slot read
                // is damage once it lasts past the bound; a stale one is progress, and only starts the wait over (a
                // descheduled producer sees many of them on a busy machine).
                if (Volatile.Read(ref EnqueuePos) != position) // acquire: the CAS that advanced it precedes the publish we saw
                {
                    backoff = backoff.Restarted();
                    continue;
                }

                backoff.WaitAndShouldCheck();
                ThrowIfStuck(ref backoff, position, observed, consumer: false, takesOverDead: false);
            }
        }
    }

    /// <summary>After the bound, if the slot's sequence is still <paramref name="observed"/> (what the caller's
    /// decision to wait was based on): a TimeoutException naming the live holder of the slot of <paramref name="position"/>,
    /// else a SharedRegionFormatException describing the impossible state. With <paramref name="takesOverDead"/> (the
    /// caller replaces a dead holder's reservation on its next liveness check), a reservation whose holder is dead is
    /// not damage: the holder died after the bound passed and before that check (a blocking call retries past the
    /// bound), so this returns and the caller takes the slot over within one check interval.</summary>
    private void ThrowIfStuck(ref OwnerBackoff backoff, long position, long observed, bool consumer, bool takesOverDead)
    {
        if (!backoff.Exceeded)
        {
            return;
        }

        byte* slot = Slot(position);
        long seq = Volatile.Read(ref SeqOf(slot)); // acquire: pairs with the publish or free that changed it
        if (seq != observed)
        {
            // The slot moved on since the caller read it (its holder published or freed it, late because it was
            // descheduled): progress, not a stuck holder. The caller reads it again, its wait started over.
            backoff = backoff.Restarted();
            return;
        }

        long owner = Volatile.Read(ref OwnerOf(slot)); // acquire: a snapshot for the message
        long index = position & _mask;
        if (IsReservationFor(owner, position, consumer) && _region.Agents.IsAgentAlive((int)owner))
        {
            AgentInfo holder = _region.Agents.GetInfo(AgentIds.Slot((int)owner));
            throw new TimeoutException(
                $"Queue '{Name}' of region '{_region.FilePath}': slot {index} has been held for more than {OwnerBackoff.Bound.TotalMilliseconds:0} ms by agent slot {holder.Slot} (pid {holder.ProcessId}), which is alive but stopped or starved between two steps; try again, or stop or resume that process.");
        }

        if (takesOverDead && IsReservationFor(owner, position, consumer))
        {
            return; // a dead holder's reservation: the caller's next check replaces it (TakeOverFromDead)
        }

        // The position reads in the message are acquire loads taken as a snapshot for the reader; nothing is ordered by them.
        throw new SharedRegionFormatException(
            $"Queue '{Name}' of region '{_region.FilePath}' is damaged: slot {index} (byte {slot - _body} of the queue) has sequence {seq} and owner word 0x{owner:X16} while the enqueue position is {Volatile.Read(ref EnqueuePos)} and the dequeue position {Volatile.Read(ref DequeuePos)}, a state no live or dead agent leaves. Delete the region.");
    }

    // Reserves the slot at position for this producer (consumer: false) or consumer: takes it with a CAS when nobody
    // holds it, or replaces a reservation whose holder died. False: another live holder has it, or another thread won
    // the CAS; the caller re-reads its position and tries again. seen is the owner word this call replaced (what the
    // caller hands back if its position turns out stale), mine the reservation it wrote.
    private bool TryReserve(ref long owner, long position, bool consumer, int me, ref OwnerBackoff backoff, out long seen, out long mine)
    {
        seen = Volatile.Read(ref owner); // acquire: pairs with the reserving CAS
        mine = Reservation(position, consumer, me);
        if (IsReservationFor(seen, position, consumer))
        {
            // Another producer or consumer reserved this position; replace it only if it died.
            return backoff.WaitAndShouldCheck() && TakeOverFromDead(ref owner, seen, mine);
        }

        return Interlocked.CompareExchange(ref owner, mine, seen) == seen; // full fence: reserve
    }

    /// <summary>
    /// Takes the oldest message into <paramref name="destination"/>; false if the queue is empty (or completed and
    /// drained). Throws <see cref="ArgumentException"/> (leaving the message queued) if <paramref name="destination"/>
    /// is too small.
    /// </summary>
    public bool TryDequeue(Span<byte> destination, out int length) => TryDequeue(destination, out length, new OwnerBackoff());

    private bool TryDequeue(Span<byte> destination, out int length, OwnerBackoff backoff)
    {
        _region.ThrowIfDisposed();
        int me = _region.Agents.CurrentAgentId;
        while (true)
        {
            long position = Volatile.Read(ref DequeuePos); // acquire: pairs with the CAS that advanced it
            byte* slot = Slot(position);
            ref long seq = ref SeqOf(slot);
            ref long owner = ref OwnerOf(slot);
            long observed = Volatile.Read(ref seq); // acquire: pairs with the producer's publish
            long difference = observed - (position + 1);
            if (difference == 0)
            {
                if (!TryReserve(ref owner, position, consumer: true, me, ref backoff, out long seen, out long mine))
                {
                    ThrowIfStuck(ref backoff, position, observed, consumer: true, takesOverDead: true);
                    continue;
                }

                // SAFETY: we hold the reservation and the slot is published (seq == position + 1): length is stable.
                int n = Unsafe.AsRef<int>(slot + QueueLayout.SlotLengthOffset);
                if (n > MaxMessageBytes || n < QueueLayout.DeadRecordLength)
                {
                    Interlocked.CompareExchange(ref owner, seen, mine); // full fence: leave the slot as it was
                    throw new SharedRegionFormatException(
                        $"Queue '{Name}' of region '{_region.FilePath}' holds a message of impossible length {n}; the region is corrupt. Delete it.");
                }

                if (n > destination.Length && Volatile.Read(ref DequeuePos) == position) // acquire; is our position still current?
                {
                    Interlocked.CompareExchange(ref owner, seen, mine); // full fence: leave the message where it is
                    throw new ArgumentException(
                        $"The next message of queue '{Name}' is {n} bytes but the destination holds {destination.Length}; pass a buffer of MaxMessageBytes ({MaxMessageBytes}) bytes.",
                        nameof(destination));
                }

                // Full fence CAS; only the holder of this position's reservation can move DequeuePos past it.
                if (Interlocked.CompareExchange(ref DequeuePos, position + 1, position) != position) // pairs with the acquire load of DequeuePos
                {
                    Interlocked.CompareExchange(ref owner, seen, mine); // stale position: hand the reservation back
                    continue;
                }

                if (n > 0)
                {
                    // SAFETY: the payload lies inside our slot; n <= destination.Length was checked above.
                    new ReadOnlySpan<byte>(slot + QueueLayout.SlotPayloadOffset, n).CopyTo(destination);
                }

                // Store + full fence: frees the slot (pairs with the producers' acquire load of seq; our payload
                // reads stay above it) and orders the free before the waiters read below.
                Interlocked.Exchange(ref seq, position + Capacity); // pairs with the acquire load of seq in TryEnqueue
                if (Volatile.Read(ref NotFullWaiters) != 0) // pairs with the increment in Enqueue
                {
                    Interlocked.Increment(ref NotFull); // full fence; the value parked producers compare against
                    Futex.Wake((int*)Unsafe.AsPointer(ref NotFull), 1); // SAFETY: word inside the live mapping
                }

                if (n == QueueLayout.DeadRecordLength)
                {
                    continue; // a dead producer's slot: skip it
                }

                length = n;
                return true;
            }

            if (difference < 0)
            {
                // Empty, unless a producer advanced EnqueuePos over this slot and has not published yet.
                if ((Volatile.Read(ref EnqueuePos) & QueueLayout.PositionMask) - position <= 0) // acquire; pairs with the producers' CAS of EnqueuePos
                {
                    length = 0;
                    return false; // truly empty
                }

                long seen = Volatile.Read(ref owner); // acquire: pairs with the reserving CAS
                if (backoff.WaitAndShouldCheck() && IsReservationFor(seen, position, consumer: false)
                    && TakeOverFromDead(ref owner, seen, Reservation(position, consumer: false, me)))
                {
                    if (Volatile.Read(ref seq) == position) // acquire; we now hold the reservation, re-check the slot
                    {
                        // The producer died between claiming and publishing: publish a dead record to skip.
                        // SAFETY: we hold the slot's reservation; Length lies inside the slot in the live mapping.
                        Unsafe.AsRef<int>(slot + QueueLayout.SlotLengthOffset) = QueueLayout.DeadRecordLength;
                        Volatile.Write(ref seq, position + 1); // release: publishes the dead record
                    }
                }

                _region.ThrowIfDisposed();
                ThrowIfStuck(ref backoff, position, observed, consumer: false, takesOverDead: true);
            }
            else
            {
                // The slot is ahead of the position we read: another consumer moved on; read it again. A consumer
                // advances DequeuePos before it frees the slot, so as for producers only a position still current
                // after that slot read counts toward the bound; a stale one starts the wait over.
                if (Volatile.Read(ref DequeuePos) != position) // acquire: the CAS that advanced it precedes the free we saw
                {
                    backoff = backoff.Restarted();
                    continue;
                }

                backoff.WaitAndShouldCheck();
                ThrowIfStuck(ref backoff, position, observed, consumer: true, takesOverDead: false);
            }
        }
    }

    /// <summary>
    /// Adds a message, waiting up to <paramref name="timeout"/> for room (spins, then parks on a futex). False on
    /// timeout; <see cref="OperationCanceledException"/> on cancellation; <see cref="SharedQueueCompletedException"/>
    /// once the queue is completed (also for a call waiting when that happens).
    /// </summary>
    public bool Enqueue(ReadOnlySpan<byte> message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var attempt = new EnqueueAttempt(message);
        return SpinThenPark(ref attempt, ref NotFull, ref NotFullWaiters, timeout, cancellationToken);
    }

    /// <summary>
    /// Takes a message, waiting up to <paramref name="timeout"/> for one (spins, then parks on a futex). False on
    /// timeout; <see cref="OperationCanceledException"/> on cancellation; <see cref="SharedQueueCompletedException"/>
    /// once the queue is completed and drained (also for a call waiting when that happens).
    /// </summary>
    public bool Dequeue(Span<byte> destination, out int length, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var attempt = new DequeueAttempt(destination);
        bool taken = SpinThenPark(ref attempt, ref NotEmpty, ref NotEmptyWaiters, timeout, cancellationToken);
        length = attempt.Length;
        return taken;
    }

    /// <summary>
    /// The blocking protocol shared by <see cref="Enqueue"/> (parks on NotFull) and <see cref="Dequeue"/> (parks on
    /// NotEmpty): try, spin briefly, then register as a waiter and park on <paramref name="word"/> in slices until
    /// the attempt succeeds, the timeout passes or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    private bool SpinThenPark<TAttempt>(ref TAttempt attempt, ref int word, ref int waiters, TimeSpan timeout,
        CancellationToken cancellationToken)
        where TAttempt : IAttempt, allows ref struct
    {
        SharedRegion.CheckTimeout(timeout);
        long start = Stopwatch.GetTimestamp();
        Outcome spun = Spin(ref attempt);
        if (spun != Outcome.Park)
        {
            return spun == Outcome.Done ? true : throw CompletedError();
        }

        using var guard = _region.EnterBlocking();
        // Full fence: the other side's read of the waiter count (after its publish or free) sees us, or we see its
        // publish or free in the retry below; pairs with the Volatile.Read of the waiters in TryEnqueue/TryDequeue.
        Interlocked.Increment(ref waiters);
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Acquire, read BEFORE retrying: a bump by the other side after our failed retry changes the word,
                // so the futex wait below returns at once instead of sleeping through the wake-up.
                int observed = Volatile.Read(ref word);
                Outcome tried = TryOrEnd(ref attempt, out _);
                if (tried != Outcome.Park)
                {
                    return tried == Outcome.Done ? true : throw CompletedError();
                }

                TimeSpan remaining = SharedRegion.Remaining(timeout, start);
                if (remaining <= TimeSpan.Zero)
                {
                    return false;
                }

                // SAFETY: the word lies inside the mapping, kept alive by the blocking guard.
                Futex.Wait((int*)Unsafe.AsPointer(ref word), observed, remaining < ParkSlice ? remaining : ParkSlice);
            }
        }
        finally
        {
            Interlocked.Decrement(ref waiters); // full fence; a stale count only costs a wake syscall
        }
    }

    /// <summary>One attempt of a blocking call: a slot a live agent holds past the short step is "not now" (the
    /// call goes on waiting within its timeout); damage still throws.</summary>
    private bool TryOnce<TAttempt>(ref TAttempt attempt, out bool busy)
        where TAttempt : IAttempt, allows ref struct
    {
        busy = false;
        try
        {
            return attempt.Try(this);
        }
        catch (TimeoutException)
        {
            busy = true;
            return false;
        }
    }

    /// <summary>Tries, then spins briefly while the queue is only momentarily empty or full.</summary>
    private Outcome Spin<TAttempt>(ref TAttempt attempt)
        where TAttempt : IAttempt, allows ref struct
    {
        for (int i = 0; ; i++)
        {
            Outcome outcome = TryOrEnd(ref attempt, out bool busy);
            if (outcome != Outcome.Park || i >= SpinIterations || busy)
            {
                return outcome; // spinning is for a queue that is briefly empty or full, not for a holder that is stopped
            }

            Thread.SpinWait(8);
        }
    }

    /// <summary>One attempt; Ended when it was a dequeue and the queue is completed and drained.</summary>
    private Outcome TryOrEnd<TAttempt>(ref TAttempt attempt, out bool busy)
        where TAttempt : IAttempt, allows ref struct
    {
        if (TryOnce(ref attempt, out busy))
        {
            return Outcome.Done;
        }

        return attempt.IsDequeue && IsCompletedAndDrained ? Outcome.Ended : Outcome.Park;
    }

    private SharedQueueCompletedException CompletedError() =>
        new($"Queue '{Name}' of region '{_region.FilePath}' was completed (SharedMessageQueue.Complete, by some process): it takes no more messages, and a dequeue ends once none is left. Stop producing to it or consuming from it, or use another queue.");

    /// <summary>One non-blocking attempt of a blocking operation.</summary>
    private interface IAttempt
    {
        /// <summary>A dequeue (a completed and drained queue ends it); an enqueue's attempt throws by itself.</summary>
        bool IsDequeue { get; }

        bool Try(SharedMessageQueue queue);
    }

    private readonly ref struct EnqueueAttempt(ReadOnlySpan<byte> message) : IAttempt
    {
        private readonly ReadOnlySpan<byte> _message = message;

        public bool IsDequeue => false;

        public bool Try(SharedMessageQueue queue) => queue.TryEnqueue(_message, new OwnerBackoff(BlockingStep));
    }

    private ref struct DequeueAttempt(Span<byte> destination) : IAttempt
    {
        private readonly Span<byte> _destination = destination;

        public int Length;

        public readonly bool IsDequeue => true;

        public bool Try(SharedMessageQueue queue) => queue.TryDequeue(_destination, out Length, new OwnerBackoff(BlockingStep));
    }

    /// <summary>Prepares a queue body; called by its creator before the directory entry is published.</summary>
    internal static void Initialize(byte* body, int capacity, int messageBytes)
    {
        // SAFETY: the creator owns the directory entry, so nobody else touches this body until its release store.
        new Span<byte>(body, QueueLayout.ControlBytes).Clear();
        int slotBytes = QueueLayout.SlotBytes(messageBytes);
        for (int i = 0; i < capacity; i++)
        {
            byte* slot = body + QueueLayout.ControlBytes + ((long)i * slotBytes);
            Unsafe.AsRef<long>(slot + QueueLayout.SlotSeqOffset) = i;
            Unsafe.AsRef<long>(slot + QueueLayout.SlotOwnerOffset) = 0;
            Unsafe.AsRef<int>(slot + QueueLayout.SlotLengthOffset) = 0;
        }
    }

    /// <summary>Test hook: reserves and claims a slot like TryEnqueue, then calls <paramref name="stall"/> before publishing.</summary>
    internal void EnqueueAndStall(Action stall)
    {
        int me = _region.Agents.CurrentAgentId;
        long position = Volatile.Read(ref EnqueuePos); // acquire, as in TryEnqueue
        byte* slot = Slot(position);
        long seen = Volatile.Read(ref OwnerOf(slot)); // acquire, as in TryEnqueue
        if (Volatile.Read(ref SeqOf(slot)) != position // acquire; pairs with the consumers' free
            || Interlocked.CompareExchange(ref OwnerOf(slot), Reservation(position, consumer: false, me), seen) != seen // full fence
            || Interlocked.CompareExchange(ref EnqueuePos, position + 1, position) != position) // full fence
        {
            throw new InvalidOperationException("EnqueueAndStall needs an idle queue with room.");
        }

        stall();
    }

    /// <summary>Test hook: reserves and takes the oldest message like TryDequeue, then calls <paramref name="stall"/> before freeing its slot.</summary>
    internal void DequeueAndStall(Action stall)
    {
        int me = _region.Agents.CurrentAgentId;
        long position = Volatile.Read(ref DequeuePos); // acquire, as in TryDequeue
        byte* slot = Slot(position);
        long seen = Volatile.Read(ref OwnerOf(slot)); // acquire, as in TryDequeue
        if (Volatile.Read(ref SeqOf(slot)) != position + 1 // acquire; pairs with the producers' publish
            || Interlocked.CompareExchange(ref OwnerOf(slot), Reservation(position, consumer: true, me), seen) != seen // full fence
            || Interlocked.CompareExchange(ref DequeuePos, position + 1, position) != position) // full fence
        {
            throw new InvalidOperationException("DequeueAndStall needs an idle queue with a message.");
        }

        stall();
    }

    /// <summary>Test hook: the queue's control block (positions, then the slots), to damage it.</summary>
    internal nint BodyAddressForTests => (nint)_body;

    /// <summary>Test hook: the reservation word this agent writes for a position.</summary>
    internal long ReservationForTests(long position, bool consumer) => Reservation(position, consumer, _region.Agents.CurrentAgentId);

    /// <summary>The Owner word for the producer (or consumer) of <paramref name="position"/>.</summary>
    private static long Reservation(long position, bool consumer, int agentId) =>
        ((long)(uint)((position << 1) | (consumer ? 1L : 0L)) << 32) | (uint)agentId;

    private static bool IsReservationFor(long word, long position, bool consumer) =>
        (int)word != 0 && (uint)(word >>> 32) == (uint)((position << 1) | (consumer ? 1L : 0L));

    private bool TakeOverFromDead(ref long owner, long seen, long mine) =>
        !_region.Agents.IsAgentAlive((int)seen)
        && Interlocked.CompareExchange(ref owner, mine, seen) == seen; // full fence; one taker wins

    private byte* Slot(long position) => _slots + ((position & _mask) * _slotBytes);

    // SAFETY: seq and owner are at fixed offsets of a 64-aligned slot inside the live mapping.
    private static ref long SeqOf(byte* slot) => ref Unsafe.AsRef<long>(slot + QueueLayout.SlotSeqOffset);

    private static ref long OwnerOf(byte* slot) => ref Unsafe.AsRef<long>(slot + QueueLayout.SlotOwnerOffset);
}
