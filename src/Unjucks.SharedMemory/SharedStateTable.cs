// SharedStateTable: a fixed-capacity open-addressing table of version-stamped values in the shared region.
//
// References: seqlocks (Lameter, "Effective synchronization on Linux/NUMA systems", 2005; Boehm, "Can seqlocks
// get along with programming language memory models?", MSPC 2012) combined with double buffering, and SwissTable
// style one-byte tags probed 16 at a time with SIMD (Abseil's flat_hash_map).
//
// Slot seqlock word (64 bits):
//   bit 0        busy: a writer holds the slot ("odd = write in progress")
//   bits 1..15   writer's agent slot + 1        (meaningful while busy)
//   bits 16..23  writer's agent generation & 0xFF (meaningful while busy)
//   bit 24       active value buffer (0 or 1)
//   bits 25..63  flip counter, +1 per published write (wraps; compared for equality only)
// The "stable" part is bits 24..63.
//
// Invariants:
//  * A writer first CASes busy into the word (mutual exclusion between writers, full fence), writes the new
//    value, length and version into the INACTIVE buffer, then publishes with one release store that clears busy,
//    flips the buffer bit and bumps the counter. The active buffer is never written while it is active.
//  * Readers never wait for writers: they read the word (acquire), copy the active buffer, and re-read the word
//    after a read barrier; equal stable parts mean the copy is whole (the copied buffer is only rewritten after
//    two flips, which would change the stable part). So a writer that dies mid-write cannot make readers spin.
//  * A writer that finds the busy bit held by an agent that the registry says is dead (flock released, or the slot
//    re-registered with another generation) takes the word over with a CAS from the dead writer's exact value.
//    The active buffer is intact, so the version only moves forward (a half-written inactive buffer is simply
//    overwritten).
//  * Keys are bound to a slot once (KeyLength written last with release) and never unbound; TryDelete leaves a
//    tombstone (length -1, version bumped) that the same key reuses, so versions of a key only grow, across
//    deletes too. A key sits in the first unbound slot of its probe sequence at the time it was bound and bound
//    slots stay bound, so a lookup may stop at the first unbound slot it meets.
//  * Claiming an unbound slot is done by taking its busy bit like any write; a prober that meets a busy unbound
//    slot waits for it (and repairs it if the claimer died) instead of probing past it, so one key can never be
//    bound to two slots.
// Failure windows: the busy word records the writer's generation modulo 256, so a dead writer whose agent slot is
// re-registered exactly k*256 times before anyone repairs it looks alive; writers of that key then wait until the
// new owner of the slot exits. Versions are 64-bit per buffer.
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Text;
using Unjucks.SharedMemory.Layout;

namespace Unjucks.SharedMemory;

/// <summary>
/// Version-stamped key/value state shared by every process that opens the region. Readers never block writers
/// and never see a torn value; every successful change bumps the region's change sequence.
/// </summary>
public sealed unsafe class SharedStateTable
{
    private const long Busy = 1;
    private const long StableMask = ~0xFFFFFFL;
    private const long BufferBit = 1L << 24;
    private const long CounterOne = 1L << 25;

    private readonly SharedRegion _region;
    private readonly byte* _tags;
    private readonly byte* _slots;
    private readonly int _slotBytes;
    private readonly int _mask;
    private readonly int _buffer0;
    private readonly int _bufferBytes;

    internal SharedStateTable(SharedRegion region, byte* section, RegionGeometry geometry)
    {
        _region = region;
        _tags = section;
        _slots = section + StateSlotLayout.TagBytes(geometry.StateSlots);
        _slotBytes = geometry.StateSlotBytes;
        Capacity = geometry.StateSlots;
        _mask = geometry.StateSlots - 1;
        MaxKeyBytes = geometry.MaxKeyBytes;
        MaxValueBytes = geometry.MaxValueBytes;
        _buffer0 = StateSlotLayout.Buffer0Offset(geometry.MaxKeyBytes);
        _bufferBytes = StateSlotLayout.BufferBytes(geometry.MaxValueBytes);
    }

    private enum Mode
    {
        Write,
        Update,
        Delete,
    }

    /// <summary>Number of slots (keys, including deleted ones, that the table can hold).</summary>
    public int Capacity { get; }

    /// <summary>
    /// Slots bound to a key (live or deleted: a deleted key keeps its slot), i.e. how much of <see cref="Capacity"/>
    /// is used. A snapshot that takes O(Capacity); reads only, registers nothing.
    /// </summary>
    public int BoundSlotCount
    {
        get
        {
            _region.ThrowIfDisposed();
            int bound = 0;
            for (int index = 0; index < Capacity; index++)
            {
                // SAFETY: KeyLength lies inside slot `index` in the live mapping (4-byte aligned).
                // Acquire: pairs with the release store of KeyLength in Bind (written once, never cleared).
                if (Volatile.Read(ref Unsafe.AsRef<int>(Slot(index) + StateSlotLayout.KeyLengthOffset)) != 0)
                {
                    bound++;
                }
            }

            return bound;
        }
    }

    /// <summary>Largest UTF-8 key in bytes.</summary>
    public int MaxKeyBytes { get; }

    /// <summary>Largest value in bytes.</summary>
    public int MaxValueBytes { get; }

    /// <summary>
    /// Copies the value of <paramref name="key"/> into <paramref name="destination"/>. False if the key is absent
    /// or deleted (length and version are then 0 and the last version, or 0 if it never existed).
    /// Throws <see cref="ArgumentException"/> if <paramref name="destination"/> is shorter than the value.
    /// </summary>
    public bool TryRead(string key, Span<byte> destination, out int length, out long version)
    {
        Span<byte> keyBytes = stackalloc byte[MaxKeyBytes];
        keyBytes = EncodeKey(key, keyBytes);
        _region.ThrowIfDisposed();
        uint hash = Crc32C.Compute(keyBytes);
        int index = Find(keyBytes, hash, out _);
        length = 0;
        version = 0;
        if (index < 0)
        {
            return false;
        }

        byte* slot = Slot(index);
        // SAFETY: the seq word is the first 8 bytes of a 64-aligned slot inside the live mapping.
        ref long seq = ref Unsafe.AsRef<long>(slot + StateSlotLayout.SeqOffset);
        var spinner = new SpinWait();
        while (true)
        {
            long s1 = Volatile.Read(ref seq); // acquire: the buffer reads below cannot move above it
            byte* buffer = slot + _buffer0 + ((s1 & BufferBit) != 0 ? _bufferBytes : 0);
            // SAFETY: buffer lies inside this slot; it may be concurrently rewritten (torn), which the re-check of
            // the seq word below detects; we only copy at most MaxValueBytes out of it.
            long v = Unsafe.AsRef<long>(buffer + StateSlotLayout.BufferVersionOffset);
            int n = Unsafe.AsRef<int>(buffer + StateSlotLayout.BufferLengthOffset);
            bool sane = n == StateSlotLayout.DeletedLength || (uint)n <= (uint)MaxValueBytes;
            bool fits = sane && n <= destination.Length;
            if (fits && n > 0)
            {
                new ReadOnlySpan<byte>(buffer + StateSlotLayout.BufferValueOffset, n).CopyTo(destination);
            }

            Volatile.ReadBarrier(); // LoadLoad: the buffer loads above complete before the re-check load below
            long s2 = Volatile.Read(ref seq); // re-check: pairs with the writer's publishing release in Apply
            if (((s1 ^ s2) & StableMask) != 0 || !sane)
            {
                if (!sane && ((s1 ^ s2) & StableMask) == 0)
                {
                    throw new SharedRegionFormatException(
                        $"State slot {index} of region '{_region.FilePath}' holds an impossible value length {n}; the region is corrupt. Delete it.");
                }

                spinner.SpinOnce(sleep1Threshold: -1); // a write was published during our copy: copy again
                continue;
            }

            version = v;
            if (v == 0 || n == StateSlotLayout.DeletedLength)
            {
                return false;
            }

            if (!fits)
            {
                throw new ArgumentException(
                    $"The value of '{key}' is {n} bytes but the destination holds {destination.Length}; pass a buffer of at least {n} bytes (at most MaxValueBytes = {MaxValueBytes}).",
                    nameof(destination));
            }

            length = n;
            return true;
        }
    }

    /// <summary>Sets the value unconditionally and returns the key's new version.</summary>
    public long Write(string key, ReadOnlySpan<byte> value)
    {
        WriteCore(key, value, Mode.Write, 0, out long newVersion, stall: null);
        return newVersion;
    }

    /// <summary>
    /// Sets the value if the key's current version is <paramref name="expectedVersion"/>; 0 means "only if the key
    /// is absent (never written, or deleted)". On success <paramref name="newVersion"/> is the new version; on a
    /// conflict it is the current version (0 if absent and never written), so a retry loop can use it.
    /// </summary>
    public bool TryUpdate(string key, ReadOnlySpan<byte> value, long expectedVersion, out long newVersion) =>
        WriteCore(key, value, Mode.Update, expectedVersion, out newVersion, stall: null);

    /// <summary>
    /// Deletes the key if its current version is <paramref name="expectedVersion"/> (0: whatever the version).
    /// False if absent or on a version conflict. The deletion itself gets a new version.
    /// </summary>
    public bool TryDelete(string key, long expectedVersion) =>
        WriteCore(key, default, Mode.Delete, expectedVersion, out _, stall: null);

    /// <summary>
    /// Test hook: claims the key's slot, writes half of <paramref name="value"/> into the inactive buffer and then
    /// calls <paramref name="stall"/> while still holding the busy bit (the child process never returns from it
    /// and is killed). Returns whatever a normal write would have returned if <paramref name="stall"/> returns.
    /// </summary>
    internal long WriteAndStall(string key, ReadOnlySpan<byte> value, Action stall)
    {
        WriteCore(key, value, Mode.Write, 0, out long newVersion, stall);
        return newVersion;
    }

    private bool WriteCore(string key, ReadOnlySpan<byte> value, Mode mode, long expectedVersion, out long newVersion, Action? stall)
    {
        Span<byte> keyBytes = stackalloc byte[MaxKeyBytes];
        keyBytes = EncodeKey(key, keyBytes);
        if (value.Length > MaxValueBytes)
        {
            throw new ArgumentException(
                $"The value for '{key}' is {value.Length} bytes; this region's MaxValueBytes is {MaxValueBytes}. Store less, or create the region with a larger SharedRegionOptions.MaxValueBytes.",
                nameof(value));
        }

        if (expectedVersion < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, "Versions are never negative.");
        }

        _region.ThrowIfDisposed();
        uint hash = Crc32C.Compute(keyBytes);
        int me = _region.Agents.CurrentAgentId;
        long busyBits = Busy | ((long)(AgentIds.Slot(me) + 1) << 1) | ((long)(AgentIds.Generation16(me) & 0xFF) << 16);
        while (true)
        {
            int index = Find(keyBytes, hash, out int unbound);
            if (index < 0 && (mode == Mode.Delete || (mode == Mode.Update && expectedVersion != 0)))
            {
                newVersion = 0;
                return false; // never bound: nothing to delete or to update, and no slot is spent on it
            }

            int target = index >= 0 ? index : unbound;
            if (target < 0)
            {
                throw new SharedRegionFullException(
                    $"The state table of region '{_region.FilePath}' has no free slot for '{key}' (all {Capacity} slots hold keys; deleted keys keep theirs). Create the region with a larger SharedRegionOptions.StateSlots.");
            }

            byte* slot = Slot(target);
            long stable = LockSlot(slot, busyBits);
            // SAFETY: we hold the slot's busy bit; KeyLength is inside the slot in the live mapping.
            int keyLength = Volatile.Read(ref Unsafe.AsRef<int>(slot + StateSlotLayout.KeyLengthOffset));
            if (keyLength == 0)
            {
                Bind(target, slot, keyBytes, hash);
            }
            else if (!KeyEquals(slot, keyLength, keyBytes, hash))
            {
                // Someone bound this once-unbound slot to another key before we locked it: unlock, probe again.
                // Release: restores the exact word; nothing in the slot changed. SAFETY: seq word of a slot we hold.
                Volatile.Write(ref Unsafe.AsRef<long>(slot), stable);
                continue;
            }

            return Apply(target, slot, stable, value, mode, expectedVersion, out newVersion, stall);
        }
    }

    private bool Apply(int index, byte* slot, long stable, ReadOnlySpan<byte> value, Mode mode, long expectedVersion, out long newVersion, Action? stall)
    {
        // SAFETY: we hold the busy bit of this slot, so no other writer touches either buffer; readers only read.
        ref long seq = ref Unsafe.AsRef<long>(slot + StateSlotLayout.SeqOffset);
        byte* active = slot + _buffer0 + ((stable & BufferBit) != 0 ? _bufferBytes : 0);
        byte* inactive = slot + _buffer0 + ((stable & BufferBit) != 0 ? 0 : _bufferBytes);
        long current = Unsafe.AsRef<long>(active + StateSlotLayout.BufferVersionOffset);
        bool present = current != 0 && Unsafe.AsRef<int>(active + StateSlotLayout.BufferLengthOffset) != StateSlotLayout.DeletedLength;
        bool allowed = mode switch
        {
            Mode.Write => true,
            Mode.Update => expectedVersion == 0 ? !present : present && current == expectedVersion,
            _ => present && (expectedVersion == 0 || current == expectedVersion),
        };
        if (_tags[index] == 0)
        {
            // SAFETY: tag index < Capacity; the hash of a bound slot is immutable.
            _tags[index] = Tag(Unsafe.AsRef<uint>(slot + StateSlotLayout.HashOffset)); // repair a tag a dead binder missed
        }

        if (!allowed)
        {
            Volatile.Write(ref seq, stable); // release: unlocks with the exact old word; nothing changed
            newVersion = current;
            return false;
        }

        newVersion = current + 1;
        if (stall is not null)
        {
            value[..(value.Length / 2)].CopyTo(new Span<byte>(inactive + StateSlotLayout.BufferValueOffset, MaxValueBytes));
            stall();
        }

        // SAFETY: the inactive buffer lies inside the slot we hold; only we write it and readers ignore it until the
        // publishing store below.
        if (mode == Mode.Delete)
        {
            Unsafe.AsRef<int>(inactive + StateSlotLayout.BufferLengthOffset) = StateSlotLayout.DeletedLength;
        }
        else
        {
            value.CopyTo(new Span<byte>(inactive + StateSlotLayout.BufferValueOffset, MaxValueBytes));
            Unsafe.AsRef<int>(inactive + StateSlotLayout.BufferLengthOffset) = value.Length;
        }

        Unsafe.AsRef<long>(inactive + StateSlotLayout.BufferVersionOffset) = newVersion;
        long next = ((stable + CounterOne) ^ BufferBit) & StableMask;
        // Release: publishes the inactive buffer as the active one and unlocks the slot; pairs with the acquire
        // load of the word in TryRead (readers) and in LockSlot (the next writer).
        Volatile.Write(ref seq, next);
        _region.Changes.Bump();
        return true;
    }

    /// <summary>Takes the slot's busy bit, waiting for a live writer and taking over from a dead one.</summary>
    private long LockSlot(byte* slot, long busyBits)
    {
        // SAFETY: the seq word is the first 8 bytes of a 64-aligned slot inside the live mapping.
        ref long seq = ref Unsafe.AsRef<long>(slot + StateSlotLayout.SeqOffset);
        var backoff = new OwnerBackoff();
        while (true)
        {
            long seen = Volatile.Read(ref seq); // acquire: pairs with the publishing release in Apply
            long stable = seen & StableMask;
            if ((seen & Busy) == 0)
            {
                // Full-fence CAS: our buffer writes cannot move above it, and it excludes other writers.
                if (Interlocked.CompareExchange(ref seq, stable | busyBits, seen) == seen)
                {
                    return stable;
                }

                continue;
            }

            int holderSlot = (int)((seen >> 1) & 0x7FFF) - 1;
            if (backoff.WaitAndShouldCheck())
            {
                int holderGeneration = (int)((seen >> 16) & 0xFF);
                if (!_region.Agents.IsHolderAlive(holderSlot, holderGeneration)
                    && Interlocked.CompareExchange(ref seq, stable | busyBits, seen) == seen) // full fence; only one taker wins
                {
                    return stable; // the active buffer is intact; the dead writer's inactive buffer gets overwritten
                }
            }

            _region.ThrowIfDisposed();
            if (backoff.Exceeded)
            {
                // Only a live holder keeps the busy bit this long (a dead one is taken over above).
                if ((uint)holderSlot >= (uint)_region.Agents.Capacity)
                {
                    throw new SharedRegionFormatException(
                        $"A state slot of region '{_region.FilePath}' is damaged: its busy word 0x{seen:X16} names agent slot {holderSlot}, which does not exist. Delete the region.");
                }

                AgentInfo holder = _region.Agents.GetInfo(holderSlot);
                throw new TimeoutException(
                    $"A state slot of region '{_region.FilePath}' has been held for more than {OwnerBackoff.Bound.TotalMilliseconds:0} ms by agent slot {holderSlot} (pid {holder.ProcessId}), which is alive but stopped or starved in the middle of a write; try again, or stop or resume that process.");
            }
        }
    }

    private void Bind(int index, byte* slot, ReadOnlySpan<byte> key, uint hash)
    {
        // SAFETY: we hold the busy bit of an unbound slot; key fits in the KeyBytes field (checked by EncodeKey).
        key.CopyTo(new Span<byte>(slot + StateSlotLayout.KeyOffset, MaxKeyBytes));
        Unsafe.AsRef<uint>(slot + StateSlotLayout.HashOffset) = hash;
        // Release: publishes key bytes and hash; pairs with the acquire load of KeyLength in Find. Bound forever.
        Volatile.Write(ref Unsafe.AsRef<int>(slot + StateSlotLayout.KeyLengthOffset), key.Length);
        Volatile.Write(ref _tags[index], Tag(hash)); // a hint only: Find treats tag 0 as "look at the slot"
    }

    /// <summary>
    /// Finds the slot bound to the key; -1 if absent. <paramref name="unbound"/> is the first unbound slot of the
    /// probe sequence (where the key would be bound), or -1 if every slot is bound to another key.
    /// </summary>
    private int Find(ReadOnlySpan<byte> key, uint hash, out int unbound)
    {
        byte tag = Tag(hash);
        int home = (int)(hash & (uint)_mask);
        int position = home;
        int scanned = 0;
        var wanted = Vector128.Create(tag);
        while (scanned < Capacity)
        {
            int group = position & ~15;
            // SAFETY: Capacity is a power of two >= 16, so [group, group + 16) lies inside the tag array.
            Vector128<byte> tags = Vector128.Load(_tags + group);
            uint candidates = (Vector128.Equals(tags, wanted) | Vector128.Equals(tags, Vector128<byte>.Zero)).ExtractMostSignificantBits();
            int first = position - group;
            int last = Math.Min(16, first + (Capacity - scanned)); // exclusive; stops before home on the way round
            candidates &= (uint)(((1 << last) - 1) & ~((1 << first) - 1));
            while (candidates != 0)
            {
                int index = group + BitOperations.TrailingZeroCount(candidates);
                candidates &= candidates - 1;
                byte* slot = Slot(index);
                // SAFETY: KeyLength lies inside the slot. Acquire: pairs with the release in Bind, so the key and
                // hash read below are the bound ones.
                int keyLength = Volatile.Read(ref Unsafe.AsRef<int>(slot + StateSlotLayout.KeyLengthOffset));
                if (keyLength == 0)
                {
                    unbound = index;
                    return -1;
                }

                if (KeyEquals(slot, keyLength, key, hash))
                {
                    unbound = -1;
                    return index;
                }
            }

            scanned += last - first;
            position = (group + 16) & _mask;
        }

        unbound = -1;
        return -1;
    }

    private static bool KeyEquals(byte* slot, int keyLength, ReadOnlySpan<byte> key, uint hash) =>
        // SAFETY: a bound slot's hash and key bytes never change after the release of KeyLength.
        keyLength == key.Length
        && Unsafe.AsRef<uint>(slot + StateSlotLayout.HashOffset) == hash
        && new ReadOnlySpan<byte>(slot + StateSlotLayout.KeyOffset, keyLength).SequenceEqual(key);

    private static byte Tag(uint hash)
    {
        byte tag = (byte)(hash >> 24);
        return tag == 0 ? (byte)1 : tag;
    }

    private byte* Slot(int index) => _slots + ((long)index * _slotBytes);

    /// <summary>Test hook: the address of the slot bound to <paramref name="key"/> (0 when unbound), to damage it.</summary>
    internal nint SlotAddressForTests(string key)
    {
        Span<byte> keyBytes = stackalloc byte[MaxKeyBytes];
        keyBytes = EncodeKey(key, keyBytes);
        int index = Find(keyBytes, Crc32C.Compute(keyBytes), out _);
        return index < 0 ? 0 : (nint)Slot(index);
    }

    private Span<byte> EncodeKey(string key, Span<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new ArgumentException("The key is empty; keys must be 1 to MaxKeyBytes UTF-8 bytes.", nameof(key));
        }

        if (!Encoding.UTF8.TryGetBytes(key, buffer, out int written) || written > MaxKeyBytes)
        {
            throw new ArgumentException(
                $"The key '{(key.Length > 80 ? key[..80] + "..." : key)}' is {Encoding.UTF8.GetByteCount(key)} UTF-8 bytes; this region's MaxKeyBytes is {MaxKeyBytes}. Use a shorter key, or create the region with a larger SharedRegionOptions.MaxKeyBytes.",
                nameof(key));
        }

        return buffer[..written];
    }
}
