namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// Byte layout of a <see cref="SharedTaskTable"/>: a capacity line, then one 128-byte record per task.
/// </summary>
/// <remarks>
/// <code>
/// table
/// offset              size           field
/// ------------------  -------------  ------------------------------------------------------------
/// 0                   8              capacity (task records; written last at init, release)
/// 8                   120            padding
/// 128                 128*capacity   records, record i at RecordsOffset + i*RecordBytes
///
/// record (128 bytes, one per task, so two agents working on neighbouring tasks never share a line)
/// offset  size  field            written by
/// ------  ----  ---------------  ------------------------------------------------------------------
/// 0       8     state word       every transition, by ONE CAS (see TaskStateWord for the bit packing)
/// 8       8     transitions      the winner of each transition (Interlocked.Increment): version stamp
/// 16      8     placed ticks     the placer, before the CAS that publishes Queued
/// 24      8     pickup ticks     the leaseholder, right after its lease CAS
/// 32      8     completed ticks  the committer, between Committing and Done
/// 40      8     result           the committer, between Committing and Done (64-bit value)
/// 48      4     result agent     the committer, between Committing and Done
/// 52      4     lease count      the leaseholder (Interlocked.Increment): how many times it was leased
/// 56      72    padding
/// </code>
/// Ticks are <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> values. On Linux the runtime reads
/// <c>clock_gettime(CLOCK_MONOTONIC)</c> in nanoseconds (Stopwatch.Unix.cs -> SystemNative_GetTimestamp ->
/// minipal_hires_ticks), one system-wide clock, so ticks written by different processes compare directly.
/// </remarks>
public static class TaskTableLayout
{
    /// <summary>Padding unit (see <see cref="TaskDequeLayout.LineBytes"/>).</summary>
    public const int LineBytes = TaskDequeLayout.LineBytes;

    /// <summary>Offset of the immutable capacity (64-bit).</summary>
    public const int CapacityOffset = 0;

    /// <summary>Offset of record 0.</summary>
    public const int RecordsOffset = CapacityOffset + LineBytes;

    /// <summary>Bytes per task record.</summary>
    public const int RecordBytes = 128;

    /// <summary>Offset of the state word inside a record.</summary>
    public const int StateOffset = 0;

    /// <summary>Offset of the transition counter (version stamp) inside a record.</summary>
    public const int TransitionsOffset = StateOffset + 8;

    /// <summary>Offset of the placement timestamp inside a record.</summary>
    public const int PlacedTicksOffset = TransitionsOffset + 8;

    /// <summary>Offset of the pickup (lease) timestamp inside a record.</summary>
    public const int PickupTicksOffset = PlacedTicksOffset + 8;

    /// <summary>Offset of the completion timestamp inside a record.</summary>
    public const int CompletedTicksOffset = PickupTicksOffset + 8;

    /// <summary>Offset of the 64-bit result inside a record.</summary>
    public const int ResultOffset = CompletedTicksOffset + 8;

    /// <summary>Offset of the committing agent (32-bit) inside a record.</summary>
    public const int ResultAgentOffset = ResultOffset + 8;

    /// <summary>Offset of the lease counter (32-bit) inside a record.</summary>
    public const int LeaseCountOffset = ResultAgentOffset + 4;

    /// <summary>End of the used part of a record.</summary>
    public const int RecordUsedBytes = LeaseCountOffset + 4;

    /// <summary>Largest number of tasks per table.</summary>
    public const int MaxCapacity = 1 << 24;

    /// <summary>Bytes a table of <paramref name="capacity"/> tasks occupies (a multiple of 128).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not between 1 and <see cref="MaxCapacity"/>.</exception>
    public static long SizeOf(int capacity)
    {
        ValidateCapacity(capacity);
        return RecordsOffset + (long)capacity * RecordBytes;
    }

    /// <summary>Writes an empty table (every task Free, epoch 0) at <paramref name="baseAddress"/>.</summary>
    /// <param name="baseAddress">Start of <see cref="SizeOf"/> writable bytes, 8-byte aligned, not yet shared.</param>
    /// <param name="capacity">Tasks, 1 to <see cref="MaxCapacity"/>.</param>
    public static unsafe void Initialize(byte* baseAddress, int capacity)
    {
        ValidateCapacity(capacity);
        ArgumentNullException.ThrowIfNull(baseAddress);
        if (((nint)baseAddress & 7) != 0)
        {
            throw new ArgumentException($"The task table address 0x{(nint)baseAddress:X} is not 8-byte aligned.", nameof(baseAddress));
        }

        long size = SizeOf(capacity);
        // SAFETY: the caller hands us SizeOf(capacity) writable bytes nobody uses yet; cleared in chunks below 2 GiB.
        for (long done = 0; done < size; done += int.MaxValue / 2)
        {
            new Span<byte>(baseAddress + done, (int)Math.Min(int.MaxValue / 2, size - done)).Clear();
        }

        // Release: capacity last, so an attacher that reads it (acquire) sees cleared records (pairs with SharedTaskTable's constructor).
        // SAFETY: offset 0 of the block.
        Volatile.Write(ref *(long*)(baseAddress + CapacityOffset), capacity);
    }

    internal static void ValidateCapacity(int capacity)
    {
        if (capacity < 1 || capacity > MaxCapacity)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity,
                $"A task table holds 1 to {MaxCapacity} tasks; split larger jobs.");
        }
    }
}
