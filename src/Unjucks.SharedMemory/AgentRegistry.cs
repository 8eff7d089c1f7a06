// The agent registry: one 128-byte slot per process (strictly, per SharedRegion instance) using the region.
//
// Ownership protocol: an agent owns slot k while it holds flock(LOCK_EX) on <region>.agents/k.lock. The flock is
// taken BEFORE the slot word is touched, so at most one live process writes a slot, and the kernel drops the
// flock when the owner dies. A slot whose word says Active but whose flock can be taken belongs to a dead
// process; it is reused only after that (and a kill(pid,0)+start-time check agreeing) confirms the death.
//
// Slot word (64 bits): low 32 = state (Free/Claiming/Active), high 32 = generation, bumped on every
// registration, so a CAS by a reclaimer that saw an older registration fails (no ABA).
//
// Failure windows: an owner that dies after taking the flock but before publishing Active leaves the word in
// Claiming with its flock released: IsAlive says false and the next registrant takes the slot over.
using System.Runtime.CompilerServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>State of an agent slot.</summary>
public enum AgentSlotState
{
    /// <summary>Never used, or unregistered.</summary>
    Free = AgentSlotLayout.StateFree,

    /// <summary>A process is registering into the slot.</summary>
    Claiming = AgentSlotLayout.StateClaiming,

    /// <summary>Registered; the owner may still have died since (see <see cref="AgentRegistry.IsAlive"/>).</summary>
    Active = AgentSlotLayout.StateActive,
}

/// <summary>A snapshot of one agent slot.</summary>
/// <param name="Slot">Slot index.</param>
/// <param name="State">Slot state.</param>
/// <param name="Generation">Registration count of the slot.</param>
/// <param name="ProcessId">Owner pid.</param>
/// <param name="ProcessStartTime">Owner start time (clock ticks since boot, from /proc).</param>
/// <param name="Heartbeat">Owner's heartbeat counter.</param>
/// <param name="Operations">User counter: operations.</param>
/// <param name="BytesAllocated">User counter: bytes allocated.</param>
public readonly record struct AgentInfo(
    int Slot, AgentSlotState State, int Generation, int ProcessId, long ProcessStartTime, long Heartbeat, long Operations, long BytesAllocated);

/// <summary>
/// The processes using a region. A region instance registers itself on first use of any structure and
/// unregisters on dispose; <see cref="Register"/> does it explicitly.
/// </summary>
public sealed unsafe class AgentRegistry
{
    private readonly SharedRegion _region;
    private readonly byte* _section;
    private readonly Lock _gate = new();
    private AgentLockFile? _lockFile;
    private int _slot = -1;
    private int _agentId;

    internal AgentRegistry(SharedRegion region, byte* section, int capacity)
    {
        _region = region;
        _section = section;
        Capacity = capacity;
    }

    /// <summary>Number of agent slots in the region.</summary>
    public int Capacity { get; }

    /// <summary>This instance's slot, registering first if needed.</summary>
    public int CurrentSlot => Register();

    /// <summary>True while this instance holds a slot.</summary>
    public bool IsRegistered => Volatile.Read(ref _slot) >= 0; // acquire; pairs with the release in TryClaim/Unregister

    /// <summary>This instance's agent id (registers if needed).</summary>
    internal int CurrentAgentId
    {
        get
        {
            int id = Volatile.Read(ref _agentId); // pairs with the Volatile.Write in Register
            if (id == 0)
            {
                Register();
                id = Volatile.Read(ref _agentId); // acquire; pairs with the release in TryClaim (under _gate)
            }

            return id;
        }
    }

    /// <summary>
    /// Takes an agent slot for this instance (idempotent) and returns it. Throws
    /// <see cref="SharedRegionFullException"/> when every slot belongs to a live process.
    /// </summary>
    public int Register()
    {
        int existing = Volatile.Read(ref _slot); // acquire: pairs with the release of _slot at the end of TryClaim
        if (existing >= 0)
        {
            return existing;
        }

        lock (_gate)
        {
            _region.ThrowIfDisposed();
            if (_slot >= 0)
            {
                return _slot;
            }

            RegionFiles.CreatePrivateDirectory(RegionFiles.AgentsDirectory(_region.FilePath));
            for (int pass = 0; pass < 2; pass++)
            {
                for (int slot = 0; slot < Capacity; slot++)
                {
                    long word = Volatile.Read(ref WordRef(slot)); // acquire: pairs with the release publish below
                    bool free = (int)word == AgentSlotLayout.StateFree;
                    if (free != (pass == 0))
                    {
                        continue; // pass 0 tries free slots, pass 1 the others (possibly owned by the dead)
                    }

                    if (TryClaim(slot))
                    {
                        return slot;
                    }
                }
            }
        }

        throw new SharedRegionFullException(
            $"All {Capacity} agent slots of region '{_region.FilePath}' belong to live processes. Create the region with a larger SharedRegionOptions.MaxAgents, or dispose regions you no longer use.");
    }

    /// <summary>Gives the slot back (also done by disposing the region). Idempotent.</summary>
    public void Unregister()
    {
        lock (_gate)
        {
            int slot = _slot;
            if (slot < 0)
            {
                return;
            }

            ref long word = ref WordRef(slot);
            long current = Volatile.Read(ref word); // we own the slot: only a ReclaimStale CAS could race, and it needs us dead
            // Release: everything this agent wrote happens-before a later registrant's acquire of the word.
            Volatile.Write(ref word, (current & ~0xFFFFFFFFL) | AgentSlotLayout.StateFree);
            Volatile.Write(ref _agentId, 0); // release; pairs with the acquire in CurrentAgentId (in-process only)
            Volatile.Write(ref _slot, -1);   // release; pairs with the acquire at the top of Register
            _lockFile?.Dispose(); // after the word says Free, so IsAlive never sees Active without a holder
            _lockFile = null;
        }
    }

    /// <summary>True if <paramref name="slot"/> is registered and its owner process is alive.</summary>
    public bool IsAlive(int slot)
    {
        CheckSlot(slot);
        _region.ThrowIfDisposed();
        long word = Volatile.Read(ref WordRef(slot)); // acquire: pid/start time below were published before Active
        if ((int)word != AgentSlotLayout.StateActive)
        {
            return false;
        }

        if (slot == Volatile.Read(ref _slot)) // acquire; pairs with the release in TryClaim (own slot: alive)
        {
            return true;
        }

        return IsOwnerAlive(slot);
    }

    /// <summary>Reads a snapshot of <paramref name="slot"/>.</summary>
    public AgentInfo GetInfo(int slot)
    {
        CheckSlot(slot);
        _region.ThrowIfDisposed();
        byte* p = SlotPointer(slot);
        long word = Volatile.Read(ref WordRef(slot)); // acquire: the fields below were written before Active
        // SAFETY: p points at a 128-byte slot inside the live mapping; fields are naturally aligned.
        // The Volatile reads below are acquire loads of fields the owner wrote before its release of the word (or
        // updates since, which need no ordering: each counter is read on its own).
        return new AgentInfo(
            slot,
            (AgentSlotState)(int)word,
            (int)(word >>> 32),
            Volatile.Read(ref Unsafe.AsRef<int>(p + AgentSlotLayout.PidOffset)),
            Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.StartTimeOffset)),
            Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.HeartbeatOffset)),
            Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.OperationsOffset)),
            Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.BytesAllocatedOffset)));
    }

    /// <summary>
    /// When the current (or last) owner of <paramref name="slot"/> registered, by its own clock; the Unix epoch for
    /// a slot never used. Read-only; registers nothing.
    /// </summary>
    public DateTimeOffset GetRegisteredAt(int slot)
    {
        CheckSlot(slot);
        _region.ThrowIfDisposed();
        // SAFETY: the field lies inside the slot in the live mapping (8-byte aligned).
        // Acquire: written by the owner before its release publish of the Active word (TryClaim); a snapshot.
        long unixMs = Volatile.Read(ref Unsafe.AsRef<long>(SlotPointer(slot) + AgentSlotLayout.RegisteredAtOffset));
        return DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
    }

    /// <summary>Snapshots of every slot that is not free.</summary>
    public IReadOnlyList<AgentInfo> GetAgents()
    {
        var list = new List<AgentInfo>();
        for (int slot = 0; slot < Capacity; slot++)
        {
            AgentInfo info = GetInfo(slot);
            if (info.State != AgentSlotState.Free)
            {
                list.Add(info);
            }
        }

        return list;
    }

    /// <summary>Bumps this agent's heartbeat counter (registers if needed).</summary>
    public void Heartbeat() => AddToOwnCounter(AgentSlotLayout.HeartbeatOffset, 1);

    /// <summary>Adds to this agent's operations counter.</summary>
    public void AddOperations(long count) => AddToOwnCounter(AgentSlotLayout.OperationsOffset, count);

    /// <summary>Adds to this agent's bytes-allocated counter.</summary>
    public void AddBytesAllocated(long bytes) => AddToOwnCounter(AgentSlotLayout.BytesAllocatedOffset, bytes);

    /// <summary>Marks every slot whose owner is confirmed dead as free; returns how many were reclaimed.</summary>
    public int ReclaimStale()
    {
        _region.ThrowIfDisposed();
        int reclaimed = 0;
        for (int slot = 0; slot < Capacity; slot++)
        {
            ref long word = ref WordRef(slot);
            long seen = Volatile.Read(ref word); // acquire: pairs with the publish in TryClaim
            if ((int)seen == AgentSlotLayout.StateFree || slot == Volatile.Read(ref _slot) /* acquire, as in IsAlive */ || IsOwnerAlive(slot))
            {
                continue;
            }

            // Full fence CAS; fails if a registrant bumped the generation since we looked (it then owns the slot).
            if (Interlocked.CompareExchange(ref word, (seen & ~0xFFFFFFFFL) | AgentSlotLayout.StateFree, seen) == seen) // see above
            {
                reclaimed++;
            }
        }

        return reclaimed;
    }

    /// <summary>True if the agent id still names a live registration (same slot generation, owner alive).</summary>
    internal bool IsAgentAlive(int agentId)
    {
        int slot = AgentIds.Slot(agentId);
        if ((uint)slot >= (uint)Capacity)
        {
            return false;
        }

        long word = Volatile.Read(ref WordRef(slot)); // acquire: pairs with the publish in TryClaim
        if ((int)word != AgentSlotLayout.StateActive || ((int)(word >>> 32) & 0xFFFF) != AgentIds.Generation16(agentId))
        {
            return false; // unregistered, or the slot was since reused by another registration
        }

        return agentId == Volatile.Read(ref _agentId) /* acquire; pairs with TryClaim */ || IsOwnerAlive(slot);
    }

    /// <summary>Like <see cref="IsAgentAlive"/> for a (slot, low 8 bits of generation) pair.</summary>
    internal bool IsHolderAlive(int slot, int generation8)
    {
        if ((uint)slot >= (uint)Capacity)
        {
            return false;
        }

        long word = Volatile.Read(ref WordRef(slot)); // acquire: pairs with the publish in TryClaim
        if ((int)word != AgentSlotLayout.StateActive || ((int)(word >>> 32) & 0xFF) != generation8)
        {
            return false;
        }

        return slot == Volatile.Read(ref _slot) /* acquire; pairs with TryClaim */ || IsOwnerAlive(slot);
    }

    internal int CurrentGeneration8 => (AgentIds.Generation16(CurrentAgentId)) & 0xFF;

    private bool IsOwnerAlive(int slot)
    {
        if (AgentLockFile.IsFree(RegionFiles.AgentLockPath(_region.FilePath, slot)))
        {
            return false; // nobody holds the owner's flock: the kernel released it, the owner is gone
        }

        // The flock may be held by a transient prober rather than the owner: ask kill(2) and /proc too.
        byte* p = SlotPointer(slot);
        // SAFETY: p points at a slot inside the live mapping; fields naturally aligned. Acquire loads; they follow
        // the acquire of the Active word by our caller, so they see that registration's pid and start time.
        int pid = Volatile.Read(ref Unsafe.AsRef<int>(p + AgentSlotLayout.PidOffset));
        long start = Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.StartTimeOffset));
        return ProcessIdentity.IsRunning(pid, start);
    }

    private bool TryClaim(int slot)
    {
        AgentLockFile? lockFile = AgentLockFile.TryAcquire(RegionFiles.AgentLockPath(_region.FilePath, slot));
        if (lockFile is null)
        {
            return false; // a live owner (or a prober, briefly) holds it
        }

        byte* p = SlotPointer(slot);
        ref long word = ref WordRef(slot);
        long seen = Volatile.Read(ref word); // acquire: pairs with the previous owner's publish
        if ((int)seen == AgentSlotLayout.StateActive)
        {
            // SAFETY: p points at the slot inside the live mapping. Acquire loads after the acquire of the word above.
            int oldPid = Volatile.Read(ref Unsafe.AsRef<int>(p + AgentSlotLayout.PidOffset));
            long oldStart = Volatile.Read(ref Unsafe.AsRef<long>(p + AgentSlotLayout.StartTimeOffset));
            if (ProcessIdentity.IsRunning(oldPid, oldStart))
            {
                lockFile.Dispose(); // the flock says dead but the process still runs: not confirmed, skip
                return false;
            }
        }

        long generation;
        while (true)
        {
            generation = (seen >>> 32) + 1;
            long claiming = (generation << 32) | AgentSlotLayout.StateClaiming;
            // Full fence CAS: only a ReclaimStale (Active -> Free) can race with us here; we hold the flock.
            long witnessed = Interlocked.CompareExchange(ref word, claiming, seen); // see above
            if (witnessed == seen)
            {
                break;
            }

            seen = witnessed;
        }

        // SAFETY: we own the slot (flock + Claiming word); the fields are inside the live mapping, aligned.
        Unsafe.AsRef<int>(p + AgentSlotLayout.PidOffset) = Environment.ProcessId;
        Unsafe.AsRef<long>(p + AgentSlotLayout.StartTimeOffset) = ProcessIdentity.SelfStartTime;
        Unsafe.AsRef<long>(p + AgentSlotLayout.HeartbeatOffset) = 0;
        Unsafe.AsRef<long>(p + AgentSlotLayout.OperationsOffset) = 0;
        Unsafe.AsRef<long>(p + AgentSlotLayout.BytesAllocatedOffset) = 0;
        Unsafe.AsRef<long>(p + AgentSlotLayout.RegisteredAtOffset) = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Release: publishes the fields above; pairs with the acquire loads in GetInfo/IsAlive/IsAgentAlive.
        Volatile.Write(ref word, (generation << 32) | AgentSlotLayout.StateActive);

        _lockFile = lockFile;
        Volatile.Write(ref _agentId, AgentIds.Make(slot, (int)generation)); // pairs with CurrentAgentId's read
        Volatile.Write(ref _slot, slot); // pairs with the lock-free read at the top of Register
        return true;
    }

    private void AddToOwnCounter(int offset, long delta)
    {
        int slot = CurrentSlot;
        _region.ThrowIfDisposed();
        // SAFETY: the counter lies inside our own slot in the live mapping (8-byte aligned). Several threads of
        // this agent may add at once, hence the atomic add; its ordering is not needed (other processes only read).
        Interlocked.Add(ref Unsafe.AsRef<long>(SlotPointer(slot) + offset), delta);
    }

    private void CheckSlot(int slot)
    {
        if ((uint)slot >= (uint)Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, $"Agent slot must be between 0 and {Capacity - 1}.");
        }
    }

    private byte* SlotPointer(int slot) => _section + ((long)slot * AgentSlotLayout.SlotBytes);

    // SAFETY: the word is the first 8 bytes of a 128-byte-aligned slot inside the live mapping.
    private ref long WordRef(int slot) => ref Unsafe.AsRef<long>(SlotPointer(slot));
}
