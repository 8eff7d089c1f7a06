// Single-producer single-consumer ring of task ids in shared memory: the coordinator's way to place tasks
// on an agent. A Chase-Lev deque is owner-push-only, so the coordinator (another process) cannot push into
// an agent's deque; it enqueues into the agent's inbox, and the agent moves ids from its inbox into its own
// deque (or runs them directly).
//
// Reference: L. Lamport, "Specifying concurrent program modules", TOPLAS 1983 (the wait-free SPSC ring);
// the cached-index habit of Rigtorp's SPSCQueue is left out to keep every shared access explicit.
//
// Invariants (h = head, written only by the consumer; t = tail, written only by the producer; 64-bit,
// compared by wrapping difference)
//   S1  0 <= t - h <= capacity; slots [h, t) hold ids.
//   S2  The producer writes slot t only when t - h < capacity for an h it loaded with acquire, i.e. after
//       the consumer's release store of h that freed that slot.
// Failure windows
//   - Consumer dies after reading slot h but before its release store of head: the id stays in [h, t);
//     DrainDead returns it again (a duplicate, harmless: the task table leases with a CAS).
//   - Producer dies between writing a slot and publishing tail: the id was never enqueued; the task table
//     still says Queued(agent) and Recover/CollectQueued find it.
using System.Runtime.CompilerServices;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// Byte layout of a <see cref="SharedTaskInbox"/>.
/// </summary>
/// <remarks>
/// <code>
/// offset   size        field     writer
/// -------  ----------  --------  -------------------------------
/// 0        8           capacity  initializer (immutable, released last)
/// 128      8           head      consumer (the agent)
/// 256      8           tail      producer (the coordinator)
/// 384      8*capacity  ring      producer
/// </code>
/// The same shape as <see cref="TaskDequeLayout"/> (head in place of top, tail in place of bottom).
/// </remarks>
public static class TaskInboxLayout
{
    /// <summary>Offset of the immutable capacity.</summary>
    public const int CapacityOffset = 0;

    /// <summary>Offset of the consumer's counter.</summary>
    public const int HeadOffset = CapacityOffset + TaskDequeLayout.LineBytes;

    /// <summary>Offset of the producer's counter.</summary>
    public const int TailOffset = HeadOffset + TaskDequeLayout.LineBytes;

    /// <summary>Offset of the ring.</summary>
    public const int RingOffset = TailOffset + TaskDequeLayout.LineBytes;

    /// <summary>Bytes an inbox of <paramref name="capacity"/> slots occupies (a multiple of 128).</summary>
    public static long SizeOf(int capacity) => TaskDequeLayout.SizeOf(capacity); // same shape, same rounding.

    /// <summary>Writes an empty inbox at <paramref name="baseAddress"/> (not yet shared).</summary>
    public static unsafe void Initialize(byte* baseAddress, int capacity) => TaskDequeLayout.InitializeAt(baseAddress, capacity, 0);
}

/// <summary>
/// An agent's inbox: the coordinator (one producer thread) enqueues task ids, the agent's worker (one consumer
/// thread) dequeues them. Wait-free on both sides.
/// </summary>
public sealed unsafe class SharedTaskInbox
{
    private readonly byte* _base;
    private readonly long _mask;

    /// <summary>Attaches to an inbox initialized by <see cref="TaskInboxLayout.Initialize"/>.</summary>
    /// <param name="baseAddress">Start of the inbox inside a mapping that outlives this handle.</param>
    public SharedTaskInbox(byte* baseAddress)
    {
        Capacity = SharedTaskDeque.ReadCapacity(baseAddress); // same capacity word and release/acquire pairing.
        _base = baseAddress;
        _mask = Capacity - 1;
    }

    /// <summary>Slots.</summary>
    public int Capacity { get; }

    /// <summary>Ids waiting (a snapshot).</summary>
    public int Count
    {
        get
        {
            long h = Volatile.Read(ref Head); // acquire: head before tail keeps the difference non-negative.
            long t = Volatile.Read(ref Tail); // acquire.
            long n = t - h;
            return n <= 0 ? 0 : (int)Math.Min(n, Capacity);
        }
    }

    /// <summary>Producer only: enqueues <paramref name="taskId"/>; false when full.</summary>
    public bool TryEnqueue(long taskId)
    {
        long t = Volatile.Read(ref Tail); // own counter.
        // Acquire: pairs with the consumer's release store of head, so the slot we reuse has been read (S2).
        long h = Volatile.Read(ref Head);
        if (t - h >= Capacity)
        {
            if (t - h > Capacity)
            {
                throw Damaged(h, t);
            }

            return false;
        }

        if (t - h < 0)
        {
            throw Damaged(h, t);
        }

        Volatile.Write(ref Slot(t), taskId); // published by the release store below.
        // Release: publishes the slot; pairs with the acquire load of tail in TryDequeue.
        Volatile.Write(ref Tail, t + 1);
        return true;
    }

    /// <summary>Consumer only: dequeues the oldest id.</summary>
    public bool TryDequeue(out long taskId)
    {
        long h = Volatile.Read(ref Head); // own counter.
        // Acquire: pairs with the producer's release store of tail; the slot's id is visible.
        long t = Volatile.Read(ref Tail);
        if (t - h <= 0)
        {
            if (t - h < 0)
            {
                throw Damaged(h, t);
            }

            taskId = 0;
            return false;
        }

        if (t - h > Capacity)
        {
            // No producer runs more than Capacity ahead: draining this would loop for as long as the words say.
            throw Damaged(h, t);
        }

        taskId = Volatile.Read(ref Slot(h)); // ordered after the acquire load of tail above.
        // Release: the slot read above happens before the producer may reuse it (pairs with TryEnqueue's acquire of head).
        Volatile.Write(ref Head, h + 1);
        return true;
    }

    /// <summary>
    /// For a recoverer once the consumer is confirmed dead: takes every waiting id into <paramref name="into"/>
    /// (acting as the consumer from now on).
    /// </summary>
    public int DrainDead(ICollection<long> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int n = 0;
        while (TryDequeue(out long id))
        {
            into.Add(id);
            n++;
        }

        return n;
    }

    /// <summary>The head and tail of a ring that only ever holds 0 to Capacity ids cannot be this far apart.</summary>
    private SharedRegionFormatException Damaged(long head, long tail) => new(
        $"A task inbox holds {tail - head} ids in a ring of {Capacity} (head {head}, tail {tail}): the session file is damaged. Remove it (AgentSession.RemoveStale) and start the session again.");

    // SAFETY (three accessors): _base is an initialized inbox block whose mapping outlives the handle; offsets are
    // layout constants; slot indexes are masked into the ring. Every use is Volatile.
    private ref long Head
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref *(long*)(_base + TaskInboxLayout.HeadOffset);
    }

    private ref long Tail
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref *(long*)(_base + TaskInboxLayout.TailOffset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long Slot(long index) => ref *((long*)(_base + TaskInboxLayout.RingOffset) + (index & _mask));
}
