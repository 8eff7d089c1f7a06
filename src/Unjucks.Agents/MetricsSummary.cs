namespace Unjucks.Agents;

/// <summary>What <see cref="AgentMetrics.GetSummary"/> reports for a time window.</summary>
public sealed class MetricsSummary
{
    internal MetricsSummary(TimeSpan window, long completed, double throughput,
        TimeSpan latencyP50, TimeSpan latencyP95, TimeSpan latencyP99, TimeSpan latencyMax,
        TimeSpan queueTimeP50, TimeSpan queueTimeP95, TimeSpan queueTimeMax, long maxQueueDepth,
        double coordinationOverhead, double loadCoefficientOfVariation, IReadOnlyList<long> completedPerAgent)
    {
        Window = window;
        Completed = completed;
        Throughput = throughput;
        LatencyP50 = latencyP50;
        LatencyP95 = latencyP95;
        LatencyP99 = latencyP99;
        LatencyMax = latencyMax;
        QueueTimeP50 = queueTimeP50;
        QueueTimeP95 = queueTimeP95;
        QueueTimeMax = queueTimeMax;
        MaxQueueDepth = maxQueueDepth;
        CoordinationOverhead = coordinationOverhead;
        LoadCoefficientOfVariation = loadCoefficientOfVariation;
        CompletedPerAgent = completedPerAgent;
    }

    /// <summary>The time the summary covers.</summary>
    public TimeSpan Window { get; }

    /// <summary>Operations completed in the window.</summary>
    public long Completed { get; }

    /// <summary>Operations per second over the window.</summary>
    public double Throughput { get; }

    /// <summary>Median operation duration (HdrHistogram, 3 significant digits, microsecond resolution).</summary>
    public TimeSpan LatencyP50 { get; }

    /// <summary>95th percentile of operation duration.</summary>
    public TimeSpan LatencyP95 { get; }

    /// <summary>99th percentile of operation duration.</summary>
    public TimeSpan LatencyP99 { get; }

    /// <summary>Longest operation.</summary>
    public TimeSpan LatencyMax { get; }

    /// <summary>Median queue time (ready to started).</summary>
    public TimeSpan QueueTimeP50 { get; }

    /// <summary>95th percentile of queue time.</summary>
    public TimeSpan QueueTimeP95 { get; }

    /// <summary>Longest queue time.</summary>
    public TimeSpan QueueTimeMax { get; }

    /// <summary>Largest queue depth reported in the window.</summary>
    public long MaxQueueDepth { get; }

    /// <summary>(total operation time - user work time) / total operation time, in [0, 1].</summary>
    public double CoordinationOverhead { get; }

    /// <summary>Standard deviation / mean of operations completed per agent (0 = perfectly even).</summary>
    public double LoadCoefficientOfVariation { get; }

    /// <summary>Operations completed by each agent in the window.</summary>
    public IReadOnlyList<long> CompletedPerAgent { get; }
}
