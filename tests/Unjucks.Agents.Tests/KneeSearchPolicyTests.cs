namespace Unjucks.Agents.Tests;

/// <summary>The knee search on modelled loads whose best count is known (<see cref="SyntheticLoad"/>: linear up to the
/// best count, contention beyond it): deterministic (seeded noise, no clock), from every start, at several optima
/// and noise levels. Noise is per window, on throughput and latency each.</summary>
public class KneeSearchPolicyTests
{
    private static readonly int[] Optima = [1, 2, 3, 4, 6, 8, 12, 16];

    private static AdaptiveConcurrencyController Knee(int initial) =>
        new(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.KneeSearch, InitialLimit = initial, MinLimit = 1, MaxLimit = 16 });

    /// <summary>The share of the best throughput that <paramref name="limit"/> gives (noise-free model).</summary>
    private static double Share(SyntheticLoad load, int limit) => load.Throughput(limit) / load.Throughput(load.Best);

    [TestCase(0.0)]
    [TestCase(0.02)]
    public void FromEveryStart_WithinTenPercentInTenWindows_ThenWithinOneOfTheBest(double noise)
    {
        foreach (int best in Optima)
        {
            for (int start = 1; start <= 16; start++)
            {
                for (int seed = 1; seed <= 5; seed++)
                {
                    var load = new SyntheticLoad(best, noise, seed);
                    var limits = load.Drive(Knee(start), 150);
                    string history = $"best {best}, start {start}, seed {seed}: {string.Join(",", limits.Take(40))}";
                    AssertConverges(load, limits, 10, history);
                }
            }
        }
    }

    /// <summary>Within <paramref name="windows"/> windows a count gives 90 % of the best throughput, and from then on
    /// every count is within one of the best (on flat peaks a count two away can give 90 % too, so the second bound
    /// starts at the last window that was further away, which must also come before <paramref name="windows"/>).</summary>
    private static void AssertConverges(SyntheticLoad load, int[] limits, int windows, string history)
    {
        int within = Array.FindIndex(limits, 0, windows, l => Share(load, l) >= 0.9);
        Assert.That(within, Is.GreaterThanOrEqualTo(0), $"no count within 10 % of the best in {windows} windows; {history}");
        int lastFar = Array.FindLastIndex(limits, l => Math.Abs(l - load.Best) > 1);
        Assert.That(lastFar, Is.LessThan(windows), $"window {lastFar + 1} is more than one from the best {load.Best}; {history}");
    }

    [TestCase(0.05)]
    [TestCase(0.1)]
    public void UnderHeavyNoise_TheAverageThroughputStaysWithinTenPercentOfTheBest(double noise)
    {
        // With 5 to 10 % noise per window, neighbours of a flat peak (11, 12, 13 when the best is 12 differ by 5 to 8 %)
        // cannot be told apart from single windows, so the bound here is on throughput, not on the count.
        foreach (int best in Optima)
        {
            for (int start = 1; start <= 16; start++)
            {
                for (int seed = 1; seed <= 5; seed++)
                {
                    var load = new SyntheticLoad(best, noise, seed);
                    var limits = load.Drive(Knee(start), 150);
                    double mean = limits.Skip(10).Average(l => Share(load, l));
                    Assert.That(mean, Is.GreaterThanOrEqualTo(0.9), $"best {best}, start {start}, seed {seed}: {string.Join(",", limits.Take(40))}");
                }
            }
        }
    }

    [TestCase(4, 12)]
    [TestCase(12, 4)]
    [TestCase(2, 8)]
    [TestCase(16, 1)]
    [TestCase(8, 3)]
    public void WhenTheOptimumMoves_ItFollows(int first, int second)
    {
        foreach (double noise in new[] { 0.0, 0.02 })
        {
            for (int seed = 1; seed <= 5; seed++)
            {
                var load = new SyntheticLoad(first, noise, seed);
                var controller = Knee(4);
                var before = load.Drive(controller, 60);
                Assert.That(Math.Abs(before[^1] - first), Is.LessThanOrEqualTo(1), string.Join(",", before));
                load.Best = second;
                var after = load.Drive(controller, 90);
                string history = $"noise {noise}, seed {seed}, {first} -> {second}: {string.Join(",", after)}";
                AssertConverges(load, after, 16, history);
            }
        }
    }

    [Test]
    public void MemoryPressure_LowersAtOnce_AndCapsTheCount()
    {
        var c = Knee(8);
        var load = new SyntheticLoad(best: 12, noise: 0, seed: 1);
        c.Record(load.Sample(c.Limit));
        int before = c.Limit;
        int after = c.Record(load.Sample(before, memoryPressure: 0.95));
        Assert.That(after, Is.EqualTo(before - 1));
        Assert.That(c.LastReason, Does.Contain("memory pressure"));
        var limits = load.Drive(c, 40);
        Assert.That(limits, Is.All.LessThanOrEqualTo(before - 1), "the search stays below the count that was under pressure");
    }

    [Test]
    public void EveryDecision_SaysWhy()
    {
        var c = Knee(4);
        var reasons = new List<string>();
        var load = new SyntheticLoad(best: 6, noise: 0, seed: 1);
        for (int i = 0; i < 20; i++)
        {
            c.Record(load.Sample(c.Limit));
            reasons.Add(c.LastReason);
        }

        Assert.That(reasons, Has.Some.StartsWith("searching [1, 16]"));
        Assert.That(reasons, Has.Some.StartsWith("settled at 6"));
        Assert.That(reasons, Has.Some.StartsWith("probing"));
    }
}
