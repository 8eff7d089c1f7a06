namespace Unjucks.Agents.Tests;

public class AdaptiveConcurrencyControllerTests
{
    private static ConcurrencySample S(double throughput, double latencyMs, double memory = 0.1, int inFlight = 0)
        => new(throughput, TimeSpan.FromMilliseconds(latencyMs), memory, inFlight);

    private static AdaptiveConcurrencyController Seed(int initial = 4, int min = 1, int max = 16) =>
        new(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.SeedTrend, InitialLimit = initial, MinLimit = min, MaxLimit = max });

    [Test]
    public void Defaults_AreTheSeedsLimits_WithTheKneeSearch()
    {
        var c = new AdaptiveConcurrencyController();
        Assert.That(c.Limit, Is.EqualTo(4));
        Assert.That(c.Options.MinLimit, Is.EqualTo(1));
        Assert.That(c.Options.MaxLimit, Is.EqualTo(16));
        Assert.That(c.Options.Policy, Is.EqualTo(ConcurrencyPolicy.KneeSearch));
        Assert.That(c.LastReason, Is.EqualTo("no sample yet"));
    }

    [Test]
    public void Seed_RisingThroughput_MovesUp_ThenRisingLatency_MovesDown()
    {
        var c = Seed();
        var changes = new List<ConcurrencyLimitChange>();
        c.LimitChanged += (_, e) => changes.Add(e);
        Assert.That(c.Record(S(100, 10)), Is.EqualTo(4), "one sample: no trend yet");
        Assert.That(c.Record(S(115, 10)), Is.EqualTo(5), "throughput +15 %, latency flat: up");
        Assert.That(c.Record(S(130, 10)), Is.EqualTo(6), "over the 3-sample window {100, 115, 130}: +30 %: up");
        Assert.That(c.Record(S(130, 11)), Is.EqualTo(6), "window {115, 130, 130}: +13 %, but latency +10 % blocks the raise");
        Assert.That(c.Record(S(130, 13)), Is.EqualTo(5), "window {130, 130, 130}, latency 10 -> 13 (+30 %): down");
        Assert.That(c.Record(S(100, 13)), Is.EqualTo(4), "throughput 130 -> 100 (-23 %): down");
        Assert.That(changes.Select(e => (e.OldLimit, e.NewLimit)), Is.EqualTo(new[] { (4, 5), (5, 6), (6, 5), (5, 4) }));
        Assert.That(changes[^1].Reason, Does.Contain("one fewer"));
        Assert.That(c.LastReason, Is.EqualTo(changes[^1].Reason));
    }

    [Test]
    public void Seed_MemoryPressure_BlocksRaisesAndForcesDrops_WithinBounds()
    {
        var c = Seed(initial: 2, min: 1, max: 3);
        c.Record(S(100, 10, memory: 0.85));
        Assert.That(c.Record(S(200, 10, memory: 0.85)), Is.EqualTo(2), "pressure 0.85 >= 0.8 blocks the raise");
        Assert.That(c.Record(S(300, 10, memory: 0.95)), Is.EqualTo(1), "pressure > 0.9 lowers");
        Assert.That(c.Record(S(300, 10, memory: 0.95)), Is.EqualTo(1), "clamped at the minimum");
        for (int i = 0; i < 10; i++)
        {
            c.Record(S(1000 * (i + 2), 10));
        }

        Assert.That(c.Limit, Is.EqualTo(3), "clamped at the maximum");
    }

    [Test]
    public void Gradient2_SteadyLatency_GrowsToMax()
    {
        var c = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.Gradient2 });
        int previous = c.Limit;
        for (int i = 0; i < 100; i++)
        {
            int now = c.Record(S(100, 10, inFlight: c.Limit));
            Assert.That(now, Is.GreaterThanOrEqualTo(previous), $"step {i}");
            previous = now;
        }

        Assert.That(c.Limit, Is.EqualTo(16));
    }

    [Test]
    public void Gradient2_LatencyJump_MovesDown_AppLimited_Holds()
    {
        var c = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.Gradient2, InitialLimit = 12 });
        for (int i = 0; i < 20; i++)
        {
            c.Record(S(100, 10, inFlight: c.Limit)); // long RTT settles at 10 ms
        }

        int high = c.Limit;
        for (int i = 0; i < 10; i++)
        {
            c.Record(S(100, 40, inFlight: c.Limit)); // 4x latency: gradient clamps at 0.5
        }

        Assert.That(c.Limit, Is.LessThan(high), $"limit {c.Limit} did not drop from {high}");
        int before = c.Limit;
        Assert.That(c.Record(S(100, 10, inFlight: 1)), Is.EqualTo(before), "app-limited sample must not move the limit");
    }

    [Test]
    public void Gradient2_MemoryPressure_MovesDown()
    {
        var c = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.Gradient2, InitialLimit = 10 });
        c.Record(S(100, 10, memory: 0.95, inFlight: 10));
        Assert.That(c.Limit, Is.EqualTo(9));
    }

    [Test]
    public void BothPolicies_AreDeterministic()
    {
        foreach (var policy in new[] { ConcurrencyPolicy.KneeSearch, ConcurrencyPolicy.SeedTrend, ConcurrencyPolicy.Gradient2 })
        {
            var a = new SyntheticLoad(best: 8, noise: 0.1, seed: 42).Drive(new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = policy }), 300);
            var b = new SyntheticLoad(best: 8, noise: 0.1, seed: 42).Drive(new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = policy }), 300);
            Assert.That(a, Is.EqualTo(b), policy.ToString());
        }
    }

    [Test]
    public void OnSyntheticLoad_Gradient2ClimbsPastTheBest_SeedStaysPut()
    {
        // Characterisation (deterministic, seeded): both are documented in docs/agents.md.
        // Gradient2 climbs from 4 past the best (8) within a few samples, held below the maximum while the
        // long-term RTT still remembers the unloaded latency.
        var g2 = new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { Policy = ConcurrencyPolicy.Gradient2 });
        var limits = new SyntheticLoad(best: 8, noise: 0.05, seed: 7).Drive(g2, 30);
        TestContext.Out.WriteLine("Gradient2: " + string.Join(",", limits));
        Assert.That(limits[^1], Is.InRange(8, 15), string.Join(",", limits));
        // The seed's rules need a throughput trend; a steady noiseless load gives none, so the limit stays.
        var seed = Seed();
        var seedLimits = new SyntheticLoad(best: 8, noise: 0, seed: 7).Drive(seed, 30);
        Assert.That(seedLimits, Is.All.EqualTo(4));
    }

    [Test]
    public void BadOptionsAndSamples_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { InitialLimit = 20 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { MinLimit = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { WindowSize = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { ProbeInterval = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveConcurrencyController(new AdaptiveConcurrencyOptions { ImprovementThreshold = 1 }));
        var c = new AdaptiveConcurrencyController();
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Record(S(double.NaN, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Record(S(1, -1)));
    }
}
