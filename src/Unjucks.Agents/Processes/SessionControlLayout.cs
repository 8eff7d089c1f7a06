// Binary layout of a session control file (<dir>/<session>.ctl): the coordinator's commands to its agent
// processes (current job, session stop, active/parked per agent) and each agent's published counters.
// Style of Agrona's RingBufferDescriptor: every offset is built from the previous one; tests pin them.
//
//   offset            size  field                                   written by
//   0                 8     magic "UJCTRL\0\0"                       creator
//   8                 4     layout version (major << 16 | minor)    creator, LAST (release) = ready
//   12                4     agent count N                           creator
//   16                4     coordinator registry slot               creator
//   20                4     coordinator pid                         creator
//   24..127                 reserved
//   128               8     job word: seq << 8 | JobPhase            coordinator (release)
//   136               4     job task count                           coordinator, before the job word
//   140               4     job flags (1: payloads, 2: shared q)     coordinator, before the job word
//   144               4     session stop (0 run, 1 stop)             coordinator (release)
//   148..255                reserved
//   256 + i*256       128   agent i, coordinator line: active flag, activation count
//   256 + i*256 + 128 128   agent i, agent line: AgentCounters (see offsets below)
//
// The coordinator line and the agent line of an agent sit 128 bytes apart (two writers, two lines).
namespace Unjucks.Agents.Processes;

/// <summary>Offsets and sizes of the session control file; see the table at the top of the file.</summary>
internal static class SessionControlLayout
{
    internal const int LineBytes = 128;
    internal const ulong Magic = 0x0000_4C52_5443_4A55; // "UJCTRL\0\0" little-endian.
    internal const int MajorVersion = 1;
    internal const int MinorVersion = 1; // 1.1: heap bytes in the agent line.
    internal const int Version = (MajorVersion << 16) | MinorVersion;

    internal const int MagicOffset = 0;
    internal const int VersionOffset = MagicOffset + 8;
    internal const int AgentCountOffset = VersionOffset + 4;
    internal const int CoordinatorSlotOffset = AgentCountOffset + 4;
    internal const int CoordinatorPidOffset = CoordinatorSlotOffset + 4;

    internal const int JobLineOffset = LineBytes;
    internal const int JobWordOffset = JobLineOffset;
    internal const int JobTaskCountOffset = JobWordOffset + 8;
    internal const int JobFlagsOffset = JobTaskCountOffset + 4;
    internal const int StopOffset = JobFlagsOffset + 4;

    internal const int AgentsOffset = JobLineOffset + LineBytes;
    internal const int AgentStride = 2 * LineBytes;

    // Coordinator line of an agent block.
    internal const int ActiveOffset = 0;
    internal const int ActivationsOffset = ActiveOffset + 4;

    // Agent line of an agent block (single writer: the agent's loop; readers use acquire loads).
    internal const int AgentLineOffset = LineBytes;
    internal const int RegistrySlotOffset = AgentLineOffset;          // int, -1 until registered
    internal const int PidOffset = RegistrySlotOffset + 4;            // int
    internal const int RunStateOffset = PidOffset + 4;                // int, AgentRunState
    internal const int FinishedJobOffset = RunStateOffset + 4 + 4;    // long, seq of the last job left (8-aligned)
    internal const int CommitsOffset = FinishedJobOffset + 8;         // long, successful commits
    internal const int LostCommitsOffset = CommitsOffset + 8;         // long, commits refused (lease lost)
    internal const int FailuresOffset = LostCommitsOffset + 8;        // long, tasks committed as failed
    internal const int StealsOffset = FailuresOffset + 8;             // long, successful batch steals
    internal const int StolenIdsOffset = StealsOffset + 8;            // long, ids taken by those steals
    internal const int StealAttemptsOffset = StolenIdsOffset + 8;     // long, StealBatch calls
    internal const int HandlerTicksOffset = StealAttemptsOffset + 8;  // long, Stopwatch ticks inside the handler
    internal const int LoopTicksOffset = HandlerTicksOffset + 8;      // long, ticks attached to jobs
    internal const int ParkedTicksOffset = LoopTicksOffset + 8;       // long, ticks parked (futex) while attached
    internal const int HeapBytesOffset = ParkedTicksOffset + 8;       // long, GC.GetTotalMemory(false); written by the heartbeat timer only
    internal const int AgentLineEnd = HeapBytesOffset + 8;

    internal const int JobFlagPayloads = 1;
    internal const int JobFlagSharedQueue = 2;

    internal static long SizeOf(int agents) => AgentsOffset + ((long)agents * AgentStride);

    internal static int AgentOffset(int agent) => AgentsOffset + (agent * AgentStride);

    internal static long PackJob(long seq, JobPhase phase) => (seq << 8) | (long)phase;

    internal static (long Seq, JobPhase Phase) UnpackJob(long word) => (word >>> 8, (JobPhase)(word & 0xFF));
}

/// <summary>Phase of the session's current job as the coordinator publishes it.</summary>
internal enum JobPhase
{
    None = 0,
    Running = 1,
    Complete = 2,
    Cancelled = 3,
}
