// AgentMetrics: per-operation latency, queue time, throughput, queue depth, coordination overhead and load
// balance across agents, for a sliding time window and through System.Diagnostics.Metrics.
//
// References: HdrHistogram (Gil Tene) Recorder: writers record wait-free (a WriterReaderPhaser flips
// between two concurrent histograms; the reader swaps them to take an interval), so no lock is taken on the
// recording path; the seed's ConcurrencyMetrics.getPerformanceSummary (5-minute window).
// Recording path: Recorder.RecordValue (Interlocked only) + Interlocked adds to the agent's own padded slot
// + a CAS max for queue depth + Meter instruments (which themselves do not lock when nobody listens).
// Reading (GetSummary) is serialised by _readLock: it cuts an interval from the recorders and the
// cumulative counters, appends it as a bucket, drops buckets that ended before now - Window, and merges.
// Failure window: the histogram interval and the counters are cut a few instructions apart, so an
// operation recorded in between may be counted in one bucket's histogram and the next bucket's counters.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using HdrHistogram;

namespace Unjucks.Agents;

/// <summary>Options for <see cref="AgentMetrics"/>.</summary>
public sealed class AgentMetricsOptions
{
    /// <summary>Length of the summary window (seed default: 5 minutes).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Clock (tests pass a manual one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// Metrics for a set of agents (worker threads or processes, numbered 0..AgentCount-1). Record with
/// <see cref="RecordOperation(int, TimeSpan, TimeSpan, TimeSpan)"/> from any thread without locks; read a
/// window with <see cref="GetSummary"/>; the same data is published by a <see cref="System.Diagnostics.Metrics.Meter"/>
/// named <see cref="MeterName"/>.
/// </summary>
public sealed class AgentMetrics : IDisposable
{
    /// <summary>Name of the meter, for <c>dotnet-counters --counters Unjucks.Agents</c> and OpenTelemetry.</summary>
    public const string MeterName = "Unjucks.Agents";

    private const long LowestMicros = 1;
    private const long HighestMicros = 3_600_000_000L; // one hour
    private const int SignificantDigits = 3;

    private readonly Recorder _latency = NewRecorder();
    private readonly Recorder _queueTime = NewRecorder();
    private readonly AgentSlot[] _slots;
    private readonly object[] _agentTags;
    private readonly TimeProvider _time;
    private readonly long _windowTicks;

    // Granularity of the sliding window: a summary cut younger than this merges into the newest bucket, so
    // the window holds at most BucketsPerWindow + 1 buckets (two histograms each) however often
    // GetSummary is called; a dashboard polling every 250 ms no longer grows memory with the window.
    private const int BucketsPerWindow = 20;
    private readonly long _bucketTicks;
    private readonly Counter<long> _operations;
    private readonly Histogram<double> _durationInstrument;
    private readonly Histogram<double> _queueInstrument;

    private readonly object _readLock = new();
    private readonly Queue<MetricsBucket> _buckets = new();
    private MetricsBucket? _newest;
    private readonly long[] _lastCompleted;
    private long _lastTotalTicks;
    private long _lastUserTicks;
    private long _lastCut;

    private PaddedCounter _maxQueueDepth;
    private PaddedCounter _currentQueueDepth;

    /// <summary>Creates the metrics for <paramref name="agentCount"/> agents.</summary>
    /// <param name="agentCount">Number of agents (at least 1).</param>
    /// <param name="options">Options (window, clock).</param>
    public AgentMetrics(int agentCount, AgentMetricsOptions? options = null)
    {
        if (agentCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(agentCount), agentCount, "agentCount must be at least 1.");
        }

        options ??= new AgentMetricsOptions();
        if (options.Window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Window, "The metrics window must be positive.");
        }

        AgentCount = agentCount;
        _time = options.TimeProvider;
        _windowTicks = (long)(options.Window.TotalSeconds * _time.TimestampFrequency);
        _bucketTicks = Math.Max(1, _windowTicks / BucketsPerWindow);
        _slots = new AgentSlot[agentCount];
        _lastCompleted = new long[agentCount];
        _agentTags = new object[agentCount];
        for (int i = 0; i < agentCount; i++)
        {
            _agentTags[i] = i; // boxed once so that recording with a tag does not allocate
        }

        _lastCut = _time.GetTimestamp();
        Meter = new Meter(MeterName, "1.0");
        _operations = Meter.CreateCounter<long>("unjucks.agents.operations", "{operation}", "Operations completed, by agent.");
        _durationInstrument = Meter.CreateHistogram<double>("unjucks.agents.operation.duration", "ms", "Operation duration (start to finish).");
        _queueInstrument = Meter.CreateHistogram<double>("unjucks.agents.queue.time", "ms", "Time an operation waited between ready and started.");
        // Acquire load of the last depth; pairs with the Volatile.Write in RecordQueueDepth.
        Meter.CreateObservableGauge("unjucks.agents.queue.depth", () => Volatile.Read(ref _currentQueueDepth.Value), "{operation}", "Last reported queue depth.");
        Meter.CreateObservableGauge("unjucks.agents.coordination.overhead", () => CumulativeOverhead(), "1", "Share of operation time not spent in user work, since start.");
        Meter.CreateObservableGauge("unjucks.agents.load.cv", () => CumulativeLoadCv(), "1", "Coefficient of variation of operations completed across agents, since start.");
    }

    /// <summary>Number of agents.</summary>
    public int AgentCount { get; }

    /// <summary>The meter (named <see cref="MeterName"/>) that publishes these metrics.</summary>
    public Meter Meter { get; }

    /// <summary>Records one finished operation. Lock-free; callable from any thread.</summary>
    /// <param name="agent">Agent that ran it (0..AgentCount-1).</param>
    /// <param name="duration">Start to finish, including coordination work around the user code.</param>
    /// <param name="userTime">Time in user code (at most <paramref name="duration"/>).</param>
    /// <param name="queueTime">Ready to started.</param>
    public void RecordOperation(int agent, TimeSpan duration, TimeSpan userTime, TimeSpan queueTime)
    {
        if ((uint)agent >= (uint)_slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(agent), agent, $"agent must be in 0..{_slots.Length - 1}.");
        }

        long durationTicks = Math.Max(0, duration.Ticks);
        long userTicks = Math.Clamp(userTime.Ticks, 0, durationTicks);
        _latency.RecordValue(ToMicros(durationTicks));
        _queueTime.RecordValue(ToMicros(Math.Max(0, queueTime.Ticks)));
        ref var slot = ref _slots[agent];
        // Interlocked: several threads may report for the same agent; the agent's slot is on its own lines.
        Interlocked.Add(ref slot.TotalTicks, durationTicks);
        Interlocked.Add(ref slot.UserTicks, userTicks);
        Interlocked.Increment(ref slot.Completed);
        var tag = new KeyValuePair<string, object?>("agent", _agentTags[agent]);
        _operations.Add(1, tag);
        _durationInstrument.Record(duration.TotalMilliseconds, tag);
        _queueInstrument.Record(queueTime.TotalMilliseconds, tag);
    }

    /// <summary>Records one finished operation whose whole duration was user work and that did not wait.</summary>
    /// <param name="agent">Agent that ran it.</param>
    /// <param name="duration">Start to finish.</param>
    public void RecordOperation(int agent, TimeSpan duration) => RecordOperation(agent, duration, duration, TimeSpan.Zero);

    /// <summary>Reports the current depth of a work queue; the window keeps the maximum.</summary>
    /// <param name="depth">Items waiting.</param>
    public void RecordQueueDepth(long depth)
    {
        Volatile.Write(ref _currentQueueDepth.Value, depth); // release; pairs with the acquire load in the queue.depth gauge callback
        long seen;
        // CAS loop raising the maximum; pairs with the Exchange that resets it in CutInterval.
        while ((seen = Volatile.Read(ref _maxQueueDepth.Value)) < depth &&
               Interlocked.CompareExchange(ref _maxQueueDepth.Value, depth, seen) != seen)
        {
        }
    }

    /// <summary>Summarises the last <see cref="AgentMetricsOptions.Window"/> (or less, right after creation).</summary>
    /// <returns>The summary.</returns>
    public MetricsSummary GetSummary()
    {
        lock (_readLock)
        {
            long now = _time.GetTimestamp();
            CutInterval(now);
            while (_buckets.Count > 1 && now - _buckets.Peek().End > _windowTicks)
            {
                _buckets.Dequeue();
            }

            var latency = NewHistogram();
            var queue = NewHistogram();
            var perAgent = new long[_slots.Length];
            long total = 0, user = 0, maxDepth = 0;
            long start = _buckets.Count > 0 ? _buckets.Peek().Start : now;
            foreach (var b in _buckets)
            {
                latency.Add(b.Latency);
                queue.Add(b.QueueTime);
                for (int i = 0; i < perAgent.Length; i++)
                {
                    perAgent[i] += b.Completed[i];
                }

                total += b.TotalTicks;
                user += b.UserTicks;
                maxDepth = Math.Max(maxDepth, b.MaxQueueDepth);
            }

            double seconds = (now - start) / (double)_time.TimestampFrequency;
            long completed = perAgent.Sum();
            return new MetricsSummary(
                window: TimeSpan.FromSeconds(seconds),
                completed: completed,
                throughput: seconds > 0 ? completed / seconds : 0,
                latencyP50: Percentile(latency, 50),
                latencyP95: Percentile(latency, 95),
                latencyP99: Percentile(latency, 99),
                latencyMax: latency.TotalCount == 0 ? TimeSpan.Zero : FromMicros(latency.GetMaxValue()),
                queueTimeP50: Percentile(queue, 50),
                queueTimeP95: Percentile(queue, 95),
                queueTimeMax: queue.TotalCount == 0 ? TimeSpan.Zero : FromMicros(queue.GetMaxValue()),
                maxQueueDepth: maxDepth,
                coordinationOverhead: Overhead(total, user),
                loadCoefficientOfVariation: CoefficientOfVariation(perAgent),
                completedPerAgent: perAgent);
        }
    }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => Meter.Dispose();

    /// <summary>Population coefficient of variation (standard deviation / mean); 0 when the mean is 0.</summary>
    /// <param name="values">Values.</param>
    /// <returns>The coefficient.</returns>
    internal static double CoefficientOfVariation(IReadOnlyList<long> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        double mean = values.Average();
        if (mean <= 0)
        {
            return 0;
        }

        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
        return Math.Sqrt(variance) / mean;
    }

    private static double Overhead(long total, long user) => total <= 0 ? 0 : (double)(total - user) / total;

    private void CutInterval(long now)
    {
        var bucket = new MetricsBucket
        {
            Start = _lastCut,
            End = now,
            Latency = _latency.GetIntervalHistogram(),
            QueueTime = _queueTime.GetIntervalHistogram(),
            Completed = new long[_slots.Length],
            // Exchange: takes the interval's maximum and restarts it; pairs with the CAS in RecordQueueDepth.
            MaxQueueDepth = Interlocked.Exchange(ref _maxQueueDepth.Value, 0),
        };
        long total = 0, user = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            // Atomic 64-bit reads of counters that writers update with Interlocked.
            long c = Interlocked.Read(ref _slots[i].Completed);
            bucket.Completed[i] = c - _lastCompleted[i];
            _lastCompleted[i] = c;
            total += Interlocked.Read(ref _slots[i].TotalTicks);
            user += Interlocked.Read(ref _slots[i].UserTicks);
        }

        bucket.TotalTicks = total - _lastTotalTicks;
        bucket.UserTicks = user - _lastUserTicks;
        _lastTotalTicks = total;
        _lastUserTicks = user;
        _lastCut = now;
        // The newest bucket is never dequeued (GetSummary keeps at least one), so _newest stays in the queue.
        if (_newest is not null && now - _newest.Start < _bucketTicks)
        {
            _newest.Merge(bucket);
            return;
        }

        _buckets.Enqueue(bucket);
        _newest = bucket;
    }

    private double CumulativeOverhead()
    {
        long total = 0, user = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            total += Interlocked.Read(ref _slots[i].TotalTicks);
            user += Interlocked.Read(ref _slots[i].UserTicks);
        }

        return Overhead(total, user);
    }

    private double CumulativeLoadCv()
    {
        var counts = new long[_slots.Length];
        for (int i = 0; i < counts.Length; i++)
        {
            counts[i] = Interlocked.Read(ref _slots[i].Completed);
        }

        return CoefficientOfVariation(counts);
    }

    private static long ToMicros(long ticks) => Math.Clamp(ticks / TimeSpan.TicksPerMicrosecond, LowestMicros, HighestMicros);

    private static TimeSpan FromMicros(long micros) => TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond);

    private static TimeSpan Percentile(HistogramBase h, double p) => h.TotalCount == 0 ? TimeSpan.Zero : FromMicros(h.GetValueAtPercentile(p));

    private static LongHistogram NewHistogram() => new(LowestMicros, HighestMicros, SignificantDigits);

    private static Recorder NewRecorder() => new(LowestMicros, HighestMicros, SignificantDigits,
        static (id, low, high, digits) => new LongConcurrentHistogram(id, low, high, digits));

    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct AgentSlot
    {
        [FieldOffset(128)] public long Completed;
        [FieldOffset(136)] public long TotalTicks;
        [FieldOffset(144)] public long UserTicks;
    }

    private sealed class MetricsBucket
    {
        public long Start;
        public long End;
        public HistogramBase Latency = null!;
        public HistogramBase QueueTime = null!;
        public long[] Completed = [];
        public long TotalTicks;
        public long UserTicks;
        public long MaxQueueDepth;

        /// <summary>Folds a later, adjacent interval into this bucket.</summary>
        public void Merge(MetricsBucket later)
        {
            End = later.End;
            Latency.Add(later.Latency);
            QueueTime.Add(later.QueueTime);
            for (int i = 0; i < Completed.Length; i++)
            {
                Completed[i] += later.Completed[i];
            }

            TotalTicks += later.TotalTicks;
            UserTicks += later.UserTicks;
            MaxQueueDepth = Math.Max(MaxQueueDepth, later.MaxQueueDepth);
        }
    }
}
