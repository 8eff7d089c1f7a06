using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Sessions;

/// <summary>
/// Byte layout of an agent session's one shared file (<c>&lt;session&gt;.session</c>): header, per-agent lines,
/// per-agent inboxes, the slot table, the slot data areas and the session data. Its size depends on the agent
/// count, the slot count (MaxTasksInFlight) and the inline bytes, never on how many tasks a session runs.
/// </summary>
/// <remarks>
/// <code>
/// header (384 bytes)
/// offset  size  field                                  written by
/// ------  ----  -------------------------------------  ------------------------------------------
/// 0       8     magic "UJSESS\0\0"                      creator
/// 8       4     version major &lt;&lt; 16 | minor; 0 until   creator, LAST (release): the ready word
///               ready
/// 12      4     agent count N                          creator
/// 16      4     slot count S                           creator
/// 20      4     inline bytes I (input and output each) creator
/// 24      8     total size                             creator
/// 32      4     coordinator pid                        creator
/// 36      4     heartbeat interval (ms)                creator
/// 40      8     coordinator start time (/proc ticks)   creator
/// 48      8     session data offset                    creator
/// 56      8     session data length                    creator
/// 64      8     agents offset (= 384)                  creator
/// 72      8     inboxes offset                         creator
/// 80      8     inbox stride                           creator
/// 88      8     table offset                           creator
/// 96      8     slots offset                           creator
/// 104     8     slot stride                            creator
/// 112     16    reserved (zero)
/// 128     4     stop word (1 = agents exit)            coordinator (release), agents read
/// 256     4     coordinator wake word                  agents (Interlocked.Increment), futex
/// 260     4     coordinator parked flag                coordinator
///
/// agent line i at AgentsOffset + i * 256
/// 0       4     pid                                    agent
/// 4       4     state: 0 none, 1 registered, 2 exited  agent (release)
/// 8       8     heartbeat counter                      agent's heartbeat thread
/// 16      4     parked flag                            agent
/// 20      4     generation (start count of the slot)   agent
/// 24      8     tasks run                              agent
/// 32      8     busy nanoseconds (lease to commit)     agent
/// 40      8     handler nanoseconds                    agent
/// 48      4     standby (1: take no new work)          coordinator (release), agent reads (acquire)
/// 52      4     GC rounds requested                    coordinator (Interlocked.Increment), agent reads (acquire)
/// 56      4     GC rounds done (last request collected) agent (release), coordinator reads (acquire)
/// 128     4     wake word                              coordinator (Interlocked.Increment), futex
///
/// inbox i at InboxesOffset + i * InboxStride: TaskInboxLayout, capacity = S rounded up to a power of two
/// table at TableOffset: TaskTableLayout with S records (a record per slot, reused task after task)
///
/// slot j at SlotsOffset + j * SlotStride (SlotStride = 256 + 2 * I, a multiple of 128)
/// 0       8     task id                                coordinator, before Place (published by its CAS)
/// 8       4     attempt (1 on the first run)           coordinator, before Place/Requeue
/// 12      4     part count (1 + dependencies)          coordinator
/// 16      8     input bytes (directory + parts)        coordinator
/// 24      4     input spilled (1: in file .in-j)       coordinator
/// 28      4     trace parent length (0: none)          coordinator
/// 32      64    trace parent (W3C, ASCII)              coordinator
/// 96      8     placed timestamp (Stopwatch)           coordinator
/// 104     8     started timestamp                      leaseholder
/// 112     8     finished timestamp                     committer
/// 256     I     input inline: int32 lengths[parts], then the parts' bytes
/// 256+I   I     output inline (when not spilled)       committer, between BeginCommit and Finish
/// </code>
/// The table record's 64-bit result is the output descriptor: <c>length &lt;&lt; 2 | spilled &lt;&lt; 1 | failed</c>.
/// Ticks are <see cref="System.Diagnostics.Stopwatch"/> timestamps: CLOCK_MONOTONIC in nanoseconds on Linux,
/// one clock for every process of the machine.
/// </remarks>
internal static class SessionSegmentLayout
{
    internal const ulong Magic = 0x0000_5353_4553_4A55; // 'U' 'J' 'S' 'E' 'S' 'S' 0 0
    internal const int MajorVersion = 1;
    internal const int MinorVersion = 2; // 1: the agent line's standby word; 2: its GC request and done words
    internal const int Version = (MajorVersion << 16) | MinorVersion;
    internal const int Line = TaskDequeLayout.LineBytes;

    internal const int MagicOffset = 0;
    internal const int VersionOffset = MagicOffset + 8;
    internal const int AgentCountOffset = VersionOffset + 4;
    internal const int SlotCountOffset = AgentCountOffset + 4;
    internal const int InlineBytesOffset = SlotCountOffset + 4;
    internal const int TotalSizeOffset = InlineBytesOffset + 4;
    internal const int CoordinatorPidOffset = TotalSizeOffset + 8;
    internal const int HeartbeatMsOffset = CoordinatorPidOffset + 4;
    internal const int CoordinatorStartOffset = HeartbeatMsOffset + 4;
    internal const int SessionDataOffsetOffset = CoordinatorStartOffset + 8;
    internal const int SessionDataLengthOffset = SessionDataOffsetOffset + 8;
    internal const int AgentsOffsetOffset = SessionDataLengthOffset + 8;
    internal const int InboxesOffsetOffset = AgentsOffsetOffset + 8;
    internal const int InboxStrideOffset = InboxesOffsetOffset + 8;
    internal const int TableOffsetOffset = InboxStrideOffset + 8;
    internal const int SlotsOffsetOffset = TableOffsetOffset + 8;
    internal const int SlotStrideOffset = SlotsOffsetOffset + 8;
    internal const int StopWordOffset = Line;
    internal const int CoordinatorWakeOffset = 2 * Line;
    internal const int CoordinatorParkedOffset = CoordinatorWakeOffset + 4;
    internal const int HeaderBytes = 3 * Line;

    internal const int AgentLineBytes = 2 * Line;
    internal const int AgentPidOffset = 0;
    internal const int AgentStateOffset = AgentPidOffset + 4;
    internal const int AgentHeartbeatOffset = AgentStateOffset + 4;
    internal const int AgentParkedOffset = AgentHeartbeatOffset + 8;
    internal const int AgentGenerationOffset = AgentParkedOffset + 4;
    internal const int AgentTasksRunOffset = AgentGenerationOffset + 4;
    internal const int AgentBusyNanosOffset = AgentTasksRunOffset + 8;
    internal const int AgentHandlerNanosOffset = AgentBusyNanosOffset + 8;
    internal const int AgentStandbyOffset = AgentHandlerNanosOffset + 8;
    internal const int AgentGcRequestedOffset = AgentStandbyOffset + 4;
    internal const int AgentGcDoneOffset = AgentGcRequestedOffset + 4;
    internal const int AgentWakeOffset = Line;

    internal const int SlotTaskIdOffset = 0;
    internal const int SlotAttemptOffset = SlotTaskIdOffset + 8;
    internal const int SlotPartCountOffset = SlotAttemptOffset + 4;
    internal const int SlotInputBytesOffset = SlotPartCountOffset + 4;
    internal const int SlotInputSpilledOffset = SlotInputBytesOffset + 8;
    internal const int SlotTraceLengthOffset = SlotInputSpilledOffset + 4;
    internal const int SlotTraceOffset = SlotTraceLengthOffset + 4;
    internal const int SlotTraceCapacity = 64;
    internal const int SlotPlacedTicksOffset = SlotTraceOffset + SlotTraceCapacity;
    internal const int SlotStartedTicksOffset = SlotPlacedTicksOffset + 8;
    internal const int SlotFinishedTicksOffset = SlotStartedTicksOffset + 8;
    internal const int SlotHeaderBytes = 2 * Line;

    internal const int MinInlineBytes = 256;
    internal const int MaxInlineBytes = 1 << 20;
    internal const int MaxAgents = 1000;
    internal const int MaxSlots = 1 << 20;
    internal const long MaxSessionDataBytes = 256L << 20;

    internal static long InboxStride(int slots) => TaskInboxLayout.SizeOf(InboxCapacity(slots));

    internal static int InboxCapacity(int slots) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, slots));

    internal static long SlotStride(int inlineBytes) => SlotHeaderBytes + RoundUp(2L * inlineBytes);

    internal static long AgentsOffset => HeaderBytes;

    internal static long InboxesOffset(int agents) => AgentsOffset + (long)agents * AgentLineBytes;

    internal static long TableOffset(int agents, int slots) => InboxesOffset(agents) + agents * InboxStride(slots);

    internal static long SlotsOffset(int agents, int slots) => TableOffset(agents, slots) + TaskTableLayout.SizeOf(slots);

    internal static long SessionDataOffset(int agents, int slots, int inlineBytes) =>
        SlotsOffset(agents, slots) + slots * SlotStride(inlineBytes);

    internal static long SizeOf(int agents, int slots, int inlineBytes, long sessionDataBytes) =>
        RoundUp(SessionDataOffset(agents, slots, inlineBytes) + sessionDataBytes);

    internal static void Validate(int agents, int slots, int inlineBytes, long sessionDataBytes)
    {
        if (agents < 1 || agents > MaxAgents)
        {
            throw new ArgumentOutOfRangeException(nameof(agents), agents, $"A session holds 1 to {MaxAgents} agents.");
        }

        if (slots < 1 || slots > MaxSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(slots), slots, $"A session holds 1 to {MaxSlots} tasks in flight.");
        }

        if (inlineBytes < MinInlineBytes || inlineBytes > MaxInlineBytes || inlineBytes % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inlineBytes), inlineBytes, $"Inline bytes are a multiple of 8 from {MinInlineBytes} to {MaxInlineBytes}.");
        }

        if (sessionDataBytes < 0 || sessionDataBytes > MaxSessionDataBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(sessionDataBytes), sessionDataBytes, $"Session data holds at most {MaxSessionDataBytes} bytes; pass larger inputs through files.");
        }
    }

    private static long RoundUp(long bytes) => (bytes + Line - 1) / Line * Line;
}
