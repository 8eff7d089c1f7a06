// The thief side of the shared Chase-Lev deque: single steals, one-CAS batch steals, draining a dead
// owner's deque. Algorithm, invariants (I1..I5), cross-process fence argument and failure windows are in
// the header of SharedTaskDeque.cs; this file names which of them each step relies on.
namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// A handle that any thread of any process may use to steal task ids (oldest first) from a
/// <see cref="SharedTaskDeque"/>. Handles are cheap; create one per victim and reuse it.
/// </summary>
public sealed unsafe class SharedTaskStealer
{
    private readonly byte* _base;
    private readonly long _mask;

    /// <summary>Attaches a stealer to a deque initialized by <see cref="TaskDequeLayout.Initialize"/>.</summary>
    /// <param name="baseAddress">Start of the deque block inside a mapping that outlives this handle.</param>
    /// <exception cref="ArgumentException">The block does not hold an initialized deque.</exception>
    public SharedTaskStealer(byte* baseAddress)
    {
        _base = baseAddress;
        Capacity = SharedTaskDeque.ReadCapacity(baseAddress);
        _mask = Capacity - 1;
    }

    /// <summary>Slots in the ring (fixed).</summary>
    public int Capacity { get; }

    /// <summary>Ids queued right now (a snapshot used to pick the most loaded victim).</summary>
    public int Count => SharedTaskDeque.SnapshotCount(_base);

    /// <summary>Takes the oldest id. Retries while other thieves win races; false only when the deque looked empty.</summary>
    public bool TrySteal(out long taskId)
    {
        while (true)
        {
            // Acquire: top before bottom (Lê et al. steal).
            long t = Volatile.Read(ref SharedTaskDeque.Top(_base));
            // Full fence (the steal's SEQ_CST fence): pairs with the Interlocked.Exchange of bottom in TryPop so that
            // either we see the owner's decrement or the owner sees our top (they cannot both take the last item).
            Interlocked.MemoryBarrier();
            // Acquire: pairs with the release store of bottom in Push, making slots [t, b) readable.
            long b = Volatile.Read(ref SharedTaskDeque.Bottom(_base));
            if (b - t <= 0)
            {
                taskId = 0;
                return false;
            }

            // May read a slot the owner is overwriting only if top has moved on, in which case the CAS fails (I2).
            long item = Volatile.Read(ref SharedTaskDeque.Slot(_base, _mask, t));
            // Full fence + CAS: claims slot t against other thieves and the owner's contested pop (I3, I5).
            if (Interlocked.CompareExchange(ref SharedTaskDeque.Top(_base), t + 1, t) == t)
            {
                taskId = item;
                return true;
            }
        }
    }

    /// <summary>
    /// Moves up to half of this deque's ids (at most <paramref name="max"/> and
    /// <see cref="TaskDequeLayout.MaxStealBatch"/>) into <paramref name="destination"/>, which the caller owns,
    /// claiming them with one CAS on this deque's top.
    /// </summary>
    /// <returns>Ids moved (0 when this deque looked empty or the destination is full).</returns>
    /// <exception cref="ArgumentException">The destination is this same deque.</exception>
    public int StealBatch(SharedTaskDeque destination, int max)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.BaseAddress == _base)
        {
            throw new ArgumentException("A deque cannot steal from itself; pass another agent's stealer.", nameof(destination));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        max = Math.Min(max, TaskDequeLayout.MaxStealBatch);
        while (true)
        {
            int room = destination.FreeSlots();
            if (room == 0)
            {
                return 0;
            }

            long t = Volatile.Read(ref SharedTaskDeque.Top(_base)); // acquire: top before bottom.
            // Full fence: as in TrySteal, pairs with the owner's Interlocked.Exchange of bottom in TryPop.
            Interlocked.MemoryBarrier();
            long b = Volatile.Read(ref SharedTaskDeque.Bottom(_base)); // acquire: pairs with Push's release of bottom.
            long size = b - t;
            if (size <= 0)
            {
                return 0;
            }

            int n = (int)Math.Min(Math.Min((size + 1) / 2, max), room);
            // Read first, keep only if the CAS wins: the ids are staged in the destination's own slots above its
            // bottom (owner-private until published, I2 on the destination), so a lost race costs nothing.
            long db = destination.OwnerBottom;
            for (int i = 0; i < n; i++)
            {
                // Victim slot read after the acquire of bottom (pairs with Push's release); validated by the CAS below.
                destination.Stage(db + i, Volatile.Read(ref SharedTaskDeque.Slot(_base, _mask, t + i)));
            }

            // Full fence + CAS: ONE claim of [t, t+n) (I4). The victim's owner pops without CAS only slots at or
            // above t + MaxStealBatch (I5), so no id in [t, t+n) can also have been popped by it.
            if (Interlocked.CompareExchange(ref SharedTaskDeque.Top(_base), t + n, t) == t)
            {
                destination.PublishStaged(db, n);
                return n;
            }
        }
    }

    /// <summary>
    /// For a recoverer, once the owner is confirmed dead: takes every queued id into <paramref name="into"/>
    /// and then the slot at bottom, which holds the item of a <see cref="SharedTaskDeque.TryPop"/> that was in
    /// flight at death (or a stale, already handled id). Consumers must filter ids through the task table.
    /// </summary>
    /// <returns>Ids taken from [top, bottom) (the candidate is added to <paramref name="into"/> but not counted).</returns>
    public int DrainDead(ICollection<long> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int n = 0;
        while (TrySteal(out long id))
        {
            into.Add(id);
            n++;
        }

        // Acquire: the owner is dead, so bottom no longer moves. A pop in flight at death left bottom decremented
        // to the index of the item it was taking, so the slot AT bottom is that item (or an older, handled id).
        long b = Volatile.Read(ref SharedTaskDeque.Bottom(_base));
        long candidate = Volatile.Read(ref SharedTaskDeque.Slot(_base, _mask, b));
        if (candidate != TaskDequeLayout.EmptySlot)
        {
            into.Add(candidate);
        }

        return n;
    }
}
