namespace Unjucks.SharedMemory;

/// <summary>
/// Sizes of a shared region. They are fixed when the region file is created and stored in its header; a process
/// that opens an existing region always gets the creator's sizes, whatever it passes here (only
/// <see cref="Directory"/> is used when opening).
/// </summary>
public sealed record SharedRegionOptions
{
    /// <summary>
    /// The per-user default of <see cref="Directory"/>: <c>/dev/shm/unjucks-&lt;euid&gt;</c> (the temporary directory
    /// when <c>/dev/shm</c> is absent). Only computes the path; creates nothing.
    /// </summary>
    public static string DefaultDirectory => RegionFiles.DefaultDirectory();

    /// <summary>Directory holding region files; default <c>/dev/shm/unjucks-&lt;uid&gt;</c> (created 0700).</summary>
    public string? Directory { get; init; }

    /// <summary>Number of state-table slots (a power of two, 16 or more). Deleted keys keep their slot.</summary>
    public int StateSlots { get; init; } = 4096;

    /// <summary>Largest UTF-8 key, in bytes (1 to 1024).</summary>
    public int MaxKeyBytes { get; init; } = 64;

    /// <summary>Largest state value, in bytes (1 to 1 MiB).</summary>
    public int MaxValueBytes { get; init; } = 256;

    /// <summary>Number of named message queues the region can hold (1 to 1024).</summary>
    public int MaxQueues { get; init; } = 8;

    /// <summary>Messages per queue (a power of two, 2 or more).</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>Largest payload of one message, in bytes (1 to 65536).</summary>
    public int MessageBytes { get; init; } = 64;

    /// <summary>Number of agent slots, i.e. processes (or region instances) using the region at once (1 to 32767).</summary>
    public int MaxAgents { get; init; } = 64;

    /// <summary>Number of named locks the region can hold (1 to 4096).</summary>
    public int MaxLocks { get; init; } = 64;
}
