// Byte layouts of the fixed-size records inside each section. Offsets are built from the previous field;
// tests pin the sizes. See docs/shared-region-format.md for the drawings.
namespace Unjucks.SharedMemory.Layout;

/// <summary>
/// One agent slot (128 bytes, one slot per pair of cache lines so two agents never share a line).
/// <code>
///   0  8  Word            low 32: state (0 free, 1 claiming, 2 active); high 32: generation
///   8  4  Pid
///  12  4  reserved
///  16  8  StartTime       /proc start time of Pid
///  24  8  Heartbeat       bumped by the owner
///  32  8  Operations      user counter
///  40  8  BytesAllocated  user counter
///  48  8  RegisteredAtUnixMs
///  56 72  reserved
/// </code>
/// </summary>
internal static class AgentSlotLayout
{
    internal const int WordOffset = 0;
    internal const int PidOffset = WordOffset + sizeof(long);
    internal const int StartTimeOffset = PidOffset + (2 * sizeof(int));
    internal const int HeartbeatOffset = StartTimeOffset + sizeof(long);
    internal const int OperationsOffset = HeartbeatOffset + sizeof(long);
    internal const int BytesAllocatedOffset = OperationsOffset + sizeof(long);
    internal const int RegisteredAtOffset = BytesAllocatedOffset + sizeof(long);
    internal const int SlotBytes = 128;

    internal const int StateFree = 0;
    internal const int StateClaiming = 1;
    internal const int StateActive = 2;
}

/// <summary>
/// A named directory entry (128 bytes), used by the lock table and the queue directory.
/// <code>
///   0  4  State       0 free; -1 ready; otherwise the agent id of the process writing the name
///   4  4  NameLength  UTF-8 bytes
///   8 56  Name
///  64 64  Payload     locks: Owner (i32 futex word) at 64, Waiters (i32) at 68; queues: unused
/// </code>
/// </summary>
internal static class DirectoryEntryLayout
{
    internal const int StateOffset = 0;
    internal const int NameLengthOffset = StateOffset + sizeof(int);
    internal const int NameOffset = NameLengthOffset + sizeof(int);
    internal const int MaxNameBytes = 56;
    internal const int PayloadOffset = NameOffset + MaxNameBytes;
    internal const int LockOwnerOffset = PayloadOffset;
    internal const int LockWaitersOffset = LockOwnerOffset + sizeof(int);
    internal const int EntryBytes = 128;

    internal const int StateFree = 0;
    internal const int StateReady = -1;
}

/// <summary>
/// The change sequence (256 bytes): the counter on one line, the waiter count on another (written by waiters,
/// read by every changer).
/// <code>
///    0  8  Counter   64-bit count of successful state changes; its low 32 bits (offset 0, little-endian)
///                    are the futex word waiters park on
///    8 120  reserved
///  128  4  Waiters   processes currently parked
/// </code>
/// </summary>
internal static class ChangeSequenceLayout
{
    internal const int CounterOffset = 0;
    internal const int WaitersOffset = RegionLayout.SectionAlignment;
    internal const int SectionBytes = 2 * RegionLayout.SectionAlignment;
}

/// <summary>
/// The state table: StateSlots one-byte tags (rounded up to 128), then StateSlots slots.
/// <code>
///  slot:
///   0   8  Seq        seqlock word, see SharedStateTable
///   8   4  Hash       CRC32C of the key
///  12   4  KeyLength  0 = unbound; set once (release) and never changed
///  16  48  reserved
///  64   K  Key        K = AlignUp(MaxKeyBytes, 8)
///  64+K B  Buffer 0   B = 16 + AlignUp(MaxValueBytes, 8): Version i64, Length i32 (-1 = deleted), pad, bytes
///  ..   B  Buffer 1
///  slot size = AlignUp(64 + K + 2B, 64)
/// </code>
/// </summary>
internal static class StateSlotLayout
{
    internal const int SeqOffset = 0;
    internal const int HashOffset = SeqOffset + sizeof(long);
    internal const int KeyLengthOffset = HashOffset + sizeof(uint);
    internal const int KeyOffset = 64;
    internal const int BufferVersionOffset = 0;
    internal const int BufferLengthOffset = BufferVersionOffset + sizeof(long);
    internal const int BufferValueOffset = BufferLengthOffset + (2 * sizeof(int));
    internal const int DeletedLength = -1;

    internal static int KeyBytes(int maxKeyBytes) => RegionLayout.AlignUp(maxKeyBytes, 8);

    internal static int BufferBytes(int maxValueBytes) => BufferValueOffset + RegionLayout.AlignUp(maxValueBytes, 8);

    internal static int Buffer0Offset(int maxKeyBytes) => KeyOffset + KeyBytes(maxKeyBytes);

    internal static int SlotBytes(int maxKeyBytes, int maxValueBytes) =>
        RegionLayout.AlignUp(Buffer0Offset(maxKeyBytes) + (2 * BufferBytes(maxValueBytes)), 64);

    internal static int TagBytes(int stateSlots) => RegionLayout.AlignUp(stateSlots, RegionLayout.SectionAlignment);
}

/// <summary>
/// The queues section: MaxQueues directory entries, then MaxQueues queue bodies.
/// <code>
///  queue body:
///    0  8  EnqueuePos       (own 128-byte line: producers); bit 63 = completed (CompletedBit), bits 0-62 the position
///  128  8  DequeuePos       (own line: consumers)
///  256  4  NotEmpty futex;  260  4  NotEmptyWaiters
///  384  4  NotFull futex;   388  4  NotFullWaiters
///  512     Capacity message slots
///  message slot:
///    0  8  Seq      Vyukov sequence
///    8  8  Owner    reservation: high 32 = (2 * position + role) mod 2^32 (role 0 producer, 1 consumer),
///                   low 32 = agent id (0 = none); meaningful only while Seq says the step is not done
///   16  4  Length   payload bytes, -1 = record of a dead producer (skipped)
///   20  4  reserved
///   24  M  Payload  M = MessageBytes; slot size = AlignUp(24 + M, 64)
/// </code>
/// </summary>
internal static class QueueLayout
{
    internal const int EnqueuePosOffset = 0;
    internal const int DequeuePosOffset = EnqueuePosOffset + RegionLayout.SectionAlignment;
    internal const int NotEmptyOffset = DequeuePosOffset + RegionLayout.SectionAlignment;
    internal const int NotEmptyWaitersOffset = NotEmptyOffset + sizeof(int);
    internal const int NotFullOffset = NotEmptyOffset + RegionLayout.SectionAlignment;
    internal const int NotFullWaitersOffset = NotFullOffset + sizeof(int);
    internal const int ControlBytes = NotFullOffset + RegionLayout.SectionAlignment;

    /// <summary>Bit 63 of EnqueuePos: set once by Complete; no producer claims a position after it.</summary>
    internal const long CompletedBit = long.MinValue;

    /// <summary>The position bits of EnqueuePos.</summary>
    internal const long PositionMask = long.MaxValue;

    internal const int SlotSeqOffset = 0;
    internal const int SlotOwnerOffset = SlotSeqOffset + sizeof(long);
    internal const int SlotLengthOffset = SlotOwnerOffset + sizeof(long);
    internal const int SlotPayloadOffset = SlotLengthOffset + (2 * sizeof(int));
    internal const int DeadRecordLength = -1;

    internal static int SlotBytes(int messageBytes) => RegionLayout.AlignUp(SlotPayloadOffset + messageBytes, 64);

    internal static long QueueBytes(int capacity, int messageBytes) =>
        ControlBytes + ((long)capacity * SlotBytes(messageBytes));
}
