// BoundedMpmcQueue<T>: Dmitry Vyukov's bounded MPMC queue.
//
// Reference: D. Vyukov, "Bounded MPMC queue", 1024cores.net (2010),
//   https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue
// (also the basis of dotnet/runtime's ConcurrentQueueSegment<T>).
//
// Layout: a power-of-two ring of slots, each { long Sequence; T Item }, plus two 64-bit positions,
// _tail (next position to enqueue) and _head (next position to dequeue), each in its own CachePaddedLong.
// Position p lives in slot p & mask. Positions are 64-bit and never reset, so at one billion operations a
// second they take 292 years to wrap; all comparisons are wrapping differences ((long)(a - b)) anyway, and
// the tests start positions just below 2^31, 2^32 and long.MaxValue to prove it.
//
// Invariants (for slot s and the position p = the next position that maps to s):
//   Sequence == p      slot is free for the enqueuer of position p;
//   Sequence == p + 1  slot holds the item of position p, ready for its dequeuer;
//   the dequeuer of p frees the slot for position p + capacity by storing Sequence = p + capacity.
//   head <= tail <= head + capacity (as wrapping differences), both only ever increase.
// One CAS per operation: on _tail to claim an enqueue position, on _head to claim a dequeue position. The
// payload is written after the claim and before the Sequence store that publishes it (release); the
// dequeuer reads and clears the payload before the Sequence store that frees the slot (release).
//
// Failure windows (why this is not lock-free in the strict sense): a thread that has claimed a position
// but not yet published its Sequence store (preempted between the CAS and the store) blocks that slot.
//   - Preempted producer at position p: consumers that reach p wait (spin, then yield, then sleep) until
//     the producer publishes; TryDequeue does not report "empty" while tail > p, because that would not be
//     linearizable (a later, completed enqueue would be skipped).
//   - Preempted consumer at position p: producers that reach p + capacity wait until the slot is freed;
//     TryEnqueue reports "full" only when tail - head >= capacity, not merely because the slot is busy.
// Other positions keep working: only threads that wrap round onto the blocked slot wait.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Unjucks.LockFree;

/// <summary>
/// A bounded multi-producer, multi-consumer FIFO queue: Vyukov's ring with a sequence number per slot and one
/// compare-and-swap per operation. Any number of threads may enqueue and dequeue at the same time.
/// </summary>
/// <remarks>
/// <para>Items leave in the order their enqueues took effect; each producer's items leave in the order that
/// producer enqueued them. Enqueue and dequeue allocate nothing.</para>
/// <para><b>Not lock-free in the strict sense.</b> An operation first claims a position and then publishes it.
/// If the thread is preempted between the two, the slot stays busy: a consumer that reaches an item whose
/// producer has not yet published it waits for that producer (the queue does not report itself empty while
/// a claimed item is in flight), and a producer that wraps round onto a slot whose consumer has not yet
/// freed it waits for that consumer (the queue reports full only when it really holds
/// <see cref="Capacity"/> items or claims). The wait spins, yields, then sleeps for a millisecond at a time
/// until the preempted thread runs again. Operations on other slots are unaffected.</para>
/// <para>A dequeued slot is cleared before it is reused, so the queue does not keep dequeued items alive.</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public sealed class BoundedMpmcQueue<T>
{
    /// <summary>The largest capacity: 2^30 slots.</summary>
    public const int MaxCapacity = 1 << 30;

    private readonly Slot[] _slots;
    private readonly long _mask;

    // Requested capacity rounded up to a power of two. Equal to _slots.Length except for capacity 1, which
    // uses a ring of 2: with one slot, "full for position p" (p + 1) and "free for position p + 1" (p + 1)
    // would be the same sequence number. A one-slot queue therefore also checks head before claiming.
    private readonly int _capacity;

    // Written by consumers (CAS). Own 128-byte block: producers hammer _tail.
    private CachePaddedLong _head;

    // Written by producers (CAS). Own 128-byte block.
    private CachePaddedLong _tail;

    /// <summary>Creates an empty queue.</summary>
    /// <param name="capacity">The number of items the queue can hold, rounded up to a power of two;
    /// from 1 to 2^30.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 1 or above 2^30.</exception>
    public BoundedMpmcQueue(int capacity)
        : this(capacity, 0)
    {
    }

    /// <summary>Test hook: creates an empty queue whose first position is <paramref name="startPosition"/>,
    /// so that tests can run across 2^31, 2^32 and the wrap of a long.</summary>
    internal BoundedMpmcQueue(int capacity, long startPosition)
    {
        if (capacity < 1 || capacity > MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"A BoundedMpmcQueue holds from 1 to {MaxCapacity} (2^30) items; pass a capacity in that range (it is rounded up to a power of two).");
        }

        _capacity = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        int ringSize = Math.Max(2, _capacity);
        _slots = new Slot[ringSize];
        _mask = ringSize - 1;
        for (int i = 0; i < ringSize; i++)
        {
            // The first position at or after startPosition that maps to slot i: free for its enqueuer.
            _slots[i].Sequence = unchecked(startPosition + ((i - startPosition) & _mask));
        }

        _head.Value = startPosition;
        _tail.Value = startPosition;
        // The constructor's plain stores are published to other threads by whatever hands them the queue
        // reference (a volatile/Interlocked store, a Thread start, a Task); nothing here needs a fence.
    }

    /// <summary>The number of items the queue can hold (the requested capacity rounded up to a power of two).</summary>
    public int Capacity => _capacity;

    /// <summary>
    /// A snapshot of the number of items in the queue, from 0 to <see cref="Capacity"/>. It counts items whose
    /// enqueue has claimed a position but not yet finished, and may be stale by the time it is read.
    /// </summary>
    public int Count
    {
        get
        {
            var backoff = new Backoff();
            while (true)
            {
                // Acquire loads, stronger than a snapshot strictly needs; the re-read of _head makes
                // (head, tail) a consistent pair: tail was read while head had that value.
                long head = Volatile.Read(ref _head.Value);
                long tail = Volatile.Read(ref _tail.Value);
                if (Volatile.Read(ref _head.Value) == head)
                {
                    long count = unchecked(tail - head);
                    return (int)Math.Clamp(count, 0, _capacity);
                }

                backoff.Spin();
            }
        }
    }

    /// <summary>A snapshot: true when no item is in the queue or being enqueued.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>Adds <paramref name="item"/> at the tail unless the queue is full.</summary>
    /// <param name="item">The item to add.</param>
    /// <returns>True when added; false when the queue held <see cref="Capacity"/> items.</returns>
    public bool TryEnqueue(T item)
    {
        Slot[] slots = _slots;
        var backoff = new Backoff();
        // Acquire is not needed for correctness here (the CAS below validates the position); it keeps the
        // first guess fresh.
        long pos = Volatile.Read(ref _tail.Value);
        while (true)
        {
            ref Slot slot = ref slots[(int)(pos & _mask)];

            // Acquire: pairs with the release store of Sequence in TryDequeue that freed this slot, so the
            // consumer's read and clearing of Item happen before our write of Item below.
            long seq = Volatile.Read(ref slot.Sequence);
            long diff = unchecked(seq - pos);
            if (diff == 0)
            {
                // One-slot queue only (see _capacity): full when a claimed position is not yet dequeued.
                // Acquire load; pairs with the CAS on _head. Sound without more: head only grows, and the
                // CAS below fails if tail moved since pos was read.
                if (_capacity == 1 && unchecked(pos - Volatile.Read(ref _head.Value)) >= 1)
                {
                    return false;
                }

                // Claim position pos. Full fence (Interlocked); the ordering we need is only that no other
                // producer can claim pos too, which the CAS's atomicity gives.
                long seen = Interlocked.CompareExchange(ref _tail.Value, unchecked(pos + 1), pos);
                if (seen == pos)
                {
                    slot.Item = item;
                    // Release: publishes Item before the sequence says "full"; pairs with the acquire load
                    // of Sequence in TryDequeue.
                    Volatile.Write(ref slot.Sequence, unchecked(pos + 1));
                    return true;
                }

                pos = seen;
                backoff.Spin();
            }
            else if (diff < 0)
            {
                // The slot still holds (or is being freed from) the item of position pos - capacity.
                // Acquire load of _head; pairs with the CAS on _head in TryDequeue. Full only if that many
                // positions are really claimed; otherwise a consumer has claimed the old item and not yet
                // freed the slot (preempted consumer window): wait for it.
                long head = Volatile.Read(ref _head.Value);
                if (unchecked(pos - head) >= _capacity)
                {
                    return false;
                }

                backoff.Spin();
                // Acquire: fresh tail; any producer that advanced it past pos owns pos.
                pos = Volatile.Read(ref _tail.Value);
            }
            else
            {
                // Another producer already claimed pos; move to the current tail.
                pos = Volatile.Read(ref _tail.Value);
            }
        }
    }

    /// <summary>Removes the item at the head, if there is one.</summary>
    /// <param name="item">The removed item, or the default value when the queue was empty.</param>
    /// <returns>True when an item was removed; false when the queue was empty.</returns>
    public bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        Slot[] slots = _slots;
        var backoff = new Backoff();
        // First guess of the position to dequeue; acquire is not needed (the CAS below validates it).
        long pos = Volatile.Read(ref _head.Value);
        while (true)
        {
            ref Slot slot = ref slots[(int)(pos & _mask)];

            // Acquire: pairs with the release store of Sequence in TryEnqueue, so Item is visible below.
            long seq = Volatile.Read(ref slot.Sequence);
            long diff = unchecked(seq - (pos + 1));
            if (diff == 0)
            {
                // Claim position pos (full fence; atomicity is what matters: one consumer per position).
                long seen = Interlocked.CompareExchange(ref _head.Value, unchecked(pos + 1), pos);
                if (seen == pos)
                {
                    item = slot.Item;
                    if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                    {
                        slot.Item = default!; // do not keep the dequeued item alive
                    }

                    // Release: the read and clearing of Item happen before the slot is handed to the
                    // producer of pos + capacity; pairs with the acquire load of Sequence in TryEnqueue.
                    Volatile.Write(ref slot.Sequence, unchecked(pos + _slots.Length));
                    return true;
                }

                pos = seen;
                backoff.Spin();
            }
            else if (diff < 0)
            {
                // Position pos is not published. Acquire load of _tail; pairs with the CAS on _tail in
                // TryEnqueue. If no producer has claimed pos the queue is empty; otherwise the producer of
                // pos is between its claim and its publish (preempted producer window): wait for it.
                long tail = Volatile.Read(ref _tail.Value);
                if (unchecked(tail - pos) <= 0)
                {
                    item = default;
                    return false;
                }

                backoff.Spin();
                // Acquire: a fresh head (another consumer may have taken pos meanwhile).
                pos = Volatile.Read(ref _head.Value);
            }
            else
            {
                // Another consumer already took pos.
                pos = Volatile.Read(ref _head.Value);
            }
        }
    }

    /// <summary>Test hook: the next position to dequeue (acquire load; tests read it after joining threads).</summary>
    internal long HeadPosition => Volatile.Read(ref _head.Value);

    /// <summary>Test hook: the next position to enqueue (acquire load; tests read it after joining threads).</summary>
    internal long TailPosition => Volatile.Read(ref _tail.Value);

    /// <summary>Test hook: claims the next enqueue position without publishing it, as a producer preempted
    /// between its CAS and its Sequence store would. Call only while no other producer runs.</summary>
    internal long ClaimEnqueueForTest()
    {
        long pos = Volatile.Read(ref _tail.Value); // acquire; single producer by contract
        ref Slot slot = ref _slots[(int)(pos & _mask)];
        if (Volatile.Read(ref slot.Sequence) != pos)
        {
            throw new InvalidOperationException("Test hook: the next slot is not free.");
        }

        // Same claim as TryEnqueue (full-fence CAS on _tail).
        Interlocked.CompareExchange(ref _tail.Value, unchecked(pos + 1), pos);
        return pos;
    }

    /// <summary>Test hook: publishes a position claimed by <see cref="ClaimEnqueueForTest"/>.</summary>
    internal void PublishEnqueueForTest(long pos, T item)
    {
        ref Slot slot = ref _slots[(int)(pos & _mask)];
        slot.Item = item;
        Volatile.Write(ref slot.Sequence, unchecked(pos + 1)); // release, as in TryEnqueue
    }

    /// <summary>Test hook: claims and reads the next item without freeing its slot, as a consumer preempted
    /// between its CAS and its Sequence store would. Call only while no other consumer runs.</summary>
    internal long ClaimDequeueForTest(out T item)
    {
        long pos = Volatile.Read(ref _head.Value); // acquire; single consumer by contract
        ref Slot slot = ref _slots[(int)(pos & _mask)];
        if (Volatile.Read(ref slot.Sequence) != unchecked(pos + 1))
        {
            throw new InvalidOperationException("Test hook: the next slot holds no published item.");
        }

        // Same claim as TryDequeue (full-fence CAS on _head).
        Interlocked.CompareExchange(ref _head.Value, unchecked(pos + 1), pos);
        item = slot.Item;
        return pos;
    }

    /// <summary>Test hook: frees the slot of a position claimed by <see cref="ClaimDequeueForTest"/>.</summary>
    internal void FreeDequeueForTest(long pos)
    {
        ref Slot slot = ref _slots[(int)(pos & _mask)];
        slot.Item = default!;
        Volatile.Write(ref slot.Sequence, unchecked(pos + _slots.Length)); // release, as in TryDequeue
    }

    /// <summary>Test hook: whether slot <paramref name="index"/> still references an item (GC reachability).</summary>
    internal bool SlotHoldsValue(int index)
    {
        Debug.Assert(index >= 0 && index < _slots.Length);
        return !EqualityComparer<T>.Default.Equals(_slots[index].Item, default!);
    }

    private struct Slot
    {
        public long Sequence;
        public T Item;
    }
}
