// MpmcQueue<T>: an unbounded MPMC queue of fetch-and-add indexed segments.
//
// Reference: P. Ramalhete, A. Correia, "FAAArrayQueue" (2016), Concurrency Freaks,
//   https://github.com/pramalhe/ConcurrencyFreaks (CPP/queues/array/FAAArrayQueue.hpp) and
//   "A Wait-Free Queue with Wait-Free Memory Reclamation" (PPoPP 2017), which describes it as the
//   lock-free base. Segments are linked as in M. Michael, M. Scott, "Simple, Fast, and Practical
//   Non-Blocking and Blocking Concurrent Queue Algorithms", PODC 1996.
//
// Design: a linked list of segments of SegmentSize slots (1024 by default). Each segment has an enqueue
// index and a dequeue index, each in its own CachePaddedLong. An enqueuer takes a slot with one
// fetch-and-add on the tail segment's enqueue index, a dequeuer with one fetch-and-add on the head
// segment's dequeue index, so under contention threads queue up in the cache line's fetch-and-add instead of
// failing CAS loops (that is the whole point over a CAS ring or ConcurrentQueue<T>).
// A slot holds { T Value; int State } with State Empty (0) -> Written (1) or Empty (0) -> Taken (2), and
// Written -> Taken; .NET cannot CAS an arbitrary T, so the per-slot state is what is CASed, and the value is
// written before the state publishes it:
//   enqueuer: idx = FAA(enqIdx); write Value; CAS State Empty -> Written. If the CAS fails, a dequeuer has
//             already passed idx and poisoned it (Taken): clear our Value and retry at a new index.
//   dequeuer: idx = FAA(deqIdx); s = State (acquire); if s != Written, s = Exchange(State, Taken).
//             s == Written: take Value and clear it (no atomic needed: idx is ours alone and a published
//             enqueuer never touches its slot again; this is a deviation from the original, one atomic
//             fewer per dequeue).
//             s == Empty: we poisoned a slot whose enqueuer has not published yet; that enqueue has not
//             completed, so it can be linearized after us; its enqueuer retries. Retry at a new index.
// When a segment's enqueue index passes SegmentSize, an enqueuer allocates the next segment with its item
// already in slot 0 and links it with a CAS on next (Michael-Scott); tail and head are then swung forward
// by CAS, helped by any thread that finds them lagging.
//
// Indices: per segment and 64-bit, starting at 0; they exceed SegmentSize only by the number of threads
// that raced past the end (each thread increments at most once per segment it finds full or drained), so
// they cannot wrap. There is no global position to wrap: 2^31 and 2^32 enqueues just create more
// segments. (A test hook shrinks SegmentSize to force thousands of segment transitions instead.)
//
// Memory reclamation: the original needs hazard pointers to free drained segments; in .NET the GC frees a
// segment once no thread references it, so none are needed and there is no ABA on segment references
// (a segment cannot be reused while referenced). Taken values are cleared, so a drained segment that a slow
// thread still references keeps no items alive.
//
// Garbage: one segment (SegmentSize slots) per SegmentSize enqueues. Enqueuers that overshoot a full
// segment first spin briefly for the thread that drew index SegmentSize to link the next one, and a
// segment that loses the race to be linked is reused by its allocator's next attempt, so losing segments
// are rare and at most one per thread that overshot. Nothing per operation.
//
// Failure windows (not lock-free in the strict sense for enqueuers, as in the original): an enqueuer whose
// slots keep being poisoned by dequeuers overtaking it retries forever in theory; in practice each retry
// lands on a later index and the dequeuers run out of poisonable slots as soon as they see the queue empty.
// A preempted enqueuer (between its FAA and its state CAS) delays nobody: dequeuers poison its slot and move
// on. A preempted dequeuer (between its FAA and its exchange) delays nobody either; its item stays in the
// slot until it resumes (other dequeuers do not wait for it, so that item may leave after later items of
// other producers; each producer's own order is kept because a producer's next enqueue starts after its
// previous one completed).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Unjucks.LockFree;

/// <summary>
/// An unbounded multi-producer, multi-consumer FIFO queue built for many threads: fetch-and-add indexed
/// segments (Ramalhete and Correia's FAAArrayQueue). Any number of threads may enqueue and dequeue at the
/// same time.
/// </summary>
/// <remarks>
/// <para>Each operation costs one fetch-and-add and one compare-and-swap (or exchange) in the common case, so
/// throughput under contention stays near the fetch-and-add limit of one cache line instead of collapsing
/// in CAS retry loops. Each producer's items leave in the order that producer enqueued them.</para>
/// <para>Memory: one segment of 1024 slots is allocated per 1024 enqueues and dropped once drained; there
/// is no per-operation allocation. Dequeued values are cleared from their slots at once.</para>
/// <para>Progress: dequeuers never wait for a preempted enqueuer (they skip its slot, which makes the
/// enqueuer retry at a later slot), and no operation waits for a preempted thread. In theory an enqueuer
/// can be overtaken by dequeuers forever; in practice it lands on a later slot within a few retries.</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public sealed class MpmcQueue<T>
{
    /// <summary>The number of slots per segment.</summary>
    public const int DefaultSegmentSize = 1024;

    private const int Empty = 0;
    private const int Written = 1;
    private const int Taken = 2;

    // How many short pauses a dequeuer waits for a claimed slot to be published before poisoning it.
    private const int SpinsBeforePoison = 64;

    private readonly int _segmentSize;

    // Swung forward by CAS about once per segment. Head and tail are read on every operation and written
    // rarely, so they share a line; the hot per-operation counters live padded inside each segment.
    private Segment _head;
    private Segment _tail;

    /// <summary>Creates an empty queue.</summary>
    public MpmcQueue()
        : this(DefaultSegmentSize)
    {
    }

    /// <summary>Test hook: a queue with <paramref name="segmentSize"/> slots per segment (small sizes force
    /// segment transitions under contention).</summary>
    internal MpmcQueue(int segmentSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        _segmentSize = segmentSize;
        var first = new Segment(segmentSize);
        _head = first;
        _tail = first;
        // Plain stores: published to other threads by whatever hands them the queue reference.
    }

    /// <summary>
    /// A snapshot: true when no item is in the queue. Items whose enqueue has claimed a slot but not yet
    /// completed count as present.
    /// </summary>
    public bool IsEmpty
    {
        get
        {
            // Acquire: pairs with the CAS that swung _head, so the segment's fields are visible.
            Segment segment = Volatile.Read(ref _head);
            while (true)
            {
                // Acquire loads of both indices; pair with the fetch-and-adds in Enqueue/TryDequeue.
                long deq = Volatile.Read(ref segment.DeqIdx.Value);
                long enq = Math.Min(Volatile.Read(ref segment.EnqIdx.Value), _segmentSize);
                if (deq < enq)
                {
                    return false;
                }

                // Acquire: pairs with the CAS that linked next (the new segment's contents are visible).
                Segment? next = Volatile.Read(ref segment.Next);
                if (next is null)
                {
                    return true;
                }

                segment = next;
            }
        }
    }

    /// <summary>
    /// A snapshot of the number of items: it walks the segments from head to tail (O(number of segments),
    /// one per 1024 items), counts items whose enqueue has claimed a slot but not yet completed, and may be
    /// stale by the time it is read. Meant for metrics, not for control decisions.
    /// </summary>
    public int Count
    {
        get
        {
            long count = 0;
            // Acquire loads throughout; they pair with the fetch-and-adds on the indices and the CAS that
            // swung _head or linked Next. No stronger ordering is needed for a snapshot.
            for (Segment? segment = Volatile.Read(ref _head); segment is not null; segment = Volatile.Read(ref segment.Next))
            {
                long deq = Math.Min(Volatile.Read(ref segment.DeqIdx.Value), _segmentSize);
                long enq = Math.Min(Volatile.Read(ref segment.EnqIdx.Value), _segmentSize);
                count += Math.Max(0, enq - deq);
            }

            return (int)Math.Min(count, int.MaxValue);
        }
    }

    /// <summary>Test hook: the number of segments from head to tail (1 when head == tail). Acquire loads, like
    /// <see cref="Count"/>; tests call it while no other thread runs.</summary>
    internal int SegmentCount
    {
        get
        {
            int n = 1;
            for (Segment? s = Volatile.Read(ref _head).Next; s is not null; s = Volatile.Read(ref s.Next))
            {
                n++;
            }

            return n;
        }
    }

    /// <summary>Test hook: takes the next enqueue index without publishing it, as an enqueuer preempted
    /// between its fetch-and-add and its state CAS would. Returns the segment, opaque to tests.</summary>
    internal object ClaimEnqueueForTest(out long index)
    {
        Segment tail = Volatile.Read(ref _tail); // acquire, as in Enqueue
        index = Interlocked.Increment(ref tail.EnqIdx.Value) - 1; // the same claim as Enqueue
        if (index >= _segmentSize)
        {
            throw new InvalidOperationException("Test hook: the tail segment is full.");
        }

        return tail;
    }

    /// <summary>Test hook: the second half of an enqueue claimed by <see cref="ClaimEnqueueForTest"/>; false
    /// when a dequeuer poisoned the slot meanwhile (Enqueue would then retry at a new index).</summary>
    internal bool PublishEnqueueForTest(object segment, long index, T item)
    {
        ref Slot slot = ref ((Segment)segment).Slots[index];
        slot.Value = item;
        // The same full-fence CAS as Enqueue.
        if (Interlocked.CompareExchange(ref slot.State, Written, Empty) == Empty)
        {
            return true;
        }

        slot.Value = default!;
        return false;
    }

    /// <summary>Adds <paramref name="item"/> at the tail. Never fails; allocates a segment once per
    /// 1024 enqueues.</summary>
    /// <param name="item">The item to add.</param>
    public void Enqueue(T item)
    {
        Segment? spare = null; // a segment we allocated but failed to link: private, reused on the next try
        while (true)
        {
            // Acquire: pairs with the CAS that swung _tail (and the CAS that linked the segment), so the
            // segment's array and indices are visible.
            Segment tail = Volatile.Read(ref _tail);
            // Claim an index. Full fence (Interlocked); what we need is atomicity: each index has one enqueuer.
            long idx = Interlocked.Increment(ref tail.EnqIdx.Value) - 1;
            if (idx < _segmentSize)
            {
                ref Slot slot = ref tail.Slots[idx];
                slot.Value = item;
                // Full-fence CAS: publishes Value before State says Written; pairs with the exchange in
                // TryDequeue. Fails only if a dequeuer already poisoned the slot (Taken).
                if (Interlocked.CompareExchange(ref slot.State, Written, Empty) == Empty)
                {
                    return;
                }

                // Poisoned: no dequeuer will ever read this Value. Clear it (for the GC) and retry.
                if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                {
                    slot.Value = default!;
                }

                continue;
            }

            // The segment is full. Acquire: pairs with the CAS that linked next.
            Segment? next = Volatile.Read(ref tail.Next);
            if (next is null && idx != _segmentSize)
            {
                // The thread that drew index == SegmentSize is about to link the next segment; wait for it
                // briefly (spinning only, never yielding) rather than allocate a segment that would
                // probably lose the race and become garbage. If it is slow (preempted), allocate anyway:
                // no enqueuer ever depends on another one.
                var wait = new Backoff();
                while (!wait.NextSpinWillYield && (next = Volatile.Read(ref tail.Next)) is null)
                {
                    wait.Spin(); // acquire load above pairs with the CAS that links Next
                }
            }

            if (next is not null)
            {
                // Help swing the tail (full-fence CAS; failure means someone else did).
                Interlocked.CompareExchange(ref _tail, next, tail);
                continue;
            }

            // Allocate the next segment with our item already in slot 0 (or reuse our unpublished spare).
            Segment segment = spare ?? new Segment(_segmentSize);
            spare = null;
            segment.Slots[0].Value = item;
            segment.Slots[0].State = Written;
            segment.EnqIdx.Value = 1;
            // Full-fence CAS: publishes the new segment's contents (plain stores above) before its reference;
            // pairs with the acquire loads of Next in Enqueue, TryDequeue and IsEmpty.
            if (Interlocked.CompareExchange(ref tail.Next, segment, null) is null)
            {
                // Swing the tail; if this fails another thread already helped.
                Interlocked.CompareExchange(ref _tail, segment, tail);
                return;
            }

            // Lost the race to link: no other thread has seen this segment, so keep it for our next try
            // (cleared, so that it does not keep the item alive if we never need it).
            segment.Slots[0].Value = default!;
            segment.Slots[0].State = Empty;
            segment.EnqIdx.Value = 0;
            spare = segment;
        }
    }

    /// <summary>Removes the item at the head, if there is one.</summary>
    /// <param name="item">The removed item, or the default value when the queue was empty.</param>
    /// <returns>True when an item was removed; false when the queue was empty.</returns>
    public bool TryDequeue([MaybeNullWhen(false)] out T item)
    {
        while (true)
        {
            // Acquire: pairs with the CAS that swung _head.
            Segment head = Volatile.Read(ref _head);
            // Empty check before taking an index, so that dequeuers on an empty queue do not burn indices
            // (FAAArrayQueue does the same). Acquire loads; pair with the fetch-and-adds on the indices and
            // the CAS that linked Next.
            if (Volatile.Read(ref head.DeqIdx.Value) >= Volatile.Read(ref head.EnqIdx.Value)
                && Volatile.Read(ref head.Next) is null)
            {
                item = default;
                return false;
            }

            // Claim an index. Full fence; atomicity is what matters: each index has one dequeuer.
            long idx = Interlocked.Increment(ref head.DeqIdx.Value) - 1;
            if (idx >= _segmentSize)
            {
                // Drained. Acquire: pairs with the CAS that linked Next.
                Segment? next = Volatile.Read(ref head.Next);
                if (next is null)
                {
                    item = default;
                    return false;
                }

                // Swing the head (full-fence CAS; failure means someone else did).
                Interlocked.CompareExchange(ref _head, next, head);
                continue;
            }

            ref Slot slot = ref head.Slots[idx];
            // Fast path, no second atomic: the fetch-and-add above gave us idx exclusively, and an enqueuer
            // whose CAS Empty -> Written succeeded never touches the slot again, so once we see Written
            // nobody else can change the slot and marking it Taken would order nothing. Acquire load; pairs
            // with the enqueuer's CAS on State (a full fence), so its earlier write of Value is visible.
            int state = Volatile.Read(ref slot.State);
            // An enqueuer claimed idx (we only take indices below EnqIdx, bar races) and is between its
            // fetch-and-add and its CAS: give it a bounded moment to publish before poisoning the slot, since
            // a poisoned slot costs the enqueuer a retry and burns an index (a consumer right behind a
            // producer otherwise poisons often). Bounded, so a preempted enqueuer still delays nobody for long.
            // Acquire loads; same pairing as above.
            for (int spin = 0; state != Written && spin < SpinsBeforePoison; spin++)
            {
                Thread.SpinWait(8);
                state = Volatile.Read(ref slot.State);
            }

            if (state != Written)
            {
                // Still Empty: poison it, unless the enqueuer publishes first. Full-fence exchange; pairs with
                // the enqueuer's CAS on State: exactly one of the two wins the Empty state, and if the
                // enqueuer won we see Written and its write of Value is visible below.
                state = Interlocked.Exchange(ref slot.State, Taken);
            }

            if (state == Written)
            {
                item = slot.Value;
                if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                {
                    slot.Value = default!; // we own the slot now; do not keep the item alive
                }

                return true;
            }

            // Empty: we poisoned a slot whose enqueuer has not published; it will retry elsewhere.
        }
    }

    private struct Slot
    {
        public T Value;
        public int State;
    }

    private sealed class Segment
    {
        public readonly Slot[] Slots;

        // Fetch-and-added by dequeuers. Own 128-byte block.
        public CachePaddedLong DeqIdx;

        // Fetch-and-added by enqueuers. Own 128-byte block.
        public CachePaddedLong EnqIdx;

        // Linked once by CAS (null -> segment).
        public Segment? Next;

        public Segment(int size)
        {
            Slots = new Slot[size];
        }
    }
}
