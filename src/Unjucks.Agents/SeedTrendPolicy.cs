// SeedTrendPolicy: the seed's AdaptiveConcurrencyController.calculateOptimalConcurrency, verbatim in
// behaviour: over the last WindowSize samples (seed: 3), throughputTrend = (last - first) / first and
// latencyTrend likewise; memory pressure is the last sample's.
//   raise by 1 if throughputTrend > 0.1 && latencyTrend < 0.1 && memory < 0.8   (checked first)
//   lower by 1 if throughputTrend < -0.1 || latencyTrend > 0.2 || memory > 0.9
// With fewer than 2 samples the limit stays. A zero first value gives a trend of +1 when the last is
// positive, else 0 (the seed divided by zero). Known weakness, kept on purpose and measured in the
// benchmark: under a steady load the trends are ~0, so the limit stays where it is even far from the best.
namespace Unjucks.Agents;

internal sealed class SeedTrendPolicy : IConcurrencyLimitPolicy
{
    private readonly AdaptiveConcurrencyOptions _o;
    private readonly Queue<ConcurrencySample> _window = new();

    public SeedTrendPolicy(AdaptiveConcurrencyOptions options) => _o = options;

    public string Reason { get; private set; } = "starting";

    public int Next(int limit, ConcurrencySample sample)
    {
        _window.Enqueue(sample);
        while (_window.Count > _o.WindowSize)
        {
            _window.Dequeue();
        }

        if (_window.Count < 2)
        {
            Reason = "need two samples for a trend";
            return limit;
        }

        var first = _window.Peek();
        double throughputTrend = Trend(first.Throughput, sample.Throughput);
        double latencyTrend = Trend(first.Latency.TotalMilliseconds, sample.Latency.TotalMilliseconds);
        double memory = sample.MemoryPressure;
        if (throughputTrend > _o.ThroughputRiseThreshold && latencyTrend < _o.LatencyRiseAllowance && memory < _o.MemoryPressureCeiling)
        {
            Reason = FormattableString.Invariant($"throughput trend {throughputTrend:+0.00;-0.00}, latency trend {latencyTrend:+0.00;-0.00}: one more");
            return limit + 1;
        }

        if (throughputTrend < _o.ThroughputFallThreshold || latencyTrend > _o.LatencyFallThreshold || memory > _o.MemoryPressureCritical)
        {
            Reason = FormattableString.Invariant($"throughput trend {throughputTrend:+0.00;-0.00}, latency trend {latencyTrend:+0.00;-0.00}, memory {memory:0.00}: one fewer");
            return limit - 1;
        }

        Reason = "trends within the thresholds: holding";
        return limit;
    }

    internal static double Trend(double first, double last) => first > 0 ? (last - first) / first : (last > 0 ? 1 : 0);
}
