// WorkStealingDeque<T>: the Chase-Lev work-stealing deque with a growable circular array.
//
// References:
//   D. Chase, Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005 (the algorithm, growable array).
//   N. M. Lê, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and Efficient Work-Stealing for Weak Memory
//   Models", PPoPP 2013 (the fences; this file follows their C11 version, Fig. 1).
//
// State: _bottom (owner only writes), _top (thieves and the owner CAS it), both 64-bit in their own
// CachePaddedLong, and _buffer, a power-of-two array (replaced by a twice-as-large copy when full).
// Items live at positions [top, bottom); position p is in slot p & mask of the current buffer.
//
// Invariants:
//   top only increases (one CAS per claimed item), so it has no ABA; positions are 64-bit and compared by
//   wrapping differences.
//   Only the owner writes _bottom, _buffer and slots. A thief uses what it read from a slot only if its CAS
//   of top from t to t + 1 succeeds; that CAS is the sole claim, so a thief that raced with a push, a pop,
//   a grow or a clearing simply discards what it read.
//   The owner takes position b without a CAS when, after its full fence, it sees top < b: no thief can
//   claim b then (Lê et al., Sec. 3). The last item (top == b) is contended through a CAS on top.
//   Deviation: when the owner's first load of top already shows exactly one item, TryPop goes straight to
//   that CAS without reserving bottom or fencing (the CAS alone settles the one contended position), so a
//   push+pop pair costs one atomic instead of two. See docs/lockfree.md, "Pop 0".
//
// Memory ordering in .NET: Volatile.Read/Write are acquire/release only. The two places where Lê et al. need
// a sequentially consistent fence (TryPop: store bottom, then load top; TrySteal: load top, then load
// bottom) use Interlocked.Exchange / Interlocked.MemoryBarrier, both full fences.
//
// Growth: a grown buffer is published with a release store before the bottom that uses it; a thief loads
// the buffer after bottom (acquire), so it sees the buffer that holds every position below the bottom it
// read. An older buffer stays valid for positions it held (the owner never writes into a retired buffer);
// the GC keeps it alive while a thief still references it, which is why no hazard pointers or epochs are
// needed here.
//
// GC reachability of taken items: TryPop clears the slot it took. A slot taken by a thief cannot be cleared
// by that thief (the owner may be reusing the slot for a new push), so the owner clears it: every Push and
// every TryPop sweeps the slots of positions in [cleared, top) that have not been reused, before writing.
// A stolen item therefore stays referenced from the deque only until the owner's next Push or TryPop
// (through a retired buffer, until the last thief drops that buffer). StealHalf clears the thief-side copy
// of the items it read but failed to claim.
//
// Failure windows: TrySteal retries while it sees items but loses CAS races, so a thief can be delayed by
// other thieves but some thread always makes progress (lock-free). The owner's operations never wait.
// A thief preempted between reading a slot and its CAS delays nobody.
//
// StealHalf deviates from "one CAS for the whole batch": a batch claim of [t, t + n) with one CAS is not
// sound against the owner's CAS-free TryPop (the owner may pop position t + n - 1 after the thief read t and
// before its CAS, and both would return it), so StealHalf claims the batch one Chase-Lev steal at a time.
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Unjucks.LockFree;

/// <summary>
/// A Chase-Lev work-stealing deque: its owner thread pushes and pops at the bottom (newest first) without
/// contention, and any thread steals from the top (oldest first). The buffer grows as needed.
/// </summary>
/// <remarks>
/// <para><see cref="Push"/> and <see cref="TryPop"/> must only be called by the owner (one thread at a time;
/// the owner may change if the hand-over is synchronised, for example by a lock or a task continuation).
/// <see cref="TrySteal"/>, <see cref="Count"/> and <see cref="IsEmpty"/> may be called from any thread.
/// <see cref="StealHalf"/> must be called by the owner of the destination deque.</para>
/// <para>Push and TryPop never wait. TrySteal is lock-free: it retries only when it lost a race with another
/// thief or the owner that did take an item.</para>
/// <para>A taken item does not stay reachable from the deque: TryPop clears its slot at once, and slots
/// emptied by thieves are cleared by the owner's next Push or TryPop.</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public sealed class WorkStealingDeque<T>
{
    /// <summary>The largest number of items the deque can hold: 2^30.</summary>
    public const int MaxCapacity = 1 << 30;

    // Claimed by thieves and by the owner for the last item (CAS). Own 128-byte block.
    private CachePaddedLong _top;

    // Written only by the owner; read by thieves. Own 128-byte block.
    private CachePaddedLong _bottom;

    // Written only by the owner (on grow, release); read by thieves after _bottom (acquire).
    private T[] _buffer;

    // Owner-only: every slot of a position below this one has been cleared (or lies in a retired buffer).
    private long _cleared;

    /// <summary>Creates an empty deque.</summary>
    /// <param name="initialCapacity">The initial buffer size, rounded up to a power of two; from 1 to 2^30.
    /// The buffer doubles when full.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is below 1 or above 2^30.</exception>
    public WorkStealingDeque(int initialCapacity = 32)
        : this(initialCapacity, 0)
    {
    }

    /// <summary>Test hook: an empty deque whose first position is <paramref name="startPosition"/>, so that
    /// tests run across 2^31, 2^32 and the wrap of a long.</summary>
    internal WorkStealingDeque(int initialCapacity, long startPosition)
    {
        if (initialCapacity < 1 || initialCapacity > MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(initialCapacity), initialCapacity,
                $"A WorkStealingDeque's initial capacity must be from 1 to {MaxCapacity} (2^30); it is rounded up to a power of two and grows as needed.");
        }

        _buffer = new T[(int)BitOperations.RoundUpToPowerOf2((uint)initialCapacity)];
        _top.Value = startPosition;
        _bottom.Value = startPosition;
        _cleared = startPosition;
        // Plain stores: published to other threads by whatever hands them the deque reference.
    }

    /// <summary>A snapshot of the number of items; may be stale by the time it is read.</summary>
    public int Count
    {
        get
        {
            // Acquire loads; a snapshot needs no stronger ordering. Read bottom first then top: top never
            // decreases, so a concurrent steal can only make the result smaller, never negative-looking
            // beyond the clamp.
            long bottom = Volatile.Read(ref _bottom.Value);
            long top = Volatile.Read(ref _top.Value);
            long size = unchecked(bottom - top);
            return (int)Math.Clamp(size, 0, MaxCapacity);
        }
    }

    /// <summary>A snapshot: true when the deque holds no items.</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>The current buffer size (test and diagnostics hook; acquire load, pairs with the release store in Grow).</summary>
    internal int BufferLength => Volatile.Read(ref _buffer).Length;

    /// <summary>Adds <paramref name="item"/> at the bottom. Owner thread only.</summary>
    /// <param name="item">The item to add.</param>
    /// <exception cref="InvalidOperationException">The deque already holds 2^30 items.</exception>
    public void Push(T item)
    {
        long b = _bottom.Value; // owner-only field: a plain read of our own last write
        // Acquire: pairs with the thieves' CAS on _top, so slots of positions below top are no longer read
        // as live items by anyone who could win a CAS, and the sweep below may clear them.
        long t = Volatile.Read(ref _top.Value);
        T[] buffer = _buffer; // owner-only writes: plain read
        if (unchecked(b - t) >= buffer.Length)
        {
            buffer = Grow(buffer, t, b);
        }
        else if (_cleared != t)
        {
            Sweep(buffer, t, b);
        }

        buffer[(int)(b & (buffer.Length - 1))] = item;
        // Release: the item (and a grown buffer, published earlier with release) are visible before the
        // new bottom; pairs with the acquire load of _bottom in TrySteal.
        Volatile.Write(ref _bottom.Value, unchecked(b + 1));
    }

    /// <summary>Removes the newest item (the one pushed last). Owner thread only.</summary>
    /// <param name="item">The removed item, or the default value when the deque was empty.</param>
    /// <returns>True when an item was removed; false when the deque was empty.</returns>
    public bool TryPop([MaybeNullWhen(false)] out T item)
    {
        long bottom = _bottom.Value; // owner-only field
        T[] buffer = _buffer;
        // Acquire: pairs with the thieves' CAS on _top. The value read is top at this instant, so
        // bottom - top is the exact size at this instant; afterwards thieves can only make it smaller.
        long top = Volatile.Read(ref _top.Value);
        long seen = unchecked(bottom - top);
        if (seen <= 0)
        {
            // Empty at the read above: nothing to reserve, no fence needed.
            SweepAll(buffer, top);
            item = default;
            return false;
        }

        if (seen == 1)
        {
            // Exactly one item (position top), or none once a thief takes it. The CAS on top alone decides
            // who gets it, so bottom need not move and the fence below is not needed: whoever wins, top ends
            // at bottom (empty). Full-fence CAS; pairs with the thieves' CAS on _top.
            item = buffer[(int)(top & (buffer.Length - 1))];
            bool took = Interlocked.CompareExchange(ref _top.Value, unchecked(top + 1), top) == top;
            SweepAll(buffer, unchecked(top + 1)); // clear slot top: ours now, or read by the winning thief
            if (!took)
            {
                item = default;
            }

            return took;
        }

        long b = unchecked(bottom - 1);
        // Full fence (Lê et al.'s seq_cst fence in take): the store of the reserved bottom must be visible
        // to thieves before we load top, or a thief and the owner could both take the last item. Pairs with
        // the full fence in TrySteal between its loads of top and bottom.
        Interlocked.Exchange(ref _bottom.Value, b);
        // Load top only after the fence above (acquire: pairs with the thieves' CAS on _top).
        long t = Volatile.Read(ref _top.Value);
        long size = unchecked(b - t);
        if (size < 0)
        {
            // Empty: restore bottom = t (== b + 1). Release: pairs with TrySteal's acquire load of bottom.
            Volatile.Write(ref _bottom.Value, unchecked(b + 1));
            SweepAll(buffer, t);
            item = default;
            return false;
        }

        ref T slot = ref buffer[(int)(b & (buffer.Length - 1))];
        item = slot;
        if (size > 0)
        {
            // More than one item: position b is ours alone (no thief can reach it while top < b).
            ClearSlot(ref slot);
            if (_cleared != t)
            {
                Sweep(buffer, t, b); // live positions are now [t, b)
            }

            return true;
        }

        // The last item: race the thieves for it. Full-fence CAS; pairs with the thieves' CAS on _top.
        bool won = Interlocked.CompareExchange(ref _top.Value, unchecked(t + 1), t) == t;
        // Either way top is now t + 1; restore bottom to match. Release: pairs with TrySteal's acquire load.
        Volatile.Write(ref _bottom.Value, unchecked(b + 1));
        // The deque is now empty at t + 1: clear slot t (ours, or read by the thief that won it; a thief can
        // not clear it itself) and any slots thieves emptied before.
        SweepAll(buffer, unchecked(t + 1));
        if (!won)
        {
            item = default;
        }

        return won;
    }

    /// <summary>Removes the oldest item. Any thread.</summary>
    /// <param name="item">The removed item, or the default value when the deque was empty.</param>
    /// <returns>True when an item was removed; false when the deque was seen empty.</returns>
    public bool TrySteal([MaybeNullWhen(false)] out T item)
    {
        var backoff = new Backoff();
        while (true)
        {
            switch (TryStealOnce(out item))
            {
                case StealResult.Success:
                    return true;
                case StealResult.Empty:
                    return false;
                default:
                    backoff.Spin(); // lost a race to another taker; retry
                    break;
            }
        }
    }

    /// <summary>
    /// Moves up to half of this deque's items (rounded up), oldest first, into <paramref name="destination"/>.
    /// Must be called by the owner of <paramref name="destination"/>; any thread may be the owner of this one.
    /// </summary>
    /// <param name="destination">The caller's own deque; receives the items in the order they were in here,
    /// so its owner pops the newest of them first.</param>
    /// <returns>The number of items moved (0 when this deque was seen empty).</returns>
    /// <remarks>The batch size is decided from one snapshot of this deque; the items are then claimed one
    /// Chase-Lev steal at a time (a single-CAS batch claim would race with the owner's CAS-free pops), so
    /// the move is not one atomic step: other thieves and the owner may take items in between, and fewer
    /// items may be moved than the snapshot promised.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="destination"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is this deque.</exception>
    public int StealHalf(WorkStealingDeque<T> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (ReferenceEquals(destination, this))
        {
            throw new ArgumentException(
                "StealHalf moves items from a victim deque into the caller's own deque; pass a destination other than the victim itself.",
                nameof(destination));
        }

        // Decide the batch from one snapshot: top, full fence, bottom (as in TrySteal).
        long t = Volatile.Read(ref _top.Value);
        Interlocked.MemoryBarrier(); // orders the top load before the bottom load; pairs with TryPop's fence
        long b = Volatile.Read(ref _bottom.Value);
        long size = unchecked(b - t);
        if (size <= 0)
        {
            return 0;
        }

        long want = (size + 1) / 2;
        int moved = 0;
        var backoff = new Backoff();
        while (moved < want)
        {
            StealResult result = TryStealOnce(out T item);
            if (result == StealResult.Success)
            {
                destination.Push(item);
                moved++;
                backoff.Reset();
            }
            else if (result == StealResult.Empty)
            {
                break;
            }
            else
            {
                backoff.Spin();
            }
        }

        return moved;
    }

    /// <summary>Test hook: whether any slot of the current buffer outside [top, bottom) still references an item.
    /// Only meaningful while no other thread uses the deque (the acquire loads below are a snapshot).</summary>
    internal bool HoldsStaleReference()
    {
        T[] buffer = _buffer;
        long t = Volatile.Read(ref _top.Value);
        long b = Volatile.Read(ref _bottom.Value);
        long size = unchecked(b - t);
        int mask = buffer.Length - 1;
        for (int i = 0; i < buffer.Length; i++)
        {
            // Slot i is live when one of the positions [t, b) maps to it.
            bool live = ((i - t) & mask) < size;
            if (!live && !EqualityComparer<T>.Default.Equals(buffer[i], default!))
            {
                return true;
            }
        }

        return false;
    }

    // item is meaningful only when the result is Success (default otherwise).
    private StealResult TryStealOnce(out T item)
    {
        // Acquire: pairs with the CAS on _top by other takers.
        long t = Volatile.Read(ref _top.Value);
        // Full fence (Lê et al.'s seq_cst fence in steal): load top before bottom, against the owner's
        // store-bottom / full fence / load-top in TryPop; without it a thief and the owner could both take
        // the last item.
        Interlocked.MemoryBarrier();
        // Acquire: pairs with the release store of _bottom in Push, so the item and the buffer that holds it
        // are visible below.
        long b = Volatile.Read(ref _bottom.Value);
        if (unchecked(b - t) <= 0)
        {
            item = default!;
            return StealResult.Empty;
        }

        // Re-read the buffer after bottom (acquire): pairs with the release store in Grow, which happens
        // before the release store of the bottom we read, so this buffer holds position t.
        T[] buffer = Volatile.Read(ref _buffer);
        item = buffer[(int)(t & (buffer.Length - 1))];
        // Claim position t. Full-fence CAS; pairs with the other thieves' CAS and the owner's CAS for the
        // last item. Only if it succeeds is the value read above ours.
        if (Interlocked.CompareExchange(ref _top.Value, unchecked(t + 1), t) == t)
        {
            return StealResult.Success;
        }

        item = default!;
        return StealResult.Lost;
    }

    private T[] Grow(T[] old, long t, long b)
    {
        if (old.Length >= MaxCapacity)
        {
            throw new InvalidOperationException(
                $"The WorkStealingDeque holds {MaxCapacity} (2^30) items, its maximum; pop or steal items before pushing more.");
        }

        var grown = new T[old.Length * 2];
        int oldMask = old.Length - 1;
        int newMask = grown.Length - 1;
        for (long p = t; unchecked(b - p) > 0; p++)
        {
            grown[(int)(p & newMask)] = old[(int)(p & oldMask)];
        }

        // Release: the copied items are visible before the buffer reference; pairs with the acquire load of
        // _buffer in TryStealOnce. The old buffer is left untouched for thieves still reading it.
        Volatile.Write(ref _buffer, grown);
        // Positions below t were not copied; positions in [t, top-now) may hold stolen items and are swept later.
        _cleared = t;
        return grown;
    }

    // Owner only: clears slots of positions in [max(_cleared, b - length), t): taken by thieves and not
    // reused by a later push. A thief that still reads one of them holds a stale t and will lose its CAS.
    private void Sweep(T[] buffer, long t, long b)
    {
        if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            _cleared = t;
            return;
        }

        long from = _cleared;
        long lowest = unchecked(b - buffer.Length);
        if (unchecked(from - lowest) < 0)
        {
            from = lowest; // older positions' slots have been reused by positions >= b - length... which are < b
        }

        int mask = buffer.Length - 1;
        for (long p = from; unchecked(t - p) > 0; p++)
        {
            buffer[(int)(p & mask)] = default!;
        }

        _cleared = t;
    }

    // Owner only, deque seen empty at top t (bottom == t): everything below t may be cleared.
    private void SweepAll(T[] buffer, long t)
    {
        if (_cleared != t)
        {
            Sweep(buffer, t, t);
        }
    }

    private static void ClearSlot(ref T slot)
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            slot = default!;
        }
    }

    private enum StealResult
    {
        Success,
        Empty,
        Lost,
    }
}
