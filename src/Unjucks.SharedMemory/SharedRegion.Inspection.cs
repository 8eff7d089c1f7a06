// Read-only views of a region for tools (unjucks-perf inspect): who created it, which queues and locks exist and
// in what state. Nothing here registers the caller as an agent, creates a queue or lock entry, or writes to the
// mapping: the directory walks stop at the first free entry and skip entries still being claimed, exactly as
// lookups do. Liveness probes (flock on a fresh descriptor, kill(pid, 0), /proc) are the same as the registry's.
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>A named message queue as seen by an inspector (a snapshot).</summary>
/// <param name="Name">The queue's name.</param>
/// <param name="Count">Messages in it (approximate while producers or consumers are active).</param>
/// <param name="Capacity">Messages it holds when full.</param>
public readonly record struct SharedQueueInfo(string Name, int Count, int Capacity);

/// <summary>A named lock as seen by an inspector (a snapshot).</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="OwnerSlot">Agent slot of the holder, or -1 when free.</param>
/// <param name="OwnerProcessId">Pid registered in the holder's slot, or 0 when free.</param>
/// <param name="OwnerAlive">True when the holder's registration is current and its process runs; false when free
/// or when the holder died (the next acquirer recovers the lock).</param>
public readonly record struct SharedLockInfo(string Name, int OwnerSlot, int OwnerProcessId, bool OwnerAlive);

public sealed unsafe partial class SharedRegion
{
    /// <summary>Opens an existing region like <see cref="Open(string, SharedRegionOptions?)"/>, waiting at most
    /// <paramref name="readyTimeout"/> for a creator that has not published the header yet (inspectors pass a short
    /// time so that a file that never became ready is reported quickly). Opening registers nothing.</summary>
    /// <param name="name">The region's name.</param>
    /// <param name="options">Only <see cref="SharedRegionOptions.Directory"/> is used.</param>
    /// <param name="readyTimeout">Longest wait for the ready signal; non-negative.</param>
    public static SharedRegion Open(string name, SharedRegionOptions? options, TimeSpan readyTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(readyTimeout, TimeSpan.Zero);
        RegionFiles.ValidateName(name);
        string path = RegionFiles.RegionPath(RegionFiles.ResolveDirectory(options ?? new SharedRegionOptions()), name);
        return OpenExisting(name, path, readyTimeout);
    }

    /// <summary>Pid of the process that created the region (from the header).</summary>
    public int CreatorProcessId
    {
        get
        {
            ThrowIfDisposed();
            // SAFETY: the header lies at the start of the live mapping; the field is 4-byte aligned and never changes
            // after the ready signal (read with acquire when this instance opened the region).
            return Unsafe.ReadUnaligned<int>(Base + RegionLayout.CreatorPidOffset);
        }
    }

    /// <summary>When the region was created (from the header).</summary>
    public DateTimeOffset CreatedAt
    {
        get
        {
            ThrowIfDisposed();
            // SAFETY: as in CreatorProcessId; written once by the creator before the ready signal.
            return DateTimeOffset.FromUnixTimeMilliseconds(Unsafe.ReadUnaligned<long>(Base + RegionLayout.CreatedAtOffset));
        }
    }

    /// <summary>True if the creator process still runs (its pid exists and has the start time the header records).</summary>
    public bool IsCreatorAlive()
    {
        ThrowIfDisposed();
        // SAFETY: as in CreatorProcessId.
        long startTime = Unsafe.ReadUnaligned<long>(Base + RegionLayout.CreatorStartTimeOffset);
        return ProcessIdentity.IsRunning(CreatorProcessId, startTime);
    }

    /// <summary>The message queues that exist in the region, in creation order, without creating any.</summary>
    public IReadOnlyList<SharedQueueInfo> GetQueues()
    {
        ThrowIfDisposed();
        var list = new List<SharedQueueInfo>();
        foreach ((int index, string name) in _queueDirectory.ReadyEntries())
        {
            // The body was initialised before the entry was published ready (acquire in ReadyEntries).
            var queue = new SharedMessageQueue(this, name, QueueBody(index), Geometry.QueueCapacity, Geometry.MessageBytes);
            list.Add(new SharedQueueInfo(name, queue.Count, queue.Capacity));
        }

        return list;
    }

    /// <summary>The locks that exist in the region, in creation order, with their holders; creates none.</summary>
    public IReadOnlyList<SharedLockInfo> GetLocks()
    {
        ThrowIfDisposed();
        var list = new List<SharedLockInfo>();
        foreach ((int index, string name) in _lockDirectory.ReadyEntries())
        {
            // SAFETY: the owner word lies in this ready entry inside the live mapping; 4-byte aligned.
            // Acquire: a snapshot of the holder; pairs with the CAS that took the lock (the holder's registration
            // was published before it could acquire).
            int owner = Volatile.Read(ref Unsafe.AsRef<int>(_lockDirectory.Entry(index) + DirectoryEntryLayout.LockOwnerOffset));
            if (owner == 0)
            {
                list.Add(new SharedLockInfo(name, -1, 0, false));
                continue;
            }

            int slot = AgentIds.Slot(owner);
            int pid = (uint)slot < (uint)Agents.Capacity ? Agents.GetInfo(slot).ProcessId : 0;
            list.Add(new SharedLockInfo(name, slot, pid, Agents.IsAgentAlive(owner)));
        }

        return list;
    }
}
