// One task as the scheduler core sees it. Instances are pooled by SchedulerCore: a task that ends is reset and reused
// for a later submission, so every reference kept outside the task table (ready queue, orphan queue, dependents lists)
// is a CoreTaskRef that carries the Generation it was taken at and is dropped when the generations differ.
namespace Unjucks.Agents.Sessions.Core;

/// <summary>Where a task is in its life (see the header of SchedulerCore.cs).</summary>
internal enum CoreTaskState
{
    /// <summary>Some dependencies have not committed yet; no slot.</summary>
    Waiting,

    /// <summary>All dependencies committed; in the FIFO memory queue (waiting for its reservation to fit the budget)
    /// or in the FIFO ready queue (waiting for a slot and an agent).</summary>
    Ready,

    /// <summary>Has a slot and is attributed to <see cref="CoreTask.Agent"/>, which has not been seen leasing it.</summary>
    Queued,

    /// <summary>Has a slot and <see cref="CoreTask.Agent"/> leased it (TaskStarted) at <see cref="CoreTask.StartedAt"/>.</summary>
    Running,

    /// <summary>Has a slot but no agent: its agent died while no agent was eligible; in the orphan queue.</summary>
    Orphaned,

    /// <summary>Committed or failed; only seen through stale references (the instance is back in the pool).</summary>
    Ended,
}

/// <summary>A reference to a pooled <see cref="CoreTask"/> that is valid while the generations match.</summary>
internal readonly record struct CoreTaskRef(CoreTask Task, int Generation)
{
    /// <summary>The task is still the one this reference was taken for.</summary>
    public bool IsCurrent => Task.Generation == Generation;
}

/// <summary>Mutable per-task state of <see cref="SchedulerCore"/>.</summary>
internal sealed class CoreTask
{
    private const int MaxKeptDependents = 64;

    /// <summary>The caller's id.</summary>
    public long Id;

    /// <summary>Incremented each time the instance is recycled.</summary>
    public int Generation;

    /// <summary>See <see cref="CoreTaskState"/>.</summary>
    public CoreTaskState State;

    /// <summary>Dependencies that have not committed yet.</summary>
    public int PendingDependencies;

    /// <summary>Tasks waiting on this one (first <see cref="DependentCount"/> entries; the array is kept across reuse).</summary>
    public CoreTaskRef[] Dependents = [];

    /// <summary>Used entries of <see cref="Dependents"/>.</summary>
    public int DependentCount;

    /// <summary>The slot from Place until the task ends; -1 before.</summary>
    public int Slot = -1;

    /// <summary>The agent the task is attributed to (Queued or Running); -1 otherwise.</summary>
    public int Agent = -1;

    /// <summary>The attempt the agent runs (1 on the first run); 0 before the first placement.</summary>
    public int Attempt;

    /// <summary>Timestamp of the TaskStarted that made it Running.</summary>
    public long StartedAt;

    /// <summary>The agent that was killed because this task overran its lease; -1 when none.</summary>
    public int LeaseTimedOutOn = -1;

    /// <summary>An entry for the task is in the orphan queue (so orphaning it again does not add a second one).</summary>
    public bool InOrphanQueue;

    /// <summary>Bytes the task says it needs (0: none); reserved against the memory budget before it is placed.</summary>
    public long MemoryBytes;

    /// <summary>The task holds <see cref="MemoryBytes"/> of the memory budget (from leaving the memory queue until it ends).</summary>
    public bool MemoryReserved;

    /// <summary>Attempts lost to agent deaths.</summary>
    public int Deaths;

    /// <summary>Attempts lost to lease time-outs.</summary>
    public int Timeouts;

    /// <summary>Previous task of the same agent (intrusive list, insertion order).</summary>
    public CoreTask? PrevOnAgent;

    /// <summary>Next task of the same agent.</summary>
    public CoreTask? NextOnAgent;

    /// <summary>A reference to the task as it is now.</summary>
    public CoreTaskRef Ref => new(this, Generation);

    /// <summary>Adds a dependent, growing the kept array when needed.</summary>
    public void AddDependent(CoreTask dependent)
    {
        if (DependentCount == Dependents.Length)
        {
            Array.Resize(ref Dependents, Math.Max(4, Dependents.Length * 2));
        }

        Dependents[DependentCount++] = dependent.Ref;
    }

    /// <summary>Makes the instance a fresh task <paramref name="id"/>; stale references stop matching.</summary>
    public void Reset(long id)
    {
        Id = id;
        State = CoreTaskState.Waiting;
        PendingDependencies = 0;
        Slot = -1;
        Agent = -1;
        Attempt = 0;
        StartedAt = 0;
        LeaseTimedOutOn = -1;
        InOrphanQueue = false;
        MemoryBytes = 0;
        MemoryReserved = false;
        Deaths = 0;
        Timeouts = 0;
        PrevOnAgent = null;
        NextOnAgent = null;
    }

    /// <summary>Drops every reference the ended task holds and invalidates the references to it.</summary>
    public void Retire()
    {
        State = CoreTaskState.Ended;
        if (Dependents.Length > MaxKeptDependents)
        {
            Dependents = []; // do not keep a hub's large array for every later task of this instance
        }
        else
        {
            Array.Clear(Dependents, 0, DependentCount);
        }

        DependentCount = 0;
        PrevOnAgent = null;
        NextOnAgent = null;
        Generation++;
    }
}
