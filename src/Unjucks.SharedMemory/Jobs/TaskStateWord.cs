namespace Unjucks.SharedMemory.Jobs;

/// <summary>Where a task is in its life (see the state machine in docs/agent-processes.md).</summary>
public enum TaskState
{
    /// <summary>Not placed yet.</summary>
    Free = 0,

    /// <summary>Placed on an agent's deque (or awaiting re-placement); may be leased.</summary>
    Queued = 1,

    /// <summary>Leased by an agent at an epoch; only that (agent, epoch) may commit.</summary>
    Leased = 2,

    /// <summary>The leaseholder won the commit and is writing the result; Done follows.</summary>
    Committing = 3,

    /// <summary>The result is published; final in a job's table. A session's slot table recycles it to Free
    /// once the coordinator has copied the result (<see cref="SharedTaskTable.TryRecycle"/>).</summary>
    Done = 4,

    /// <summary>Taken back from a dead agent by <see cref="SharedTaskTable.RecoverHeld"/>: no agent may lease it;
    /// only the coordinator moves it on (re-place it, or recycle it when the task fails).</summary>
    Recovered = 5,
}

/// <summary>
/// The 64-bit state word of a task record, decoded. Every transition replaces the whole word with one CAS.
/// </summary>
/// <remarks>
/// <code>
/// bit 63 ............................ 13 | 12 ........ 3 | 2 .. 0
///             epoch (51 bits)            | agent (10 bits) | state (3 bits)
/// </code>
/// The epoch grows by one on every lease and every lease revocation or recovery, so an (agent, epoch) pair
/// names one lease for the life of the table; a word never returns to an earlier (state, epoch) value except
/// through re-placement of a Queued task (Queued(a, e) -> Queued(b, e)), which no conditional transition
/// depends on.
/// </remarks>
/// <param name="State">The state.</param>
/// <param name="Agent">Agent slot: the placement target when Queued, the leaseholder when Leased, Committing or Done; <see cref="NoAgent"/> when none.</param>
/// <param name="Epoch">Lease epoch.</param>
public readonly record struct TaskStateWord(TaskState State, int Agent, long Epoch)
{
    /// <summary>Agent value meaning "none" (a Free task, or a recovered task awaiting placement).</summary>
    public const int NoAgent = (1 << AgentBits) - 1;

    /// <summary>Largest agent slot a word can hold (<see cref="NoAgent"/> - 1).</summary>
    public const int MaxAgent = NoAgent - 1;

    /// <summary>Largest epoch a word can hold.</summary>
    public const long MaxEpoch = (1L << EpochBits) - 1;

    private const int StateBits = 3;
    private const int AgentBits = 10;
    private const int EpochBits = 64 - StateBits - AgentBits;

    /// <summary>Packs the word.</summary>
    public long Pack() => (Epoch << (StateBits + AgentBits)) | ((long)Agent << StateBits) | (long)State;

    /// <summary>Unpacks a raw word.</summary>
    public static TaskStateWord Unpack(long raw) => new(
        (TaskState)(raw & ((1 << StateBits) - 1)),
        (int)((raw >> StateBits) & NoAgent),
        (long)((ulong)raw >> (StateBits + AgentBits)));

    internal static long Pack(TaskState state, int agent, long epoch) =>
        (epoch << (StateBits + AgentBits)) | ((long)agent << StateBits) | (long)state;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{State}(agent {(Agent == NoAgent ? "none" : Agent.ToString(System.Globalization.CultureInfo.InvariantCulture))}, epoch {Epoch})";
}
