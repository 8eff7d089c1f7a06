// Byte layout of the region header (offset 0 of the file). See docs/shared-region-format.md.
//
//   offset  size  field
//   ------  ----  ------------------------------------------------------------------------------
//        0     8  Magic            "UNJUCKSR" (little-endian u64); written first
//        8     4  LayoutVersion    (major << 16) | minor; written LAST with release = "ready"
//       12     4  HeaderBytes      256
//       16     8  TotalBytes       file size the creator set before mapping
//       24     4  CreatorPid
//       28     4  PageSize
//       32     8  CreatorStartTime /proc/<pid>/stat field 22 (clock ticks since boot)
//       40     8  CreatedAtUnixMs
//       48    32  Options          StateSlots, MaxKeyBytes, MaxValueBytes, MaxQueues, QueueCapacity,
//                                  MessageBytes, MaxAgents, MaxLocks (8 x i32)
//       80     4  SectionCount     5
//       84     4  reserved
//       88    80  SectionTable     5 x (offset i64, length i64): Registry, Locks, ChangeSequence,
//                                  StateTable, Queues
//      168    88  reserved (zero)  room for minor-version additions
//      256        end of header; first section starts here
//
// Invariants: every section offset is a multiple of 128 (SectionAlignment), sections follow each other in
// table order without overlap, and offset + length <= TotalBytes.
namespace Unjucks.SharedMemory.Layout;

internal static class RegionLayout
{
    /// <summary>"UNJUCKSR" read as a little-endian 64-bit integer.</summary>
    internal const ulong Magic = 0x52534B43554A4E55UL;

    /// <summary>Bumped for any change an older reader would misread (moved or resized fields). 2: bit 63 of a
    /// queue's EnqueuePos means "completed" (SharedMessageQueue.Complete); a 1.x reader would take it for a
    /// position.</summary>
    internal const int MajorVersion = 2;

    /// <summary>Bumped for additions in reserved space that older readers may ignore.</summary>
    internal const int MinorVersion = 0;

    internal const int LayoutVersion = (MajorVersion << 16) | MinorVersion;

    /// <summary>Alignment of every section and of hot words that different processes write.</summary>
    internal const int SectionAlignment = 128;

    internal const int MagicOffset = 0;
    internal const int LayoutVersionOffset = MagicOffset + sizeof(ulong);
    internal const int HeaderBytesOffset = LayoutVersionOffset + sizeof(int);
    internal const int TotalBytesOffset = HeaderBytesOffset + sizeof(int);
    internal const int CreatorPidOffset = TotalBytesOffset + sizeof(long);
    internal const int PageSizeOffset = CreatorPidOffset + sizeof(int);
    internal const int CreatorStartTimeOffset = PageSizeOffset + sizeof(int);
    internal const int CreatedAtOffset = CreatorStartTimeOffset + sizeof(long);
    internal const int OptionsOffset = CreatedAtOffset + sizeof(long);
    internal const int OptionCount = 8;
    internal const int SectionCountOffset = OptionsOffset + (OptionCount * sizeof(int));
    internal const int SectionTableOffset = SectionCountOffset + (2 * sizeof(int));
    internal const int SectionEntryBytes = 2 * sizeof(long);
    internal const int SectionCount = 5;
    internal const int SectionTableEnd = SectionTableOffset + (SectionCount * SectionEntryBytes);
    internal const int HeaderBytes = 256;

    internal const int RegistrySection = 0;
    internal const int LocksSection = 1;
    internal const int ChangeSequenceSection = 2;
    internal const int StateSection = 3;
    internal const int QueuesSection = 4;

    internal static readonly string[] SectionNames = ["Registry", "Locks", "ChangeSequence", "StateTable", "Queues"];

    internal static int AlignUp(int value, int alignment) => (value + alignment - 1) & ~(alignment - 1);

    internal static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);
}
