using BenchmarkDotNet.Attributes;
using Unjucks.Agents;

namespace Unjucks.Benchmarks.Agents;

/// <summary>
/// Compares the concurrency policies on a synthetic load whose best concurrency is known (Best). The time
/// measured is only the controller's cost per sample; the result that matters, where each policy settles
/// and what share of the best throughput it achieves, is printed by GlobalCleanup
/// ("controller: policy=..., best=..., tail mean limit=..., throughput vs best=...").
/// </summary>
public class ConcurrencyControllerBenchmarks
{
    private const int Samples = 400;
    private double _tailLimit;
    private double _tailThroughputShare;

    /// <summary>The policy.</summary>
    [Params(ConcurrencyPolicy.KneeSearch, ConcurrencyPolicy.SeedTrend, ConcurrencyPolicy.Gradient2)]
    public ConcurrencyPolicy Policy { get; set; }

    /// <summary>The load's best concurrency.</summary>
    [Params(2, 8, 12)]
    public int Best { get; set; }

    /// <summary>Drives one controller through the whole synthetic run.</summary>
    /// <returns>The final limit.</returns>
    [Benchmark(OperationsPerInvoke = Samples)]
    public int Converge()
    {
        var load = new SyntheticLoad(Best, noise: 0.05, seed: 11);
        var controller = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = Policy });
        var limits = load.Drive(controller, Samples);
        var tail = limits.Skip(Samples / 2).ToArray();
        _tailLimit = tail.Average();
        _tailThroughputShare = tail.Average(l => load.Throughput(l)) / load.Throughput(Best);
        return controller.Limit;
    }

    /// <summary>Reports where the policy settled.</summary>
    [GlobalCleanup]
    public void Report() => Console.WriteLine(
        $"controller: policy={Policy}, best={Best}, tail mean limit={_tailLimit:F2}, throughput vs best={_tailThroughputShare:P1}");
}
