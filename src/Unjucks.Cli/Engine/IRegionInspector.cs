namespace Unjucks.Cli.Engine;

/// <summary>A shared region found on this machine (one file under the per-user region directory).</summary>
/// <param name="Name">The region's name (its file name), what <c>inspect NAME</c> and <c>gc NAME</c> take.</param>
/// <param name="Path">Full path of the region file.</param>
/// <param name="SizeBytes">Size of the file.</param>
/// <param name="CreatorPid">Pid of the process that created it.</param>
/// <param name="CreatorAlive">Whether that process still runs (pid and start time both match).</param>
/// <param name="AgentsAlive">Registered agents that are alive.</param>
/// <param name="AgentSlots">Agent slots in use (alive or not).</param>
/// <param name="CreatedAt">When the region was created (for an unreadable file: when it was last written).</param>
/// <param name="Problem">
/// Null for a readable region. Otherwise why the file could not be read as a region (wrong magic, other major
/// version, truncated, never became ready, owned by another user, ...); the pid and agent fields are then 0/false.
/// </param>
public sealed record RegionInfo(
    string Name,
    string Path,
    long SizeBytes,
    int CreatorPid,
    bool CreatorAlive,
    int AgentsAlive,
    int AgentSlots,
    DateTimeOffset CreatedAt,
    string? Problem = null)
{
    /// <summary>
    /// True when the creator and every agent are dead: <c>inspect --cleanup</c> may remove it (if no process has the
    /// file mapped). Also true for an unreadable file, which has no live creator or agent to show.
    /// </summary>
    public bool IsDead => !CreatorAlive && AgentsAlive == 0;
}

/// <summary>One agent slot of a region's registry.</summary>
/// <param name="Slot">Slot index (0-based).</param>
/// <param name="Pid">Agent's pid.</param>
/// <param name="Alive">Whether the process runs and its heartbeat is recent.</param>
/// <param name="HeartbeatAge">Time since its last heartbeat.</param>
/// <param name="State">Short state word, as in <see cref="AgentSnapshot.State"/>.</param>
/// <param name="TasksDone">Tasks completed.</param>
/// <param name="TasksFailed">Tasks that failed.</param>
/// <param name="Steals">Tasks stolen from other agents.</param>
public sealed record RegionAgent(int Slot, int Pid, bool Alive, TimeSpan HeartbeatAge, string State, long TasksDone, long TasksFailed, long Steals);

/// <summary>Depth of one queue or deque in a region.</summary>
/// <param name="Name">Queue name, e.g. "ready", "deque[3]", "messages".</param>
/// <param name="Depth">Items in it now.</param>
/// <param name="Capacity">Its capacity (0 when unbounded).</param>
public sealed record QueueDepth(string Name, long Depth, long Capacity);

/// <summary>One lock of a region's lock table.</summary>
/// <param name="Name">Lock name or index.</param>
/// <param name="OwnerPid">Pid holding it, 0 when free.</param>
/// <param name="OwnerAlive">Whether the owner runs (false for a lock left by a dead owner, until recovered).</param>
public sealed record LockOwner(string Name, int OwnerPid, bool OwnerAlive);

/// <summary>Everything <c>inspect NAME</c> shows about one region at one moment.</summary>
/// <param name="Region">The region's identity and liveness.</param>
/// <param name="Agents">Agent slots in use.</param>
/// <param name="Queues">Queue depths.</param>
/// <param name="Locks">Lock table entries (held and free).</param>
/// <param name="StateSlotsUsed">State-table slots in use.</param>
/// <param name="StateSlotsTotal">State-table capacity.</param>
/// <param name="ChangeSequence">The region's change sequence (bumped on every published state change).</param>
public sealed record RegionSnapshot(
    RegionInfo Region,
    IReadOnlyList<RegionAgent> Agents,
    IReadOnlyList<QueueDepth> Queues,
    IReadOnlyList<LockOwner> Locks,
    int StateSlotsUsed,
    int StateSlotsTotal,
    long ChangeSequence);

/// <summary>A region file that <see cref="IRegionInspector.CleanupDeadRegions"/> removed.</summary>
/// <param name="Name">Region name.</param>
/// <param name="Path">The file removed.</param>
/// <param name="SizeBytes">Its size.</param>
/// <param name="Reason">Why it was judged dead, e.g. "creator 4711 and 4 agents are gone".</param>
public sealed record RemovedRegion(string Name, string Path, long SizeBytes, string Reason);

/// <summary>Reads shared regions for <c>inspect</c> and removes dead ones. Read-only except for cleanup.</summary>
public interface IRegionInspector
{
    /// <summary>All regions of the current user, oldest first; empty when there are none.</summary>
    IReadOnlyList<RegionInfo> ListRegions();

    /// <summary>
    /// A consistent-enough snapshot of the named region, or null when no region has that name. Throws an
    /// exception whose message says why when the file is not a region or has another major layout version.
    /// </summary>
    /// <param name="name">A name from <see cref="ListRegions"/>.</param>
    RegionSnapshot? Snapshot(string name);

    /// <summary>
    /// Removes regions whose creator and agents are all dead, and returns what it removed (empty when none).
    /// Never removes a region with a live process attached.
    /// </summary>
    /// <param name="name">Only consider this region; null for all.</param>
    IReadOnlyList<RemovedRegion> CleanupDeadRegions(string? name);
}
