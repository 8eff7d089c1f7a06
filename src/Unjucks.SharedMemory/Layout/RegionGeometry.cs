// The region's sizes and section offsets, computed from options (creator) or read back from the header and
// checked (opener). Both paths go through Compute so that a header whose section table disagrees with its own
// options is rejected as corrupt.
using System.Runtime.CompilerServices;

namespace Unjucks.SharedMemory.Layout;

internal sealed class RegionGeometry
{
    private const long MaxTotalBytes = 64L << 30;

    private RegionGeometry(int[] options, long[] sectionOffsets, long[] sectionLengths, long totalBytes)
    {
        StateSlots = options[0];
        MaxKeyBytes = options[1];
        MaxValueBytes = options[2];
        MaxQueues = options[3];
        QueueCapacity = options[4];
        MessageBytes = options[5];
        MaxAgents = options[6];
        MaxLocks = options[7];
        SectionOffsets = sectionOffsets;
        SectionLengths = sectionLengths;
        TotalBytes = totalBytes;
    }

    internal int StateSlots { get; }

    internal int MaxKeyBytes { get; }

    internal int MaxValueBytes { get; }

    internal int MaxQueues { get; }

    internal int QueueCapacity { get; }

    internal int MessageBytes { get; }

    internal int MaxAgents { get; }

    internal int MaxLocks { get; }

    internal long[] SectionOffsets { get; }

    internal long[] SectionLengths { get; }

    internal long TotalBytes { get; }

    internal int StateSlotBytes => StateSlotLayout.SlotBytes(MaxKeyBytes, MaxValueBytes);

    internal long QueueBodyBytes => QueueLayout.QueueBytes(QueueCapacity, MessageBytes);

    /// <summary>The options as stored in the header, in header order.</summary>
    internal int[] OptionValues => [StateSlots, MaxKeyBytes, MaxValueBytes, MaxQueues, QueueCapacity, MessageBytes, MaxAgents, MaxLocks];

    /// <summary>Validates caller options (ArgumentOutOfRangeException naming the option) and lays out sections.</summary>
    internal static RegionGeometry FromOptions(SharedRegionOptions options)
    {
        CheckPowerOfTwo(options.StateSlots, 16, 1 << 24, nameof(options.StateSlots));
        CheckRange(options.MaxKeyBytes, 1, 1024, nameof(options.MaxKeyBytes));
        CheckRange(options.MaxValueBytes, 1, 1 << 20, nameof(options.MaxValueBytes));
        CheckRange(options.MaxQueues, 1, 1024, nameof(options.MaxQueues));
        CheckPowerOfTwo(options.QueueCapacity, 2, 1 << 24, nameof(options.QueueCapacity));
        CheckRange(options.MessageBytes, 1, 1 << 16, nameof(options.MessageBytes));
        CheckRange(options.MaxAgents, 1, 32767, nameof(options.MaxAgents));
        CheckRange(options.MaxLocks, 1, 4096, nameof(options.MaxLocks));
        int[] values =
        [
            options.StateSlots, options.MaxKeyBytes, options.MaxValueBytes, options.MaxQueues,
            options.QueueCapacity, options.MessageBytes, options.MaxAgents, options.MaxLocks,
        ];
        return Compute(values) ?? throw new ArgumentOutOfRangeException(
            nameof(options), $"The region would exceed {MaxTotalBytes} bytes; lower StateSlots, QueueCapacity or the per-item sizes.");
    }

    /// <summary>Reads and checks the geometry of a mapped header. Throws SharedRegionFormatException.</summary>
    internal static unsafe RegionGeometry FromHeader(byte* header, long fileLength, string path)
    {
        var values = new int[RegionLayout.OptionCount];
        for (int i = 0; i < values.Length; i++)
        {
            // SAFETY: the caller mapped at least HeaderBytes bytes; these offsets lie in [48, 80).
            values[i] = Unsafe.ReadUnaligned<int>(header + RegionLayout.OptionsOffset + (i * sizeof(int)));
        }

        bool plausible = IsPowerOfTwo(values[0], 16, 1 << 24) && InRange(values[1], 1, 1024) && InRange(values[2], 1, 1 << 20)
            && InRange(values[3], 1, 1024) && IsPowerOfTwo(values[4], 2, 1 << 24) && InRange(values[5], 1, 1 << 16)
            && InRange(values[6], 1, 32767) && InRange(values[7], 1, 4096);
        RegionGeometry? expected = plausible ? Compute(values) : null;
        if (expected is null)
        {
            throw new SharedRegionFormatException(
                $"Region '{path}' has implausible options in its header ({string.Join(", ", values)}); the file is corrupt. Delete it and create it again.");
        }

        // SAFETY: TotalBytesOffset + 8 and SectionTableEnd lie inside the mapped header (256 bytes).
        long total = Unsafe.ReadUnaligned<long>(header + RegionLayout.TotalBytesOffset);
        int sectionCount = Unsafe.ReadUnaligned<int>(header + RegionLayout.SectionCountOffset);
        if (sectionCount != RegionLayout.SectionCount)
        {
            throw new SharedRegionFormatException(
                $"Region '{path}' declares {sectionCount} sections; layout {RegionLayout.MajorVersion}.x has {RegionLayout.SectionCount}. The file is corrupt; delete it.");
        }

        if (total > fileLength)
        {
            throw new SharedRegionFormatException(
                $"Region '{path}' is truncated: the header says {total} bytes but the file has {fileLength}. Delete it and create it again.");
        }

        for (int s = 0; s < RegionLayout.SectionCount; s++)
        {
            // SAFETY: the 5 entries end at SectionTableEnd (168), inside the mapped 256-byte header.
            byte* entry = header + RegionLayout.SectionTableOffset + (s * RegionLayout.SectionEntryBytes);
            long offset = Unsafe.ReadUnaligned<long>(entry);
            long length = Unsafe.ReadUnaligned<long>(entry + sizeof(long));
            if (offset < RegionLayout.HeaderBytes || length < 0 || offset > total || length > total - offset
                || offset % RegionLayout.SectionAlignment != 0)
            {
                throw new SharedRegionFormatException(
                    $"Region '{path}': section {RegionLayout.SectionNames[s]} (offset {offset}, length {length}) lies outside the {total}-byte region or is misaligned. The file is corrupt; delete it.");
            }

            if (offset != expected.SectionOffsets[s] || length != expected.SectionLengths[s])
            {
                throw new SharedRegionFormatException(
                    $"Region '{path}': section {RegionLayout.SectionNames[s]} is at offset {offset} length {length}, but the header's options put it at offset {expected.SectionOffsets[s]} length {expected.SectionLengths[s]}. The file is corrupt; delete it.");
            }
        }

        if (total != expected.TotalBytes)
        {
            throw new SharedRegionFormatException(
                $"Region '{path}': header says {total} bytes, its options need {expected.TotalBytes}. The file is corrupt; delete it.");
        }

        return expected;
    }

    /// <summary>Writes everything in the header except LayoutVersion (the creator writes that last).</summary>
    internal unsafe void WriteHeaderBody(byte* header, int pid, long startTime)
    {
        // SAFETY: the creator mapped TotalBytes >= HeaderBytes bytes and no other process reads any of these
        // fields before it sees LayoutVersion (written later with release).
        Unsafe.WriteUnaligned(header + RegionLayout.MagicOffset, RegionLayout.Magic);
        Unsafe.WriteUnaligned(header + RegionLayout.HeaderBytesOffset, RegionLayout.HeaderBytes);
        Unsafe.WriteUnaligned(header + RegionLayout.TotalBytesOffset, TotalBytes);
        Unsafe.WriteUnaligned(header + RegionLayout.CreatorPidOffset, pid);
        Unsafe.WriteUnaligned(header + RegionLayout.PageSizeOffset, Environment.SystemPageSize);
        Unsafe.WriteUnaligned(header + RegionLayout.CreatorStartTimeOffset, startTime);
        Unsafe.WriteUnaligned(header + RegionLayout.CreatedAtOffset, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        int[] values = OptionValues;
        for (int i = 0; i < values.Length; i++)
        {
            Unsafe.WriteUnaligned(header + RegionLayout.OptionsOffset + (i * sizeof(int)), values[i]);
        }

        Unsafe.WriteUnaligned(header + RegionLayout.SectionCountOffset, RegionLayout.SectionCount);
        for (int s = 0; s < RegionLayout.SectionCount; s++)
        {
            byte* entry = header + RegionLayout.SectionTableOffset + (s * RegionLayout.SectionEntryBytes);
            Unsafe.WriteUnaligned(entry, SectionOffsets[s]);
            Unsafe.WriteUnaligned(entry + sizeof(long), SectionLengths[s]);
        }
    }

    private static RegionGeometry? Compute(int[] values)
    {
        long[] lengths =
        [
            (long)values[6] * AgentSlotLayout.SlotBytes,
            (long)values[7] * DirectoryEntryLayout.EntryBytes,
            ChangeSequenceLayout.SectionBytes,
            StateSlotLayout.TagBytes(values[0]) + ((long)values[0] * StateSlotLayout.SlotBytes(values[1], values[2])),
            ((long)values[3] * DirectoryEntryLayout.EntryBytes) + ((long)values[3] * QueueLayout.QueueBytes(values[4], values[5])),
        ];
        var offsets = new long[lengths.Length];
        long cursor = RegionLayout.HeaderBytes;
        for (int s = 0; s < lengths.Length; s++)
        {
            offsets[s] = cursor;
            cursor = RegionLayout.AlignUp(cursor + lengths[s], RegionLayout.SectionAlignment);
        }

        long total = RegionLayout.AlignUp(cursor, Environment.SystemPageSize);
        return total > MaxTotalBytes ? null : new RegionGeometry(values, offsets, lengths, total);
    }

    private static bool InRange(int value, int min, int max) => value >= min && value <= max;

    private static bool IsPowerOfTwo(int value, int min, int max) => InRange(value, min, max) && (value & (value - 1)) == 0;

    private static void CheckRange(int value, int min, int max, string name)
    {
        if (!InRange(value, min, max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"SharedRegionOptions.{name} must be between {min} and {max}.");
        }
    }

    private static void CheckPowerOfTwo(int value, int min, int max, string name)
    {
        if (!IsPowerOfTwo(value, min, max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"SharedRegionOptions.{name} must be a power of two between {min} and {max}.");
        }
    }
}
