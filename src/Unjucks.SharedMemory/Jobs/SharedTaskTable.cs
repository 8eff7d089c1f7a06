// Task table in shared memory: one record per task, one 64-bit state word per record, every transition
// ONE CAS on that word. Layout: TaskTableLayout. State machine and exactly-once argument:
// docs/agent-processes.md.
//
//   Free -Place(a)-> Queued(a,e) -Lease(b)-> Leased(b,e+1) -BeginCommit-> Committing(b,e+1) -Finish-> Done(b,e+1)
//   Queued(a,e) -Place(c)-> Queued(c,e);  Queued(a,e) -Recover(a)-> Queued(none,e)
//   Leased(b,e+1) -RevokeLease or Recover(b)-> Queued(none,e+2);  Committing(b,e+1) -Recover(b), b dead-> Queued(none,e+2)
//
// Invariants
//   T1  The state word changes only by CAS on the whole word; the epoch never decreases.
//   T2  (agent, epoch) names one lease: leases and revocations/recoveries each add one to the epoch.
//   T3  Only the holder of Committing(a, e) writes the result fields, and it publishes Done(a, e) after
//       writing them; readers that see Done with acquire see the result (release/acquire via the CAS).
//   T4  Committing(a, e) is left only by a's own Finish or by Recover(a), whose PRECONDITION is that agent a
//       is confirmed dead (OS-backed liveness: its flock released, or pid gone / start time changed). A lease
//       (Leased) may be revoked at any time, for example when it outlives its time limit: the revoked agent's
//       BeginCommit CAS then fails, because the word no longer equals Leased(a, e).
//   Exactly once: a Done word is final (no transition leaves Done); reaching Done requires winning the
//   BeginCommit CAS for the current (agent, epoch); by T4 nobody else writes the result between that CAS and
//   Done; so each task has exactly one committed result, written by the winner.
//
// Failure windows
//   - Committer dies between BeginCommit and Finish: the record stays Committing(dead, e); Recover(dead)
//     re-queues it at e+1 and the partial result is overwritten by the next winner before its Done.
//   - Placer dies between writing the placed ticks and the Place CAS: the task stays Free (never placed).
//   - Leaseholder dies after its lease CAS: Leased(dead, e), recovered like above.
//   - Timestamps other than the state word are advisory metrics (written with release stores, read with
//     acquire) and may be missing for a task whose writer died.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Unjucks.SharedMemory.Jobs;

/// <summary>A task's committed result and its timings, as read by <see cref="SharedTaskTable.TryReadResult"/>.</summary>
/// <param name="Value">The 64-bit result (a value, or a handle such as an offset/length into a result file the task names).</param>
/// <param name="Agent">The agent slot that committed.</param>
/// <param name="Epoch">The lease epoch under which it committed.</param>
/// <param name="PlacedTicks">Stopwatch ticks at placement (0 if unknown).</param>
/// <param name="PickupTicks">Stopwatch ticks at the winning lease (0 if unknown).</param>
/// <param name="CompletedTicks">Stopwatch ticks at commit.</param>
/// <param name="LeaseCount">How many leases the task took (more than one after revocations or recoveries).</param>
public readonly record struct TaskResult(long Value, int Agent, long Epoch, long PlacedTicks, long PickupTicks, long CompletedTicks, int LeaseCount);

/// <summary>
/// Fixed-capacity table of task records in shared memory with lease epochs and exactly-once commits.
/// Every method may be called from any thread of any process that maps the table.
/// </summary>
public sealed unsafe class SharedTaskTable
{
    private readonly byte* _base;

    /// <summary>Attaches to a table initialized by <see cref="TaskTableLayout.Initialize"/>.</summary>
    /// <param name="baseAddress">Start of the table inside a mapping that outlives this handle.</param>
    /// <exception cref="ArgumentException">The block does not hold an initialized table.</exception>
    public SharedTaskTable(byte* baseAddress)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        // SAFETY: offset 0 of a block the caller says holds a table. Acquire: pairs with the release store of
        // the capacity at the end of TaskTableLayout.Initialize.
        long capacity = Volatile.Read(ref *(long*)(baseAddress + TaskTableLayout.CapacityOffset));
        if (capacity < 1 || capacity > TaskTableLayout.MaxCapacity)
        {
            throw new ArgumentException(
                $"No initialized task table at 0x{(nint)baseAddress:X}: its capacity word reads {capacity}. Initialize it with TaskTableLayout.Initialize first.",
                nameof(baseAddress));
        }

        _base = baseAddress;
        Capacity = (int)capacity;
    }

    /// <summary>Task records (task ids are 0 to Capacity - 1).</summary>
    public int Capacity { get; }

    /// <summary>The task's current state word.</summary>
    public TaskStateWord Read(long taskId) => TaskStateWord.Unpack(Volatile.Read(ref State(taskId))); // acquire: pairs with every transition's CAS.

    /// <summary>The task's version stamp: how many transitions it went through (monotonic, advisory).</summary>
    public long Version(long taskId) => Volatile.Read(ref Field64(taskId, TaskTableLayout.TransitionsOffset)); // acquire: pairs with the increments after each CAS.

    /// <summary>
    /// Places a Free task on <paramref name="agent"/>'s deque (Free -> Queued(agent, e), stamping the placement
    /// time), or re-targets a Queued one (Queued(x, e) -> Queued(agent, e)). Call BEFORE pushing the id, so a
    /// recovery of <paramref name="agent"/> finds it.
    /// </summary>
    /// <returns>False when the task is Leased, Committing or Done.</returns>
    public bool TryPlace(long taskId, int agent)
    {
        ValidateAgent(agent);
        ref long state = ref State(taskId);
        while (true)
        {
            long raw = Volatile.Read(ref state); // acquire: the CAS below compares against it.
            var w = TaskStateWord.Unpack(raw);
            if (w.State is not (TaskState.Free or TaskState.Queued or TaskState.Recovered))
            {
                return false;
            }

            if (w.State == TaskState.Free)
            {
                // Release (ordered by the CAS below, a full fence): the timestamp is visible to whoever sees Queued.
                Volatile.Write(ref Field64(taskId, TaskTableLayout.PlacedTicksOffset), Stopwatch.GetTimestamp());
            }

            // Full fence CAS: the one transition; pairs with the CAS of every other transition on this word.
            if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Queued, agent, w.Epoch), raw) == raw)
            {
                Bump(taskId);
                return true;
            }
        }
    }

    /// <summary>Leases a Queued task to <paramref name="agent"/>: Queued(*, e) -> Leased(agent, e + 1).</summary>
    /// <param name="taskId">The task.</param>
    /// <param name="agent">The leasing agent's slot.</param>
    /// <param name="epoch">The lease epoch to pass to <see cref="TryCommit"/>.</param>
    /// <returns>False when the task is not Queued (someone else leased or finished it: skip it).</returns>
    public bool TryLease(long taskId, int agent, out long epoch)
    {
        ValidateAgent(agent);
        ref long state = ref State(taskId);
        while (true)
        {
            long raw = Volatile.Read(ref state); // acquire: pairs with the CAS that queued it.
            var w = TaskStateWord.Unpack(raw);
            if (w.State != TaskState.Queued)
            {
                epoch = 0;
                return false;
            }

            long next = NextEpoch(w.Epoch, taskId);
            // Full fence CAS: at most one agent moves Queued(*, e) to Leased(*, e+1).
            if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Leased, agent, next), raw) == raw)
            {
                // Release stores after winning: advisory metrics, ordered before our later commit CAS.
                Volatile.Write(ref Field64(taskId, TaskTableLayout.PickupTicksOffset), Stopwatch.GetTimestamp());
                Interlocked.Increment(ref Field32(taskId, TaskTableLayout.LeaseCountOffset)); // counter; no ordering role.
                Bump(taskId);
                epoch = next;
                return true;
            }
        }
    }

    /// <summary>
    /// Takes a lease away (lease time-out, rebalancing): Leased(*, <paramref name="epoch"/>) -> Queued(none, epoch + 1).
    /// The former leaseholder's <see cref="TryCommit"/> then fails. Re-place the task afterwards.
    /// </summary>
    /// <returns>False when the task is no longer Leased at that epoch.</returns>
    public bool TryRevokeLease(long taskId, long epoch)
    {
        ref long state = ref State(taskId);
        long raw = Volatile.Read(ref state); // acquire: the CAS below compares against it.
        var w = TaskStateWord.Unpack(raw);
        if (w.State != TaskState.Leased || w.Epoch != epoch)
        {
            return false;
        }

        // Full fence CAS: races with the leaseholder's BeginCommit CAS; exactly one of them wins.
        if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Queued, TaskStateWord.NoAgent, NextEpoch(epoch, taskId)), raw) != raw)
        {
            return false;
        }

        Bump(taskId);
        return true;
    }

    /// <summary>
    /// Commits <paramref name="result"/> for the lease (<paramref name="agent"/>, <paramref name="epoch"/>):
    /// Leased -> Committing (one CAS; fails if the lease was revoked or recovered), result written, then Done.
    /// </summary>
    /// <returns>True when this call's result is the task's one result; false when the lease was lost (drop the result).</returns>
    public bool TryCommit(long taskId, int agent, long epoch, long result)
    {
        if (!TryBeginCommit(taskId, agent, epoch))
        {
            return false;
        }

        return FinishCommit(taskId, agent, epoch, result);
    }

    /// <summary>Step 1 of a commit: Leased(agent, epoch) -> Committing(agent, epoch). Only the winner may then
    /// write the task's result fields (invariant T3), and must end with <see cref="FinishCommit"/>.</summary>
    /// <returns>False when the lease was lost (revoked or recovered).</returns>
    public bool TryBeginCommit(long taskId, int agent, long epoch)
    {
        ValidateAgent(agent);
        long expected = TaskStateWord.Pack(TaskState.Leased, agent, epoch);
        // Full fence CAS: the commit decision. Fails when the word moved on (revoked, recovered): the stale
        // agent cannot commit. Pairs with TryRevokeLease/Recover's CAS on the same word.
        if (Interlocked.CompareExchange(ref State(taskId), TaskStateWord.Pack(TaskState.Committing, agent, epoch), expected) != expected)
        {
            return false;
        }

        Bump(taskId);
        return true;
    }

    /// <summary>Step 2 of a commit: writes the result fields, then Committing(agent, epoch) -> Done(agent, epoch).</summary>
    /// <returns>False when the word was recovered meanwhile (the caller was wrongly presumed dead).</returns>
    public bool FinishCommit(long taskId, int agent, long epoch, long result)
    {
        // T4: we hold Committing(agent, epoch); nobody else writes these fields until Done or our confirmed death.
        Volatile.Write(ref Field64(taskId, TaskTableLayout.ResultOffset), result); // published by the CAS below.
        Volatile.Write(ref Field32(taskId, TaskTableLayout.ResultAgentOffset), agent); // published by the CAS below.
        Volatile.Write(ref Field64(taskId, TaskTableLayout.CompletedTicksOffset), Stopwatch.GetTimestamp()); // published by the CAS below.
        long committing = TaskStateWord.Pack(TaskState.Committing, agent, epoch);
        // Full fence CAS (release would do under T4): publishes the result fields; pairs with the acquire load of
        // the state word in TryReadResult. A CAS rather than a store, so that a violated T4 (a live agent recovered
        // as dead) is reported as a failed commit instead of overwriting a newer state.
        if (Interlocked.CompareExchange(ref State(taskId), TaskStateWord.Pack(TaskState.Done, agent, epoch), committing) != committing)
        {
            return false;
        }

        Bump(taskId);
        return true;
    }

    /// <summary>
    /// Recovers the tasks of a DEAD agent: Leased(dead, e) and Committing(dead, e) become Queued(none, e + 1);
    /// Queued(dead, e) (placed on its deque, not yet leased) becomes Queued(none, e). Each recovered id is added
    /// to <paramref name="toPlace"/>; place it again with <see cref="TryPlace"/> and push it to a live agent.
    /// </summary>
    /// <param name="deadAgent">The agent slot, which MUST be confirmed dead (OS-backed liveness), since a live
    /// agent in Committing would still write its result.</param>
    /// <param name="toPlace">Receives the recovered task ids.</param>
    /// <returns>How many ids were added.</returns>
    public int Recover(int deadAgent, ICollection<long> toPlace)
    {
        ValidateAgent(deadAgent);
        ArgumentNullException.ThrowIfNull(toPlace);
        int n = 0;
        for (long id = 0; id < Capacity; id++)
        {
            ref long state = ref State(id);
            while (true)
            {
                long raw = Volatile.Read(ref state); // acquire: the CAS below compares against it.
                var w = TaskStateWord.Unpack(raw);
                if (w.Agent != deadAgent || w.State is TaskState.Free or TaskState.Done)
                {
                    break;
                }

                long epoch = w.State == TaskState.Queued ? w.Epoch : NextEpoch(w.Epoch, id);
                // Full fence CAS: pairs with the CAS of every other transition (a thief may be leasing a Queued one).
                if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Queued, TaskStateWord.NoAgent, epoch), raw) == raw)
                {
                    Bump(id);
                    toPlace.Add(id);
                    n++;
                    break;
                }
            }
        }

        return n;
    }

    /// <summary>
    /// Session slot tables: takes back the tasks a DEAD agent held, Leased(dead, e) and Committing(dead, e), as
    /// Recovered(none, e + 1), which no agent can lease; Queued(dead, e) is left alone (the coordinator re-places
    /// it, and a live thief may still lease it). Each recovered id is added to <paramref name="into"/>.
    /// </summary>
    /// <param name="deadAgent">The agent slot, which MUST be confirmed dead (its process reaped), see T4.</param>
    /// <param name="into">Receives the recovered ids.</param>
    /// <returns>How many ids were added.</returns>
    public int RecoverHeld(int deadAgent, ICollection<long> into)
    {
        ValidateAgent(deadAgent);
        ArgumentNullException.ThrowIfNull(into);
        int n = 0;
        for (long id = 0; id < Capacity; id++)
        {
            ref long state = ref State(id);
            long raw = Volatile.Read(ref state); // acquire: the CAS below compares against it.
            var w = TaskStateWord.Unpack(raw);
            if (w.Agent != deadAgent || w.State is not (TaskState.Leased or TaskState.Committing))
            {
                continue;
            }

            // Full fence CAS. The dead agent cannot move the word any more and no one else moves a Leased or
            // Committing word it holds, so this CAS cannot lose; it is a CAS only to keep T1 (CAS-only changes).
            if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Recovered, TaskStateWord.NoAgent, NextEpoch(w.Epoch, id)), raw) == raw)
            {
                Bump(id);
                into.Add(id);
                n++;
            }
        }

        return n;
    }

    /// <summary>
    /// Session slot tables: frees a slot for its next task: Done(*, e) or Recovered(*, e) or Queued(*, e) ->
    /// Free(none, e + 1). A Queued slot can be recycled only if no agent leases it first (the CAS decides); the
    /// epoch step makes every stale lease attempt on the old occupant fail.
    /// </summary>
    /// <returns>False when the slot is Leased or Committing (an agent is running its task) or already Free.</returns>
    public bool TryRecycle(long taskId)
    {
        ref long state = ref State(taskId);
        long raw = Volatile.Read(ref state); // acquire: the CAS below compares against it.
        var w = TaskStateWord.Unpack(raw);
        if (w.State is not (TaskState.Done or TaskState.Recovered or TaskState.Queued))
        {
            return false;
        }

        // Full fence CAS: races only with a thief's lease of a Queued slot; exactly one wins.
        if (Interlocked.CompareExchange(ref state, TaskStateWord.Pack(TaskState.Free, TaskStateWord.NoAgent, NextEpoch(w.Epoch, taskId)), raw) != raw)
        {
            return false;
        }

        Bump(taskId);
        return true;
    }

    /// <summary>
    /// Adds every Queued task to <paramref name="into"/>: the coordinator's backstop sweep when the job stalls
    /// (for ids lost in a failure window of the deques; re-pushing a duplicate id is harmless because leases are CAS).
    /// </summary>
    /// <returns>How many ids were added.</returns>
    public int CollectQueued(ICollection<long> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int n = 0;
        for (long id = 0; id < Capacity; id++)
        {
            // Acquire: pairs with the Place/Recover/Revoke CAS that queued it.
            if (TaskStateWord.Unpack(Volatile.Read(ref State(id))).State == TaskState.Queued)
            {
                into.Add(id);
                n++;
            }
        }

        return n;
    }

    /// <summary>How many tasks are Done (a snapshot).</summary>
    public int CountDone()
    {
        int n = 0;
        for (long id = 0; id < Capacity; id++)
        {
            // Acquire: pairs with FinishCommit's CAS.
            if (TaskStateWord.Unpack(Volatile.Read(ref State(id))).State == TaskState.Done)
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Reads a Done task's result and timings.</summary>
    /// <returns>False when the task is not Done yet.</returns>
    public bool TryReadResult(long taskId, out TaskResult result)
    {
        // Acquire: pairs with the CAS that published Done in FinishCommit; the result fields written before it are visible.
        var w = TaskStateWord.Unpack(Volatile.Read(ref State(taskId)));
        if (w.State != TaskState.Done)
        {
            result = default;
            return false;
        }

        // Done is final (no transition leaves it), so these fields no longer change; the Volatile reads below are
        // ordered after the acquire load of the state word above.
        result = new TaskResult(
            Volatile.Read(ref Field64(taskId, TaskTableLayout.ResultOffset)),
            w.Agent,
            w.Epoch,
            Volatile.Read(ref Field64(taskId, TaskTableLayout.PlacedTicksOffset)),
            Volatile.Read(ref Field64(taskId, TaskTableLayout.PickupTicksOffset)),
            Volatile.Read(ref Field64(taskId, TaskTableLayout.CompletedTicksOffset)),
            Volatile.Read(ref Field32(taskId, TaskTableLayout.LeaseCountOffset)));
        return true;
    }

    private void Bump(long taskId) => Interlocked.Increment(ref Field64(taskId, TaskTableLayout.TransitionsOffset)); // version stamp; follows the winning CAS, no ordering role.

    private static long NextEpoch(long epoch, long taskId)
    {
        if (epoch >= TaskStateWord.MaxEpoch)
        {
            throw new InvalidOperationException($"Task {taskId} exhausted its lease epochs ({TaskStateWord.MaxEpoch}); the task keeps failing, stop re-queuing it.");
        }

        return epoch + 1;
    }

    // The checks below run on every table operation; their throws live in helpers so the checks inline.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void ValidateAgent(int agent)
    {
        if ((uint)agent > TaskStateWord.MaxAgent)
        {
            ThrowBadAgent(agent);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private byte* Record(long taskId)
    {
        if ((ulong)taskId >= (ulong)Capacity)
        {
            ThrowBadTask(taskId);
        }

        // SAFETY: taskId < Capacity, so the record lies inside the block of TaskTableLayout.SizeOf(Capacity) bytes.
        return _base + TaskTableLayout.RecordsOffset + taskId * TaskTableLayout.RecordBytes;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadAgent(int agent) =>
        throw new ArgumentOutOfRangeException(nameof(agent), agent, $"Agent slots are 0 to {TaskStateWord.MaxAgent}.");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowBadTask(long taskId) =>
        throw new ArgumentOutOfRangeException(nameof(taskId), taskId, $"Task ids in this table are 0 to {Capacity - 1}.");

    // SAFETY (three accessors): Record checked the id; offsets are layout constants inside the 128-byte record;
    // every use goes through Volatile or Interlocked.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long State(long taskId) => ref *(long*)(Record(taskId) + TaskTableLayout.StateOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long Field64(long taskId, int offset) => ref *(long*)(Record(taskId) + offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref int Field32(long taskId, int offset) => ref *(int*)(Record(taskId) + offset);
}
