// GcPressureMonitor: decides, from per-agent memory samples and a byte budget, when the coordinator should run a
// coordinated GC round. Pure arithmetic plus a cooldown clock (TimeProvider), so it is tested without processes.
//
// Rule (the seed's): pressure = sum of the agents' bytes / budget; collect when pressure > threshold (0.8), but
// not again within the cooldown after a round (default 10 s): an agent whose live data alone exceeds the
// threshold would otherwise be collected back to back, pausing it continuously and freeing nothing.
namespace Unjucks.Agents.Gc;

/// <summary>One agent's memory as the coordinator sees it.</summary>
/// <param name="AgentSlot">Registry slot.</param>
/// <param name="Pid">Process id.</param>
/// <param name="Bytes">Bytes that count against the budget (e.g. the agent's managed heap size).</param>
public readonly record struct AgentMemorySample(int AgentSlot, int Pid, long Bytes)
{
    /// <summary>A sample from the agent's <c>System.Runtime</c> counters: <c>gc-heap-size</c> (MB) in bytes.</summary>
    /// <param name="agentSlot">The agent's registry slot.</param>
    /// <param name="counters">A reading from <see cref="RuntimeCounters.ReadAsync"/>.</param>
    /// <returns>The sample.</returns>
    public static AgentMemorySample FromCounters(int agentSlot, RuntimeCounterSnapshot counters)
    {
        ArgumentNullException.ThrowIfNull(counters);
        return new AgentMemorySample(agentSlot, counters.Pid, (long)(counters.GcHeapSizeMB * 1024 * 1024));
    }
}

/// <summary>What the monitor concluded from one set of samples.</summary>
/// <param name="TotalBytes">Sum of the samples' bytes.</param>
/// <param name="BudgetBytes">The budget.</param>
/// <param name="Pressure">TotalBytes / BudgetBytes (may exceed 1).</param>
/// <param name="OverThreshold">Pressure is above the threshold.</param>
/// <param name="ShouldCollect">Over the threshold and outside the cooldown: run a round now.</param>
/// <param name="Targets">Every sampled agent, largest first: the round's targets.</param>
public sealed record GcPressureReading(long TotalBytes, long BudgetBytes, double Pressure, bool OverThreshold, bool ShouldCollect, IReadOnlyList<GcTarget> Targets);

/// <summary>Says when the agents' memory is high enough, relative to a budget, to run a coordinated GC round.</summary>
public sealed class GcPressureMonitor
{
    /// <summary>The seed's threshold: 0.8 of the budget.</summary>
    public const double DefaultThreshold = 0.8;

    /// <summary>Default pause between rounds.</summary>
    public static readonly TimeSpan DefaultCooldown = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private long _lastRound = long.MinValue; // timestamp of the last round; MinValue = never

    /// <summary>Creates a monitor.</summary>
    /// <param name="budgetBytes">The agents' combined memory budget, positive.</param>
    /// <param name="threshold">Pressure above which to collect, in (0, 1]; default 0.8.</param>
    /// <param name="cooldown">Least time between two rounds; default 10 s; zero allowed.</param>
    /// <param name="timeProvider">Clock for the cooldown; default <see cref="TimeProvider.System"/>.</param>
    public GcPressureMonitor(long budgetBytes, double threshold = DefaultThreshold, TimeSpan? cooldown = null, TimeProvider? timeProvider = null)
    {
        if (budgetBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(budgetBytes), budgetBytes, "The memory budget must be a positive number of bytes.");
        }

        if (!(threshold > 0 && threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold is a fraction of the budget in (0, 1]; the seed uses 0.8.");
        }

        TimeSpan c = cooldown ?? DefaultCooldown;
        if (c < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(cooldown), c, "The cooldown must not be negative.");
        }

        BudgetBytes = budgetBytes;
        Threshold = threshold;
        Cooldown = c;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The budget in bytes.</summary>
    public long BudgetBytes { get; }

    /// <summary>The pressure threshold.</summary>
    public double Threshold { get; }

    /// <summary>Least time between two rounds.</summary>
    public TimeSpan Cooldown { get; }

    /// <summary>Evaluates one set of samples (one per agent).</summary>
    /// <param name="samples">The agents' memory; bytes must not be negative, slots must be distinct.</param>
    /// <returns>The reading; <see cref="GcPressureReading.ShouldCollect"/> says whether to run a round now.</returns>
    public GcPressureReading Evaluate(IReadOnlyList<AgentMemorySample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        long total = 0;
        var slots = new HashSet<int>();
        foreach (AgentMemorySample s in samples)
        {
            if (s.Bytes < 0)
            {
                throw new ArgumentException($"Agent slot {s.AgentSlot} (pid {s.Pid}) has a negative byte count {s.Bytes}; pass measured sizes.", nameof(samples));
            }

            if (!slots.Add(s.AgentSlot))
            {
                throw new ArgumentException($"Agent slot {s.AgentSlot} is sampled twice; pass one sample per agent.", nameof(samples));
            }

            total = total > long.MaxValue - s.Bytes ? long.MaxValue : total + s.Bytes; // saturate instead of wrapping
        }

        double pressure = (double)total / BudgetBytes;
        bool over = pressure > Threshold;
        long last = Interlocked.Read(ref _lastRound); // atomic 64-bit read; pairs with the Exchange in RecordRound
        bool cooled = last == long.MinValue || _time.GetElapsedTime(last) >= Cooldown;
        GcTarget[] targets = samples.OrderByDescending(s => s.Bytes).Select(s => new GcTarget(s.AgentSlot, s.Pid)).ToArray();
        return new GcPressureReading(total, BudgetBytes, pressure, over, over && cooled, targets);
    }

    /// <summary>Records that a round ran now (starts the cooldown). Call it after every round, automatic or on demand.</summary>
    public void RecordRound() => Interlocked.Exchange(ref _lastRound, _time.GetTimestamp()); // atomic 64-bit store; read by Evaluate
}
