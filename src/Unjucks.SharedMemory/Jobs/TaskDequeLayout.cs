namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// Byte layout of one <see cref="SharedTaskDeque"/> inside shared memory. Every offset is built from the
/// previous one; the block starts on a 128-byte boundary and its size is a multiple of 128.
/// </summary>
/// <remarks>
/// <code>
/// offset            size        field       writers
/// ----------------  ----------  ----------  -----------------------------------------------------
/// 0                 8           capacity    initializer only (immutable afterwards)
/// 8                 120         padding
/// 128               8           top         thieves (CAS) and the owner (CAS on the contested path)
/// 136               120         padding
/// 256               8           bottom      the owner only (thieves read it)
/// 264               120         padding
/// 384               8*capacity  ring        the owner only (slot index = counter &amp; (capacity-1))
/// 384+8*capacity    ..128       padding to the next 128-byte boundary
/// </code>
/// <c>top</c> and <c>bottom</c> are 64-bit counters that only grow (modulo 2^64; compared by wrapping
/// difference). They sit on their own 128-byte lines so that thieves hammering <c>top</c> do not evict
/// the owner's <c>bottom</c> (x86's adjacent-line prefetcher pairs 64-byte lines, hence 128).
/// </remarks>
public static unsafe class TaskDequeLayout
{
    /// <summary>Cache-line unit used for padding (two 64-byte lines, see the remarks).</summary>
    public const int LineBytes = 128;

    /// <summary>Offset of the immutable capacity (a 64-bit value).</summary>
    public const int CapacityOffset = 0;

    /// <summary>Offset of the steal end counter <c>top</c>.</summary>
    public const int TopOffset = CapacityOffset + LineBytes;

    /// <summary>Offset of the owner end counter <c>bottom</c>.</summary>
    public const int BottomOffset = TopOffset + LineBytes;

    /// <summary>Offset of the ring of 64-bit task ids.</summary>
    public const int RingOffset = BottomOffset + LineBytes;

    /// <summary>Smallest capacity accepted.</summary>
    public const int MinCapacity = 2;

    /// <summary>Largest capacity accepted (2^24 ids, 128 MiB of ring).</summary>
    public const int MaxCapacity = 1 << 24;

    /// <summary>
    /// Largest number of ids one <see cref="SharedTaskStealer.StealBatch"/> claims. The owner pops without
    /// a CAS only when at least this many other items lie between <c>top</c> and the popped slot, which is
    /// what makes a one-CAS batch steal safe (see <see cref="SharedTaskDeque"/>).
    /// </summary>
    public const int MaxStealBatch = 32;

    /// <summary>Value of a ring slot that never held an id (the ring is filled with it on initialization).</summary>
    public const long EmptySlot = -1;

    /// <summary>Bytes one deque of <paramref name="capacity"/> slots occupies (a multiple of 128).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not a power of two in range.</exception>
    public static long SizeOf(int capacity)
    {
        ValidateCapacity(capacity);
        long raw = RingOffset + (long)capacity * sizeof(long);
        return (raw + LineBytes - 1) / LineBytes * LineBytes;
    }

    /// <summary>
    /// Writes an empty deque of <paramref name="capacity"/> slots at <paramref name="baseAddress"/>.
    /// Call once, before any process attaches a handle to it.
    /// </summary>
    /// <param name="baseAddress">Start of <see cref="SizeOf"/> writable bytes, 8-byte aligned (128 preferred).</param>
    /// <param name="capacity">Slots; a power of two between <see cref="MinCapacity"/> and <see cref="MaxCapacity"/>.</param>
    public static void Initialize(byte* baseAddress, int capacity) => InitializeAt(baseAddress, capacity, 0);

    /// <summary>Test hook: initializes with both counters at <paramref name="start"/> to exercise wrap-around.</summary>
    internal static void InitializeAt(byte* baseAddress, int capacity, long start)
    {
        ValidateCapacity(capacity);
        if (baseAddress == null)
        {
            throw new ArgumentNullException(nameof(baseAddress), "The deque needs the address of mapped memory.");
        }

        if (((nint)baseAddress & 7) != 0)
        {
            throw new ArgumentException($"The deque address 0x{(nint)baseAddress:X} is not 8-byte aligned; 64-bit atomics need natural alignment.", nameof(baseAddress));
        }

        // SAFETY: the caller hands us SizeOf(capacity) writable bytes that no handle uses yet (contract of Initialize).
        new Span<byte>(baseAddress, checked((int)SizeOf(capacity))).Clear();
        long* ring = (long*)(baseAddress + RingOffset);
        for (int i = 0; i < capacity; i++)
        {
            // SAFETY: i < capacity, inside the ring that SizeOf reserved.
            ring[i] = EmptySlot;
        }

        // SAFETY: fixed offsets inside the block. Plain stores: nobody attaches before Initialize returns, and
        // the creator publishes the whole segment with a release store of its version.
        *(long*)(baseAddress + TopOffset) = start;
        *(long*)(baseAddress + BottomOffset) = start;
        // Release store: the capacity is the last field written, so an attacher that reads it with acquire sees the
        // ring and counters initialized (pairs with the acquire load in SharedTaskDeque's constructor).
        Volatile.Write(ref *(long*)(baseAddress + CapacityOffset), capacity);
    }

    internal static void ValidateCapacity(int capacity)
    {
        if (capacity < MinCapacity || capacity > MaxCapacity || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"A task deque's capacity must be a power of two between {MinCapacity} and {MaxCapacity}; round it up to the next power of two.");
        }
    }
}
