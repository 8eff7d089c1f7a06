// GcPauseLayout: the two kinds of state-table values the coordinated-GC round exchanges through a SharedRegion
// (protocol in docs/coordinated-gc.md). Both are plain little-endian records inside one state-table value, so
// the table's seqlock gives every reader a whole copy (never a torn one) and its version gives the coordinator a
// compare-and-swap on the request.
//
// Key "gc/request" (one per region; written by coordinators only), 32 bytes:
//
//   0          1        2          4                 8                     16               20                  24              28       32
//   +----------+--------+----------+-----------------+---------------------+----------------+-------------------+---------------+--------+
//   | format=1 | state  | reserved | coordinator pid | epoch (i64)         | coord. slot    | coord. generation | pause budget  | reserv.|
//   |  (u8)    | (u8)   |  (u16)   |  (i32)          |                     |  (i32)         |  (i32)            |  ms (i32)     | (i32)  |
//   +----------+--------+----------+-----------------+---------------------+----------------+-------------------+---------------+--------+
//   state: 1 Requested (agents pause at their next safe point), 2 Resumed (round over; agents go on)
//
// Key "gc/ack/<agent slot>" (one per agent; written by that agent only), 64 bytes:
//
//   0          1       2        3        4        8              16             24             32           36          40
//   +----------+-------+--------+--------+--------+--------------+--------------+--------------+------------+-----------+
//   | format=1 | phase | reason | source | pid    | epoch (i64)  | bytes before | bytes after  | gen2 before| gen2 after|
//   +----------+-------+--------+--------+--------+--------------+--------------+--------------+------------+-----------+
//   40                       48                       56                    64
//   +------------------------+------------------------+---------------------+
//   | GC time (ticks)        | GC index (i64)         | paused for (ticks)  |
//   +------------------------+------------------------+---------------------+
//   phase: 1 Paused (the agent is blocked; bytes before = GC.GetTotalMemory(false), gen2 before valid),
//          2 Released (everything valid)
//   reason (phase 2): 1 resumed by the coordinator, 2 the request's pause budget ran out, 3 the coordinator died,
//   4 the agent's caller cancelled, 5 the request was replaced by another epoch
//   source (phase 2): 1 = bytes before/after and GC time are the agent runtime's own record of the full blocking
//   GC that ran during the pause (GC.GetGCMemoryInfo(GCKind.FullBlocking): heap size on entry and on exit summed
//   over generations, pause durations), GC index = that GC's index; 2 = no full blocking GC was seen during the
//   pause: GC.GetTotalMemory(false) at ack and at release, GC.GetTotalPauseDuration() growth, GC index 0.
//   gen2 = GC.CollectionCount(2) of the agent process; paused for = the agent's own stopwatch, ack to release.
using System.Buffers.Binary;
using System.Globalization;

namespace Unjucks.Agents.Gc;

/// <summary>State of the region's GC request.</summary>
internal enum GcRequestState : byte
{
    Requested = 1,
    Resumed = 2,
}

/// <summary>Phase of one agent's acknowledgement.</summary>
internal enum GcAckPhase : byte
{
    Paused = 1,
    Released = 2,
}

/// <summary>Why an agent left its pause.</summary>
internal enum GcReleaseReason : byte
{
    None = 0,
    Resumed = 1,
    BudgetExpired = 2,
    CoordinatorDied = 3,
    Cancelled = 4,
    Superseded = 5,
}

/// <summary>Where an acknowledgement's byte and time values come from (see the table above).</summary>
internal enum GcAckSource : byte
{
    None = 0,
    InducedGc = 1,
    TotalMemory = 2,
}

/// <summary>The value of <see cref="GcPauseLayout.RequestKey"/>.</summary>
internal readonly record struct GcPauseRequest(
    GcRequestState State, long Epoch, int CoordinatorPid, int CoordinatorSlot, int CoordinatorGeneration, int PauseBudgetMs);

/// <summary>The value of an agent's <see cref="GcPauseLayout.AckKey"/>.</summary>
internal readonly record struct GcPauseAck(
    GcAckPhase Phase, GcReleaseReason Reason, GcAckSource Source, int Pid, long Epoch, long BytesBefore, long BytesAfter, int Gen2Before, int Gen2After,
    long GcTimeTicks, long GcIndex, long PausedTicks);

/// <summary>Keys, offsets and codecs of the coordinated-GC records (see the table at the top of this file).</summary>
internal static class GcPauseLayout
{
    public const string RequestKey = "gc/request";
    public const string AckKeyPrefix = "gc/ack/";
    public const byte Format = 1;

    // Request: each offset follows from the previous field.
    public const int RequestFormatOffset = 0;
    public const int RequestStateOffset = RequestFormatOffset + 1;
    public const int RequestCoordinatorPidOffset = RequestStateOffset + 1 + 2; // u16 reserved
    public const int RequestEpochOffset = RequestCoordinatorPidOffset + 4;
    public const int RequestCoordinatorSlotOffset = RequestEpochOffset + 8;
    public const int RequestCoordinatorGenerationOffset = RequestCoordinatorSlotOffset + 4;
    public const int RequestPauseBudgetOffset = RequestCoordinatorGenerationOffset + 4;
    public const int RequestBytes = RequestPauseBudgetOffset + 4 + 4; // i32 reserved

    // Ack.
    public const int AckFormatOffset = 0;
    public const int AckPhaseOffset = AckFormatOffset + 1;
    public const int AckReasonOffset = AckPhaseOffset + 1;
    public const int AckSourceOffset = AckReasonOffset + 1;
    public const int AckPidOffset = AckSourceOffset + 1;
    public const int AckEpochOffset = AckPidOffset + 4;
    public const int AckBytesBeforeOffset = AckEpochOffset + 8;
    public const int AckBytesAfterOffset = AckBytesBeforeOffset + 8;
    public const int AckGen2BeforeOffset = AckBytesAfterOffset + 8;
    public const int AckGen2AfterOffset = AckGen2BeforeOffset + 4;
    public const int AckGcTimeOffset = AckGen2AfterOffset + 4;
    public const int AckGcIndexOffset = AckGcTimeOffset + 8;
    public const int AckPausedForOffset = AckGcIndexOffset + 8;
    public const int AckBytes = AckPausedForOffset + 8;

    /// <summary>The largest value either record needs: the region's MaxValueBytes must be at least this.</summary>
    public const int MaxRecordBytes = AckBytes;

    public static string AckKey(int agentSlot) => AckKeyPrefix + agentSlot.ToString(CultureInfo.InvariantCulture);

    public static void Write(Span<byte> d, in GcPauseRequest r)
    {
        d[..RequestBytes].Clear();
        d[RequestFormatOffset] = Format;
        d[RequestStateOffset] = (byte)r.State;
        BinaryPrimitives.WriteInt32LittleEndian(d[RequestCoordinatorPidOffset..], r.CoordinatorPid);
        BinaryPrimitives.WriteInt64LittleEndian(d[RequestEpochOffset..], r.Epoch);
        BinaryPrimitives.WriteInt32LittleEndian(d[RequestCoordinatorSlotOffset..], r.CoordinatorSlot);
        BinaryPrimitives.WriteInt32LittleEndian(d[RequestCoordinatorGenerationOffset..], r.CoordinatorGeneration);
        BinaryPrimitives.WriteInt32LittleEndian(d[RequestPauseBudgetOffset..], r.PauseBudgetMs);
    }

    /// <summary>Decodes a request; throws <see cref="InvalidDataException"/> for a value that is not one (wrong length or format).</summary>
    public static GcPauseRequest ReadRequest(ReadOnlySpan<byte> s)
    {
        if (s.Length != RequestBytes || s[RequestFormatOffset] != Format || s[RequestStateOffset] is not ((byte)GcRequestState.Requested or (byte)GcRequestState.Resumed))
        {
            throw new InvalidDataException(
                $"The region's '{RequestKey}' value is not a format-{Format} GC request ({s.Length} bytes, format byte {(s.IsEmpty ? -1 : s[0])}); another program or version wrote it. Delete the key or use one library version.");
        }

        return new GcPauseRequest(
            (GcRequestState)s[RequestStateOffset],
            BinaryPrimitives.ReadInt64LittleEndian(s[RequestEpochOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[RequestCoordinatorPidOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[RequestCoordinatorSlotOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[RequestCoordinatorGenerationOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[RequestPauseBudgetOffset..]));
    }

    public static void Write(Span<byte> d, in GcPauseAck a)
    {
        d[..AckBytes].Clear();
        d[AckFormatOffset] = Format;
        d[AckPhaseOffset] = (byte)a.Phase;
        d[AckReasonOffset] = (byte)a.Reason;
        d[AckSourceOffset] = (byte)a.Source;
        BinaryPrimitives.WriteInt32LittleEndian(d[AckPidOffset..], a.Pid);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckEpochOffset..], a.Epoch);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckBytesBeforeOffset..], a.BytesBefore);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckBytesAfterOffset..], a.BytesAfter);
        BinaryPrimitives.WriteInt32LittleEndian(d[AckGen2BeforeOffset..], a.Gen2Before);
        BinaryPrimitives.WriteInt32LittleEndian(d[AckGen2AfterOffset..], a.Gen2After);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckGcTimeOffset..], a.GcTimeTicks);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckGcIndexOffset..], a.GcIndex);
        BinaryPrimitives.WriteInt64LittleEndian(d[AckPausedForOffset..], a.PausedTicks);
    }

    /// <summary>Decodes an acknowledgement; false for a value that is not one (treated as "no acknowledgement").</summary>
    public static bool TryReadAck(ReadOnlySpan<byte> s, out GcPauseAck ack)
    {
        ack = default;
        if (s.Length != AckBytes || s[AckFormatOffset] != Format || s[AckPhaseOffset] is not ((byte)GcAckPhase.Paused or (byte)GcAckPhase.Released))
        {
            return false;
        }

        ack = new GcPauseAck(
            (GcAckPhase)s[AckPhaseOffset],
            (GcReleaseReason)s[AckReasonOffset],
            (GcAckSource)s[AckSourceOffset],
            BinaryPrimitives.ReadInt32LittleEndian(s[AckPidOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckEpochOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckBytesBeforeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckBytesAfterOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[AckGen2BeforeOffset..]),
            BinaryPrimitives.ReadInt32LittleEndian(s[AckGen2AfterOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckGcTimeOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckGcIndexOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(s[AckPausedForOffset..]));
        return true;
    }
}
