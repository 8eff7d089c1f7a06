using System.Buffers.Binary;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>
/// Byte layout of a job segment: a header, then one task deque per agent, then the task table, in one
/// block (one file per job, next to the region file).
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
/// 48      8     table offset (= deques offset + N * deque stride)
/// 56      4     creator pid
/// 60      68    reserved (zero)
///
/// block
/// offset                       size                                 part
/// ---------------------------  -----------------------------------  -----------------------
/// 0                            128                                  header
/// DequesOffset                 N * TaskDequeLayout.SizeOf(dq cap)   agent deques, agent i at DequesOffset + i*stride
/// DequesOffset + N*stride      TaskTableLayout.SizeOf(task cap)     task table
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

    /// <summary>Where the task table starts.</summary>
    public static long TableOffset(int agentCount, int dequeCapacity) => DequesOffset + agentCount * DequeStride(dequeCapacity);

    /// <summary>Total bytes of a segment with these capacities.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A capacity is out of range.</exception>
    public static long SizeOf(int agentCount, int dequeCapacity, int taskCapacity)
    {
        ValidateAgentCount(agentCount);
        return TableOffset(agentCount, dequeCapacity) + TaskTableLayout.SizeOf(taskCapacity);
    }

    internal static void ValidateAgentCount(int agentCount)
    {
        if (agentCount < 1 || agentCount > MaxAgents)
        {
            throw new ArgumentOutOfRangeException(nameof(agentCount), agentCount, $"A job segment holds 1 to {MaxAgents} agent deques.");
        }
    }

    /// <summary>Writes the header fields except the version word (the creator writes that last).</summary>
    internal static void WriteHeader(Span<byte> header, int agentCount, int dequeCapacity, int taskCapacity, int creatorPid)
    {
        header[..HeaderBytes].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header[MagicOffset..], Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[AgentCountOffset..], agentCount);
        BinaryPrimitives.WriteInt32LittleEndian(header[DequeCapacityOffset..], dequeCapacity);
        BinaryPrimitives.WriteInt32LittleEndian(header[TaskCapacityOffset..], taskCapacity);
        BinaryPrimitives.WriteInt64LittleEndian(header[TotalSizeOffset..], SizeOf(agentCount, dequeCapacity, taskCapacity));
        BinaryPrimitives.WriteInt64LittleEndian(header[DequesOffsetOffset..], DequesOffset);
        BinaryPrimitives.WriteInt64LittleEndian(header[DequeStrideOffset..], DequeStride(dequeCapacity));
        BinaryPrimitives.WriteInt64LittleEndian(header[TableOffsetOffset..], TableOffset(agentCount, dequeCapacity));
        BinaryPrimitives.WriteInt32LittleEndian(header[CreatorPidOffset..], creatorPid);
    }

    /// <summary>
    /// Checks a header against the file length; throws <see cref="JobSegmentFormatException"/> saying what is wrong.
    /// </summary>
    /// <returns>(agent count, deque capacity, task capacity).</returns>
    internal static (int Agents, int DequeCapacity, int TaskCapacity) Validate(ReadOnlySpan<byte> header, int version, long fileLength, string path)
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
        long expected;
        try
        {
            expected = SizeOf(agents, dequeCapacity, taskCapacity);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new JobSegmentFormatException(path, $"header capacities are invalid (agents {agents}, deque capacity {dequeCapacity}, task capacity {taskCapacity}): {e.Message}");
        }

        long total = BinaryPrimitives.ReadInt64LittleEndian(header[TotalSizeOffset..]);
        long dequesOffset = BinaryPrimitives.ReadInt64LittleEndian(header[DequesOffsetOffset..]);
        long stride = BinaryPrimitives.ReadInt64LittleEndian(header[DequeStrideOffset..]);
        long tableOffset = BinaryPrimitives.ReadInt64LittleEndian(header[TableOffsetOffset..]);
        if (total != expected || dequesOffset != DequesOffset || stride != DequeStride(dequeCapacity) || tableOffset != TableOffset(agents, dequeCapacity))
        {
            throw new JobSegmentFormatException(path,
                $"header offsets disagree with its capacities (total {total} vs {expected}, deques at {dequesOffset} vs {DequesOffset}, stride {stride} vs {DequeStride(dequeCapacity)}, table at {tableOffset} vs {TableOffset(agents, dequeCapacity)})");
        }

        if (fileLength < total)
        {
            throw new JobSegmentFormatException(path, $"the file is {fileLength} bytes but its header describes {total} bytes (truncated)");
        }

        return (agents, dequeCapacity, taskCapacity);
    }
}
