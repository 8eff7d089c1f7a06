// AdaptiveConcurrencyController: a concurrency limit in [Min, Max] moved by a policy fed with samples
// (throughput, latency, memory pressure, in-flight count). The controller holds no clock and no timer: the
// limit is a pure function of the samples fed so far, so tests drive it with synthetic inputs and the
// caller decides the sampling period (the seed used 30 s).
// Policies: KneeSearchPolicy (the default: measures counts to find the throughput peak, then tracks it),
// SeedTrendPolicy (the seed's calculateOptimalConcurrency rules) and Gradient2Policy (Netflix concurrency-limits
// Gradient2Limit). See each file's header; docs/agents.md has the measurements that chose the default.
namespace Unjucks.Agents;

/// <summary>Which rule set moves the limit.</summary>
public enum ConcurrencyPolicy
{
    /// <summary>The default: a golden-section search for the count with the highest throughput, then holding it while
    /// probing one neighbour every <see cref="AdaptiveConcurrencyOptions.ProbeInterval"/> windows, and searching again
    /// when the throughput at the chosen count moves by more than <see cref="AdaptiveConcurrencyOptions.ChangeThreshold"/>.</summary>
    KneeSearch = 2,

    /// <summary>The seed's rules: +1 when throughput rises more than 10 % over the window while latency rises less than 10 % and memory pressure is below 0.8; -1 when throughput falls more than 10 %, latency rises more than 20 %, or memory pressure exceeds 0.9.</summary>
    SeedTrend = 0,
    /// <summary>Netflix concurrency-limits Gradient2: limit = limit x clamp(tolerance x longRtt / shortRtt, 0.5, 1) + queueSize, smoothed.</summary>
    Gradient2 = 1,
}

/// <summary>One observation of the system for <see cref="AdaptiveConcurrencyController.Record"/>.</summary>
/// <param name="Throughput">Operations per second in the sampling period.</param>
/// <param name="Latency">Typical operation latency in the period (for example the median).</param>
/// <param name="MemoryPressure">Memory pressure in [0, 1] (for example <see cref="MemoryPressure.Combined"/>).</param>
/// <param name="InFlight">Most operations in flight during the period; 0 when unknown (treated as "at the limit").</param>
public readonly record struct ConcurrencySample(double Throughput, TimeSpan Latency, double MemoryPressure, int InFlight = 0)
{
    /// <summary>Builds a sample from a metrics summary (throughput and median latency).</summary>
    /// <param name="summary">The summary.</param>
    /// <param name="memoryPressure">Memory pressure in [0, 1].</param>
    /// <param name="inFlight">Most operations in flight; 0 when unknown.</param>
    /// <returns>The sample.</returns>
    public static ConcurrencySample FromSummary(MetricsSummary summary, double memoryPressure, int inFlight = 0)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return new ConcurrencySample(summary.Throughput, summary.LatencyP50, memoryPressure, inFlight);
    }
}

/// <summary>Options of <see cref="AdaptiveConcurrencyController"/> (defaults: the seed's and Netflix's).</summary>
public sealed class AdaptiveConcurrencyOptions
{
    /// <summary>Lowest limit (seed: 1).</summary>
    public int MinLimit { get; init; } = 1;

    /// <summary>Highest limit (seed: 16).</summary>
    public int MaxLimit { get; init; } = 16;

    /// <summary>Starting limit (seed: 4).</summary>
    public int InitialLimit { get; init; } = 4;

    /// <summary>The policy.</summary>
    public ConcurrencyPolicy Policy { get; init; } = ConcurrencyPolicy.KneeSearch;

    /// <summary>Knee search: a count must beat another's throughput by more than this share to be preferred (default
    /// 0.05); below it, the lower count wins.</summary>
    public double ImprovementThreshold { get; init; } = 0.05;

    /// <summary>Knee search: windows at the chosen count between two probes of a neighbour (default 4).</summary>
    public int ProbeInterval { get; init; } = 4;

    /// <summary>Knee search: a change of the chosen count's throughput by more than this share, two windows in a row,
    /// starts a new search (default 0.25).</summary>
    public double ChangeThreshold { get; init; } = 0.25;

    /// <summary>Knee search: a count's measurement older than this many windows is measured again before use (default 24).</summary>
    public int StaleAfter { get; init; } = 24;

    /// <summary>Seed policy: samples in the sliding window the trends are computed over (seed: 3).</summary>
    public int WindowSize { get; init; } = 3;

    /// <summary>Seed policy: raise when the throughput trend exceeds this (seed: 0.1).</summary>
    public double ThroughputRiseThreshold { get; init; } = 0.1;

    /// <summary>Seed policy: raise only while the latency trend is below this (seed: 0.1).</summary>
    public double LatencyRiseAllowance { get; init; } = 0.1;

    /// <summary>Seed policy: raise only while memory pressure is below this (seed: 0.8).</summary>
    public double MemoryPressureCeiling { get; init; } = 0.8;

    /// <summary>Seed policy: lower when the throughput trend is below this (seed: -0.1).</summary>
    public double ThroughputFallThreshold { get; init; } = -0.1;

    /// <summary>Seed policy: lower when the latency trend exceeds this (seed: 0.2).</summary>
    public double LatencyFallThreshold { get; init; } = 0.2;

    /// <summary>Both policies: lower when memory pressure exceeds this (seed: 0.9).</summary>
    public double MemoryPressureCritical { get; init; } = 0.9;

    /// <summary>Gradient2: how much latency growth is tolerated before the gradient drops below 1 (Netflix: 1.5).</summary>
    public double Tolerance { get; init; } = 1.5;

    /// <summary>Gradient2: weight of the new estimate in the smoothed limit (Netflix: 0.2).</summary>
    public double Smoothing { get; init; } = 0.2;

    /// <summary>Gradient2: samples in the long-term RTT exponential average (Netflix: 600).</summary>
    public int LongWindow { get; init; } = 600;

    /// <summary>Gradient2: samples averaged plainly before the exponential average starts (Netflix: 10).</summary>
    public int LongWindowWarmup { get; init; } = 10;

    /// <summary>Gradient2: queue allowance added to the limit each update (Netflix default: 4).</summary>
    public double QueueSize { get; init; } = 4;

    internal void Validate()
    {
        if (MinLimit < 1 || MaxLimit < MinLimit || InitialLimit < MinLimit || InitialLimit > MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialLimit),
                $"Limits must satisfy 1 <= MinLimit <= InitialLimit <= MaxLimit; got {MinLimit} <= {InitialLimit} <= {MaxLimit}.");
        }

        if (WindowSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(WindowSize), WindowSize, "WindowSize must be at least 2 (a trend needs two samples).");
        }

        if (ImprovementThreshold is < 0 or >= 1 || ProbeInterval < 1 || ChangeThreshold <= 0 || StaleAfter < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ImprovementThreshold),
                "Knee search options: ImprovementThreshold in [0, 1), ProbeInterval >= 1, ChangeThreshold > 0, StaleAfter >= 1.");
        }

        if (Smoothing is <= 0 or > 1 || Tolerance < 1 || LongWindow < 1 || LongWindowWarmup < 0 || QueueSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Smoothing),
                "Gradient2 options: Smoothing in (0, 1], Tolerance >= 1, LongWindow >= 1, LongWindowWarmup >= 0, QueueSize >= 0.");
        }
    }
}

/// <summary>Carries a change of the concurrency limit.</summary>
/// <param name="OldLimit">Limit before.</param>
/// <param name="NewLimit">Limit after.</param>
/// <param name="Reason">Why, in words (for example "searching [1, 10]: measuring 4").</param>
public sealed record ConcurrencyLimitChange(int OldLimit, int NewLimit, string Reason);

/// <summary>Adjusts a concurrency limit from fed samples; thread-safe (samples are applied one at a time).</summary>
public sealed class AdaptiveConcurrencyController
{
    private readonly IConcurrencyLimitPolicy _policy;
    private readonly object _lock = new();
    private int _limit;
    private long _samples;
    private string _reason = "no sample yet";

    /// <summary>Creates a controller.</summary>
    /// <param name="options">Options (default: seed limits 1..16 starting at 4, knee search).</param>
    public AdaptiveConcurrencyController(AdaptiveConcurrencyOptions? options = null)
    {
        Options = options ?? new AdaptiveConcurrencyOptions();
        Options.Validate();
        _limit = Options.InitialLimit;
        _policy = Options.Policy switch
        {
            ConcurrencyPolicy.KneeSearch => new KneeSearchPolicy(Options),
            ConcurrencyPolicy.SeedTrend => new SeedTrendPolicy(Options),
            ConcurrencyPolicy.Gradient2 => new Gradient2Policy(Options),
            _ => throw new ArgumentOutOfRangeException(nameof(options), Options.Policy, "Unknown concurrency policy."),
        };
    }

    /// <summary>The options in use.</summary>
    public AdaptiveConcurrencyOptions Options { get; }

    /// <summary>The current limit.</summary>
    public int Limit
    {
        get
        {
            lock (_lock)
            {
                return _limit;
            }
        }
    }

    /// <summary>Samples fed so far.</summary>
    public long SampleCount
    {
        get
        {
            lock (_lock)
            {
                return _samples;
            }
        }
    }

    /// <summary>Why the last sample left the limit where it is or moved it, in words.</summary>
    public string LastReason
    {
        get
        {
            lock (_lock)
            {
                return _reason;
            }
        }
    }

    /// <summary>Raised (on the recording thread, after the change) when the limit changes.</summary>
    public event EventHandler<ConcurrencyLimitChange>? LimitChanged;

    /// <summary>Feeds one sample and returns the (possibly new) limit.</summary>
    /// <param name="sample">The observation.</param>
    /// <returns>The limit after this sample.</returns>
    public int Record(ConcurrencySample sample)
    {
        if (!double.IsFinite(sample.Throughput) || sample.Throughput < 0 || sample.Latency < TimeSpan.Zero ||
            !double.IsFinite(sample.MemoryPressure) || sample.InFlight < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sample), sample,
                "A sample needs a finite non-negative throughput, a non-negative latency, a finite memory pressure and a non-negative in-flight count.");
        }

        int old, now;
        string reason;
        lock (_lock)
        {
            old = _limit;
            _samples++;
            now = Math.Clamp(_policy.Next(old, sample), Options.MinLimit, Options.MaxLimit);
            _limit = now;
            _reason = _policy.Reason;
            reason = _reason;
        }

        if (now != old)
        {
            LimitChanged?.Invoke(this, new ConcurrencyLimitChange(old, now, reason));
        }

        return now;
    }
}

/// <summary>A rule set that maps the current limit and a new sample to the next limit. Called under the controller's lock.</summary>
internal interface IConcurrencyLimitPolicy
{
    /// <summary>Why the last <see cref="Next"/> returned what it did.</summary>
    string Reason { get; }

    /// <summary>The next limit, given the sample measured at <paramref name="limit"/>.</summary>
    int Next(int limit, ConcurrencySample sample);
}
