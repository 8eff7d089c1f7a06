// MpmcQueue<T>.Ring: one bounded ring of the queue, a CRQ (Morrison & Afek, "Fast Concurrent Queues for x86
// Processors", PPoPP 2013) whose slots are reused cycle after cycle, so a queue whose backlog fits in its ring
// allocates nothing at all. The design and its proof sketch are in docs/lockfree.md; in short:
//
// Tickets. Tail and Head are 64-bit fetch-and-add counters. Ticket t maps to slot t & Mask in cycle
// t >> Shift, and each (slot, cycle) pair belongs to exactly one enqueue ticket and one dequeue ticket.
// Bit 62 of Tail is the Closed bit; tickets stay below 2^61 (centuries at any real rate).
//
// Slot word = (cycle << 2) | state, with state Free (0), Busy (1) or Full (2). A slot moves
//   (c, Free) -> (c, Busy) -> (c, Full) -> (c + 1, Free)     an item passes through cycle c
//   (c, Free) -> (c + 1, Free)                                 the dequeuer of cycle c skipped it (poison)
// Only the enqueuer of cycle c leaves (c, Free) for Busy (by CAS), only it writes Full, and only the dequeuer
// of cycle c moves the slot to cycle c + 1 (by a release store after taking the item, or by CAS when it
// poisons). .NET cannot CAS a T together with its cycle (CRQ uses a double-width CAS for that), so the
// enqueuer first takes the slot with the CAS to Busy, then writes the value, then publishes Full; a dequeuer
// that finds Busy waits for those two plain stores.
//
// Closing (LCRQ). An enqueuer that finds the ring full (its slot still holds an older cycle and
// t - Head >= capacity), or that keeps failing, closes the ring with a CAS that sets the Closed bit on Tail.
// ClosedTail records the exact boundary: every ticket below it was handed out before the close, none at or
// above it has an enqueuer. The closing enqueuer gives its own ticket back when no one took a later one, so a
// single-threaded queue's tickets stay exact. The queue then links a new ring after this one.
using System.Diagnostics;
using System.Numerics;

namespace Unjucks.LockFree;

public sealed partial class MpmcQueue<T>
{
    private const long ClosedBit = 1L << 62;

    // Slot states (the low two bits of a slot word).
    private const long Free = 0;
    private const long Busy = 1;
    private const long Full = 2;

    // ClosedTail until the ring is closed.
    private const long NotClosed = long.MaxValue;

    // How many short pauses a dequeuer waits for an enqueuer that holds its ticket to take the slot, and an
    // enqueuer waits for a slot still held by the previous cycle, before giving up on that ticket.
    private const int SpinsBeforeGivingUp = 64;

    // Failed tickets (poisoned or lapped) after which an enqueuer closes the ring and moves to a new one:
    // this bounds how long any enqueuer can be overtaken, which makes enqueue lock-free.
    private const int FailuresBeforeClosing = 32;

    private static long Word(long cycle, long state) => (cycle << 2) | state;

    private static long CycleOf(long word) => word >> 2;

    private struct Slot
    {
        public T Value;
        public long Word;
    }

    private sealed class Ring
    {
        public readonly Slot[] Slots;
        public readonly long Mask;
        public readonly int Shift;
        public readonly long Start;

        // Fetch-and-added by dequeuers. Own 128-byte block.
        public CachePaddedLong Head;

        // Fetch-and-added by enqueuers; bit 62 is the Closed bit. Own 128-byte block.
        public CachePaddedLong Tail;

        // Written once, right after the CAS that closes the ring; NotClosed before.
        public long ClosedTail = NotClosed;

        // Linked once by CAS (null -> ring), only after this ring was closed.
        public Ring? Next;

        public Ring(int capacity, long start)
        {
            Debug.Assert(capacity > 0 && (capacity & (capacity - 1)) == 0, "capacity is a power of two");
            Slots = new Slot[capacity];
            Mask = capacity - 1;
            Shift = BitOperations.Log2((uint)capacity);
            Start = start;
            for (long t = start; t < start + capacity; t++)
            {
                Slots[t & Mask].Word = Word(t >> Shift, Free); // plain: published with the ring's reference
            }

            Head.Value = start;
            Tail.Value = start;
        }

        public int Capacity => Slots.Length;

        /// <summary>Places <paramref name="item"/> at the first ticket of a ring no other thread has seen yet.
        /// Plain stores: the CAS that links the ring publishes them.</summary>
        public void PlaceFirst(T item)
        {
            ref Slot slot = ref Slots[Start & Mask];
            slot.Value = item;
            slot.Word = Word(Start >> Shift, Full);
            Tail.Value = Start + 1;
        }

        /// <summary>Undoes <see cref="PlaceFirst"/> after the ring lost the race to be linked (still private).</summary>
        public void UndoFirst()
        {
            ref Slot slot = ref Slots[Start & Mask];
            slot.Value = default!;
            slot.Word = Word(Start >> Shift, Free);
            Tail.Value = Start;
        }

        /// <summary>Enqueues into this ring; false when the ring is closed (the caller moves to the next
        /// ring). <paramref name="closedHere"/> says whether this call closed it.</summary>
        public bool TryEnqueue(T item, out bool closedHere)
        {
            closedHere = false;
            int failures = 0;
            while (true)
            {
                // Claim a ticket. Full fence; what matters is atomicity: each ticket has one enqueuer.
                long t = Interlocked.Increment(ref Tail.Value) - 1;
                if ((t & ClosedBit) != 0)
                {
                    return false;
                }

                ref Slot slot = ref Slots[t & Mask];
                long cycle = t >> Shift;
                long free = Word(cycle, Free);
                // Full-fence CAS (c, Free) -> (c, Busy): takes the slot for this cycle. It races with the
                // poisoning CAS of the dequeuer of the same ticket: exactly one of the two leaves (c, Free).
                long seen = Interlocked.CompareExchange(ref slot.Word, Word(cycle, Busy), free);
                if (seen != free && CycleOf(seen) < cycle)
                {
                    // The slot still holds an older cycle. Acquire load of Head (pairs with the dequeuers'
                    // fetch-and-adds): a whole ring of tickets ahead of the oldest dequeuer means full.
                    if (t - Volatile.Read(ref Head.Value) >= Slots.Length)
                    {
                        closedHere = Close(t);
                        return false;
                    }

                    // A slow operation a ring behind: wait for it briefly.
                    seen = WaitForOwnCycle(ref slot, cycle);
                }

                if (seen == free)
                {
                    slot.Value = item; // plain: the slot is Busy, ours alone
                    // Release: the value is written before the word says Full; pairs with the dequeuer's
                    // acquire load of the word.
                    Volatile.Write(ref slot.Word, Word(cycle, Full));
                    return true;
                }

                // The ticket is lost (poisoned by its dequeuer, or still lapped): take another one. Give up on
                // this ring after too many, so that no enqueuer is overtaken forever.
                if (++failures >= FailuresBeforeClosing)
                {
                    closedHere = Close(t);
                    return false;
                }
            }
        }

        // The enqueuer's bounded wait for its slot to reach its cycle. Returns the free word once the CAS to Busy
        // succeeded, or the last word seen (a later cycle when poisoned, an earlier one when still lapped).
        private static long WaitForOwnCycle(ref Slot slot, long cycle)
        {
            long free = Word(cycle, Free);
            long seen = 0;
            for (int spin = 0; spin < SpinsBeforeGivingUp; spin++)
            {
                Thread.SpinWait(8);
                // Acquire load; pairs with the release store (or poisoning CAS) of the previous cycle's dequeuer.
                seen = Volatile.Read(ref slot.Word);
                if (seen == free)
                {
                    // The same full-fence CAS as in TryEnqueue.
                    seen = Interlocked.CompareExchange(ref slot.Word, Word(cycle, Busy), free);
                }

                if (seen == free || CycleOf(seen) > cycle)
                {
                    return seen;
                }
            }

            return seen;
        }

        /// <summary>Closes the ring for enqueuers. <paramref name="ownTicket"/> is the caller's failed ticket,
        /// given back when no later ticket was taken. True when this call closed the ring.</summary>
        private bool Close(long ownTicket)
        {
            while (true)
            {
                // Acquire load; the CAS below re-checks it.
                long current = Volatile.Read(ref Tail.Value);
                if ((current & ClosedBit) != 0)
                {
                    return false;
                }

                long boundary = current == ownTicket + 1 ? ownTicket : current;
                // Full-fence CAS: after it every fetch-and-add on Tail returns the Closed bit, so no ticket at
                // or above the boundary gets an enqueuer.
                if (Interlocked.CompareExchange(ref Tail.Value, boundary | ClosedBit, current) == current)
                {
                    // Release: pairs with the acquire load in Limit, which waits for it.
                    Volatile.Write(ref ClosedTail, boundary);
                    return true;
                }
            }
        }

        /// <summary>The dequeuer's close: only if no enqueuer has taken <paramref name="ticket"/> yet, so that
        /// none ever will (used instead of waiting for a slot a slow operation still holds).</summary>
        private void CloseBelowOrAt(long ticket)
        {
            while (true)
            {
                long current = Volatile.Read(ref Tail.Value); // acquire; the CAS re-checks it
                if ((current & ClosedBit) != 0 || current > ticket)
                {
                    return;
                }

                // Full-fence CAS, as in Close.
                if (Interlocked.CompareExchange(ref Tail.Value, current | ClosedBit, current) == current)
                {
                    Volatile.Write(ref ClosedTail, current); // release, as in Close
                    return;
                }
            }
        }

        /// <summary>The number of tickets that can carry an item: Tail while open, the boundary once closed.
        /// A closed ring's boundary is written right after the closing CAS; wait for it if needed.</summary>
        public long Limit(long tail)
        {
            if ((tail & ClosedBit) == 0)
            {
                return tail;
            }

            long boundary;
            var wait = new Backoff();
            // Acquire load; pairs with the release store in Close. The closer is two instructions from it.
            while ((boundary = Volatile.Read(ref ClosedTail)) == NotClosed)
            {
                wait.Spin();
            }

            return boundary;
        }

        /// <summary>Dequeues from this ring; false when every ticket that can carry an item is taken.</summary>
        public bool TryDequeue(out T item)
        {
            while (true)
            {
                // Empty check before claiming, so that dequeuers of an empty ring do not burn tickets. Acquire
                // loads; pair with the fetch-and-adds (and the closing CAS) on the counters.
                long head = Volatile.Read(ref Head.Value);
                if (head >= Limit(Volatile.Read(ref Tail.Value)))
                {
                    item = default!;
                    return false;
                }

                // Claim a ticket. Full fence; atomicity is what matters: each ticket has one dequeuer.
                long h = Interlocked.Increment(ref Head.Value) - 1;
                if (TryTake(h, out item))
                {
                    return true;
                }
            }
        }

        // Resolves dequeue ticket h: takes its item, or makes sure no enqueuer will ever put one there.
        public bool TryTake(long h, out T item)
        {
            ref Slot slot = ref Slots[h & Mask];
            long cycle = h >> Shift;
            var wait = new Backoff();
            int spins = 0;
            while (true)
            {
                // Acquire: pairs with the enqueuer's release store of Full, so its value is visible.
                long word = Volatile.Read(ref slot.Word);
                long wordCycle = CycleOf(word);
                Debug.Assert(wordCycle <= cycle, "only this ticket's dequeuer moves the slot past its cycle");
                if (wordCycle == cycle)
                {
                    long state = word & 3;
                    if (state == Full)
                    {
                        item = slot.Value;
                        slot.Value = default!; // plain: the slot is ours until the store below; do not keep the item alive
                        // Release: our read and clear of Value happen before the next cycle's enqueuer can take
                        // the slot (its CAS acquires this store).
                        Volatile.Write(ref slot.Word, Word(cycle + 1, Free));
                        return true;
                    }

                    if (state == Busy)
                    {
                        wait.Spin(); // the enqueuer is between its CAS and its publish: two plain stores
                        continue;
                    }

                    // Free: the enqueuer of this ticket has not taken the slot. Acquire load of Tail.
                    long tail = Volatile.Read(ref Tail.Value);
                    bool closed = (tail & ClosedBit) != 0;
                    if (!closed && h < tail && spins++ < SpinsBeforeGivingUp)
                    {
                        // It holds the ticket and is a few instructions away: a moment's wait spares it a retry.
                        Thread.SpinWait(8);
                        continue;
                    }

                    if (closed && h >= Limit(tail))
                    {
                        break; // no enqueuer has or will have this ticket
                    }

                    // Poison: full-fence CAS (c, Free) -> (c + 1, Free), racing the enqueuer's CAS to Busy.
                    if (Interlocked.CompareExchange(ref slot.Word, Word(cycle + 1, Free), word) == word)
                    {
                        break;
                    }

                    continue; // the enqueuer won: it is publishing
                }

                // The slot still holds an older cycle: an operation a full ring behind is slow. If no enqueuer
                // has this ticket yet, close the ring below it rather than wait (acquire load of Tail).
                long tailNow = Volatile.Read(ref Tail.Value);
                if ((tailNow & ClosedBit) == 0 && h >= tailNow)
                {
                    CloseBelowOrAt(h);
                    continue;
                }

                if ((tailNow & ClosedBit) != 0 && h >= Limit(tailNow))
                {
                    break;
                }

                // Its enqueuer exists and may still fill the slot once the older cycle leaves: wait.
                wait.Spin();
            }

            item = default!;
            return false;
        }

        /// <summary>Counts the published (or being published) items in this ring, stopping at
        /// <paramref name="stopAt"/>. Acquire loads; a snapshot.</summary>
        public int CountItems(int stopAt)
        {
            long head = Volatile.Read(ref Head.Value);
            long end = Math.Min(Volatile.Read(ref Tail.Value) & ~ClosedBit, head + Slots.Length);
            int count = 0;
            for (long t = head; t < end && count < stopAt; t++)
            {
                long word = Volatile.Read(ref Slots[t & Mask].Word);
                long cycle = t >> Shift;
                if (word == Word(cycle, Full) || word == Word(cycle, Busy))
                {
                    count++;
                }
            }

            return count;
        }
    }
}
