using Unjucks.LockFree;

namespace Unjucks.Agents;

/// <summary>One worker of a <see cref="WorkStealingScheduler"/>: its deque, its thread, its parking signal and counters.</summary>
internal sealed class SchedulerWorker
{
    public SchedulerWorker(WorkStealingScheduler owner, int index)
    {
        Owner = owner;
        Index = index;
        _rng = (uint)(index * 0x9E3779B9u) | 1u;
    }

    public WorkStealingScheduler Owner { get; }

    public int Index { get; }

    /// <summary>Owner pushes and pops (LIFO); other workers steal (FIFO, half at a time).</summary>
    public WorkStealingDeque<object> Deque { get; } = new(256);

    /// <summary>Outside submissions addressed to this worker (least-loaded injection only); any worker may dequeue.</summary>
    public MpmcQueue<object> Inbox { get; } = new();

    /// <summary>Items in <see cref="Inbox"/>, incremented before the enqueue (so it never under-counts a
    /// visible item) and decremented after a successful dequeue; own cache lines.</summary>
    public PaddedCounter InboxCount;

    /// <summary>Parking signal; see ParkingLot for the protocol.</summary>
    public SemaphoreSlim Signal { get; } = new(0);

    /// <summary>Guarded by the ParkingLot lock.</summary>
    public bool OnIdleStack { get; set; }

    public Thread? Thread { get; set; }

    /// <summary>Items run since the last fairness check of the injector (owner only).</summary>
    public int Tick { get; set; }

    public WorkerCounters Counters;

    /// <summary>Metrics only (owner only): when the worker started looking for its next item.</summary>
    public long SearchStartedAt { get; set; }

    private uint _rng;

    /// <summary>xorshift32, owner only.</summary>
    public int NextRandom(int bound)
    {
        uint x = _rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _rng = x;
        return (int)(x % (uint)bound);
    }
}
