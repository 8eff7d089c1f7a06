// SyntheticLoad: a closed-form service model whose best concurrency is known, used to compare the
// concurrency policies (tests and benchmarks). Up to Best concurrent operations each take BaseLatency
// (throughput grows linearly); beyond Best, operations queue for the Best "servers" and also slow each
// other (contention), so latency grows faster than linearly and throughput falls:
//   latency(L) = BaseLatency                                 for L <= Best
//   latency(L) = BaseLatency * (L / Best) * (1 + Contention * (L - Best))   for L > Best
//   throughput(L) = L / latency(L)          (maximal at L = Best)
// Noise multiplies throughput and latency by independent factors in [1 - Noise, 1 + Noise] from a seeded
// generator, so a run is reproducible.
namespace Unjucks.Agents;

internal sealed class SyntheticLoad
{
    private readonly Random _random;

    public SyntheticLoad(int best, double noise = 0.0, int seed = 1, double contention = 0.05, TimeSpan? baseLatency = null)
    {
        Best = best;
        Noise = noise;
        Contention = contention;
        BaseLatency = baseLatency ?? TimeSpan.FromMilliseconds(10);
        _random = new Random(seed);
    }

    public int Best { get; set; }

    public double Noise { get; }

    public double Contention { get; }

    public TimeSpan BaseLatency { get; }

    public TimeSpan Latency(int limit)
    {
        double f = limit <= Best ? 1.0 : (limit / (double)Best) * (1 + Contention * (limit - Best));
        return BaseLatency * f;
    }

    public double Throughput(int limit) => limit / Latency(limit).TotalSeconds;

    /// <summary>One noisy observation at <paramref name="limit"/> (the service is saturated: in flight = limit).</summary>
    public ConcurrencySample Sample(int limit, double memoryPressure = 0.1)
    {
        double n1 = 1 + Noise * (2 * _random.NextDouble() - 1);
        double n2 = 1 + Noise * (2 * _random.NextDouble() - 1);
        return new ConcurrencySample(Throughput(limit) * n1, Latency(limit) * n2, memoryPressure, limit);
    }

    /// <summary>Feeds <paramref name="steps"/> samples; returns the limits chosen after each.</summary>
    public int[] Drive(AdaptiveConcurrencyController controller, int steps)
    {
        var limits = new int[steps];
        for (int i = 0; i < steps; i++)
        {
            limits[i] = controller.Record(Sample(controller.Limit));
        }

        return limits;
    }
}
