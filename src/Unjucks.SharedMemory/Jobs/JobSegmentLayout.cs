using System.Buffers.Binary;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// Byte layout of a job segment: a header, then one task deque per agent, one inbox per agent, then the task
/// table, in one block (one file per job, next to the region file).
/// </summary>
/// <remarks>
/// <code>
/// header (128 bytes)
/// offset  size  field
/// ------  ----  ------------------------------------------------------------------------------
/// 0       8     magic: ASCII "UJOBS" then three zero bytes
/// 8       4     layout version: major &lt;&lt; 16 | minor; 0 until ready, written LAST (release)
/// 12      4     agent count N
/// 16      4     deque capacity (ids per agent deque, a power of two)
/// 20      4     task capacity
/// 24      8     total size in bytes
/// 32      8     deques offset (= 128)
/// 40      8     deque stride (= TaskDequeLayout.SizeOf(deque capacity))
/// 48      8     table offset (= inboxes offset + N * inbox stride)
/// 56      4     creator pid
/// 60      4     inbox capacity (ids per agent inbox, a power of two)
/// 64      8     inboxes offset (= deques offset + N * deque stride)
/// 72      8     inbox stride (= TaskInboxLayout.SizeOf(inbox capacity))
/// 80      48    reserved (zero)
///
/// block
/// offset                       size                                 part
/// ---------------------------  -----------------------------------  -----------------------
/// 0                            128                                  header
/// DequesOffset                 N * TaskDequeLayout.SizeOf(dq cap)   agent deques, agent i at DequesOffset + i*stride
/// InboxesOffset                N * TaskInboxLayout.SizeOf(in cap)   agent inboxes, agent i at InboxesOffset + i*istride
/// InboxesOffset + N*istride    TaskTableLayout.SizeOf(task cap)     task table
/// </code>
/// A major version change means an incompatible layout (openers refuse it); a minor change only adds
/// meaning to reserved bytes.
/// </remarks>
public static class JobSegmentLayout
{
    /// <summary>The magic at offset 0 ("UJOBS\0\0\0", little-endian 64-bit).</summary>
    public const ulong Magic = 0x0000_0053_424F_4A55; // 'U' 'J' 'O' 'B' 'S' 0 0 0

    /// <summary>Layout major version written by this code.</summary>
    public const int MajorVersion = 1;

    /// <summary>Layout minor version written by this code.</summary>
    public const int MinorVersion = 0;

    /// <summary>Offset of the magic.</summary>
    public const int MagicOffset = 0;

    /// <summary>Offset of the layout version (the "ready" word).</summary>
    public const int VersionOffset = MagicOffset + 8;

    /// <summary>Offset of the agent count.</summary>
    public const int AgentCountOffset = VersionOffset + 4;

    /// <summary>Offset of the deque capacity.</summary>
    public const int DequeCapacityOffset = AgentCountOffset + 4;

    /// <summary>Offset of the task capacity.</summary>
    public const int TaskCapacityOffset = DequeCapacityOffset + 4;

    /// <summary>Offset of the total size.</summary>
    public const int TotalSizeOffset = TaskCapacityOffset + 4;

    /// <summary>Offset of the deques offset.</summary>
    public const int DequesOffsetOffset = TotalSizeOffset + 8;

    /// <summary>Offset of the deque stride.</summary>
    public const int DequeStrideOffset = DequesOffsetOffset + 8;

    /// <summary>Offset of the table offset.</summary>
    public const int TableOffsetOffset = DequeStrideOffset + 8;

    /// <summary>Offset of the creator pid.</summary>
    public const int CreatorPidOffset = TableOffsetOffset + 8;

    /// <summary>Offset of the inbox capacity.</summary>
    public const int InboxCapacityOffset = CreatorPidOffset + 4;

    /// <summary>Offset of the inboxes offset.</summary>
    public const int InboxesOffsetOffset = InboxCapacityOffset + 4;

    /// <summary>Offset of the inbox stride.</summary>
    public const int InboxStrideOffset = InboxesOffsetOffset + 8;

    /// <summary>Header size.</summary>
    public const int HeaderBytes = TaskDequeLayout.LineBytes;

    /// <summary>Largest agent count (agent slots must fit the task state word).</summary>
    public const int MaxAgents = 1022;

    /// <summary>Packed version word for this code.</summary>
    public const int Version = (MajorVersion << 16) | MinorVersion;

    /// <summary>Where the deques start.</summary>
    public const long DequesOffset = HeaderBytes;

    /// <summary>Bytes between consecutive agent deques.</summary>
    public static long DequeStride(int dequeCapacity) => TaskDequeLayout.SizeOf(dequeCapacity);

    /// <summary>Where agent <paramref name="agent"/>'s deque starts.</summary>
    public static long DequeOffset(int agent, int dequeCapacity) => DequesOffset + agent * DequeStride(dequeCapacity);

    /// <summary>Where the inboxes start.</summary>
    public static long InboxesOffset(int agentCount, int dequeCapacity) => DequesOffset + agentCount * DequeStride(dequeCapacity);

    /// <summary>Bytes between consecutive agent inboxes.</summary>
    public static long InboxStride(int inboxCapacity) => TaskInboxLayout.SizeOf(inboxCapacity);

    /// <summary>Where agent <paramref name="agent"/>'s inbox starts.</summary>
    public static long InboxOffset(int agent, int agentCount, int dequeCapacity, int inboxCapacity) =>
        InboxesOffset(agentCount, dequeCapacity) + agent * InboxStride(inboxCapacity);

    /// <summary>Where the task table starts.</summary>
    public static long TableOffset(int agentCount, int dequeCapacity, int inboxCapacity) =>
        InboxesOffset(agentCount, dequeCapacity) + agentCount * InboxStride(inboxCapacity);

    /// <summary>Total bytes of a segment with these capacities.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A capacity is out of range.</exception>
    public static long SizeOf(int agentCount, int dequeCapacity, int inboxCapacity, int taskCapacity)
    {
        ValidateAgentCount(agentCount);
        return TableOffset(agentCount, dequeCapacity, inboxCapacity) + TaskTableLayout.SizeOf(taskCapacity);
    }

    internal static void ValidateAgentCount(int agentCount)
    {
        if (agentCount < 1 || agentCount > MaxAgents)
        {
            throw new ArgumentOutOfRangeException(nameof(agentCount), agentCount, $"A job segment holds 1 to {MaxAgents} agent deques.");
        }
    }

    /// <summary>Writes the header fields except the version word (the creator writes that last).</summary>
    internal static void WriteHeader(Span<byte> header, int agentCount, int dequeCapacity, int inboxCapacity, int taskCapacity, int creatorPid)
    {
        header[..HeaderBytes].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header[MagicOffset..], Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[AgentCountOffset..], agentCount);
        BinaryPrimitives.WriteInt32LittleEndian(header[DequeCapacityOffset..], dequeCapacity);
        BinaryPrimitives.WriteInt32LittleEndian(header[TaskCapacityOffset..], taskCapacity);
        BinaryPrimitives.WriteInt64LittleEndian(header[TotalSizeOffset..], SizeOf(agentCount, dequeCapacity, inboxCapacity, taskCapacity));
        BinaryPrimitives.WriteInt64LittleEndian(header[DequesOffsetOffset..], DequesOffset);
        BinaryPrimitives.WriteInt64LittleEndian(header[DequeStrideOffset..], DequeStride(dequeCapacity));
        BinaryPrimitives.WriteInt64LittleEndian(header[TableOffsetOffset..], TableOffset(agentCount, dequeCapacity, inboxCapacity));
        BinaryPrimitives.WriteInt32LittleEndian(header[CreatorPidOffset..], creatorPid);
        BinaryPrimitives.WriteInt32LittleEndian(header[InboxCapacityOffset..], inboxCapacity);
        BinaryPrimitives.WriteInt64LittleEndian(header[InboxesOffsetOffset..], InboxesOffset(agentCount, dequeCapacity));
        BinaryPrimitives.WriteInt64LittleEndian(header[InboxStrideOffset..], InboxStride(inboxCapacity));
    }

    /// <summary>
    /// Checks a header against the file length; throws <see cref="JobSegmentFormatException"/> saying what is wrong.
    /// </summary>
    /// <returns>(agent count, deque capacity, inbox capacity, task capacity).</returns>
    internal static (int Agents, int DequeCapacity, int InboxCapacity, int TaskCapacity) Validate(ReadOnlySpan<byte> header, int version, long fileLength, string path)
    {
        if (fileLength < HeaderBytes)
        {
            throw new JobSegmentFormatException(path, $"the file is {fileLength} bytes, shorter than the {HeaderBytes}-byte header (truncated or not a job segment)");
        }

        ulong magic = BinaryPrimitives.ReadUInt64LittleEndian(header[MagicOffset..]);
        if (magic != Magic)
        {
            throw new JobSegmentFormatException(path, $"bad magic 0x{magic:X16} (expected 0x{Magic:X16}, \"UJOBS\"): not a job segment");
        }

        if (version == 0)
        {
            throw new JobSegmentFormatException(path, "its creator never marked it ready (version word is 0); the creator died during creation or is still creating it");
        }

        int major = version >>> 16;
        if (major != MajorVersion)
        {
            throw new JobSegmentFormatException(path, $"layout version {major}.{version & 0xFFFF}, this code reads major version {MajorVersion}; use a matching build");
        }

        int agents = BinaryPrimitives.ReadInt32LittleEndian(header[AgentCountOffset..]);
        int dequeCapacity = BinaryPrimitives.ReadInt32LittleEndian(header[DequeCapacityOffset..]);
        int taskCapacity = BinaryPrimitives.ReadInt32LittleEndian(header[TaskCapacityOffset..]);
        int inboxCapacity = BinaryPrimitives.ReadInt32LittleEndian(header[InboxCapacityOffset..]);
        long expected;
        try
        {
            expected = SizeOf(agents, dequeCapacity, inboxCapacity, taskCapacity);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new JobSegmentFormatException(path,
                $"header capacities are invalid (agents {agents}, deque capacity {dequeCapacity}, inbox capacity {inboxCapacity}, task capacity {taskCapacity}): {e.Message}");
        }

        long total = BinaryPrimitives.ReadInt64LittleEndian(header[TotalSizeOffset..]);
        long dequesOffset = BinaryPrimitives.ReadInt64LittleEndian(header[DequesOffsetOffset..]);
        long stride = BinaryPrimitives.ReadInt64LittleEndian(header[DequeStrideOffset..]);
        long tableOffset = BinaryPrimitives.ReadInt64LittleEndian(header[TableOffsetOffset..]);
        long inboxesOffset = BinaryPrimitives.ReadInt64LittleEndian(header[InboxesOffsetOffset..]);
        long inboxStride = BinaryPrimitives.ReadInt64LittleEndian(header[InboxStrideOffset..]);
        if (total != expected || dequesOffset != DequesOffset || stride != DequeStride(dequeCapacity)
            || inboxesOffset != InboxesOffset(agents, dequeCapacity) || inboxStride != InboxStride(inboxCapacity)
            || tableOffset != TableOffset(agents, dequeCapacity, inboxCapacity))
        {
            throw new JobSegmentFormatException(path,
                $"header offsets disagree with its capacities (total {total} vs {expected}, deques at {dequesOffset} vs {DequesOffset}, stride {stride} vs {DequeStride(dequeCapacity)}, "
                + $"inboxes at {inboxesOffset} vs {InboxesOffset(agents, dequeCapacity)}, inbox stride {inboxStride} vs {InboxStride(inboxCapacity)}, table at {tableOffset} vs {TableOffset(agents, dequeCapacity, inboxCapacity)})");
        }

        if (fileLength < total)
        {
            throw new JobSegmentFormatException(path, $"the file is {fileLength} bytes but its header describes {total} bytes (truncated)");
        }

        return (agents, dequeCapacity, inboxCapacity, taskCapacity);
    }
}
