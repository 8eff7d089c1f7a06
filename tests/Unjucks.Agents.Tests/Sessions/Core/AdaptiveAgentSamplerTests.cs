using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Tests.Sessions.Core;

/// <summary>The session's adaptive agent count on a modelled load (<see cref="SyntheticLoad"/>, best count known),
/// deterministic: a manual clock ticked every 10 ms as the coordinator does, tasks ending at the model's throughput for
/// the current count (with seeded noise drawn once per window), no real time and no processes.</summary>
public class AdaptiveAgentSamplerTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    private static AgentConcurrency Settings(int initial) => new()
    {
        MinAgents = 1,
        MaxAgents = 16,
        InitialAgents = initial,
        Window = TimeSpan.FromMilliseconds(500),
        MinCompletionsPerWindow = 8,
    };

    /// <summary>Runs <paramref name="windows"/> measured windows; returns the count in force during each window.</summary>
    private static int[] Drive(AdaptiveAgentSampler sampler, ManualTimeProvider time, SyntheticLoad load, int windows, Action<int>? atWindow = null)
    {
        var counts = new List<int>();
        long ended = 0, latency = 0;
        double carry = 0;
        var sample = load.Sample(sampler.Count);
        int during = sampler.Count;
        for (int guard = 0; counts.Count < windows; guard++)
        {
            Assert.That(guard, Is.LessThan(windows * 1000), "the sampler stopped measuring windows");
            time.Advance(Tick);
            carry += sample.Throughput * Tick.TotalSeconds;
            long n = (long)carry;
            carry -= n;
            ended += n;
            latency += n * (long)(sample.Latency.TotalMilliseconds * 1_000_000);
            long before = sampler.Windows;
            sampler.Tick(ended, latency, backlogged: true, memoryPressure: 0);
            if (sampler.Windows != before)
            {
                counts.Add(during);
                atWindow?.Invoke(counts.Count);
                sample = load.Sample(sampler.Count); // the next window measures the new count, with fresh noise.
                during = sampler.Count;
            }
        }

        return [.. counts];
    }

    private static double Share(SyntheticLoad load, int count) => load.Throughput(count) / load.Throughput(load.Best);

    [TestCase(0.0)]
    [TestCase(0.02)]
    public void FindsTheKnee_FromAnyStart_WithinTenWindows_ThenStaysWithinOne(double noise)
    {
        foreach (int best in (int[])[1, 2, 4, 8, 12, 16])
        {
            foreach (int start in (int[])[1, 2, 4, 8, 16])
            {
                for (int seed = 1; seed <= 3; seed++)
                {
                    var time = new ManualTimeProvider();
                    var sampler = new AdaptiveAgentSampler(Settings(start), time);
                    var load = new SyntheticLoad(best, noise, seed);
                    int[] counts = Drive(sampler, time, load, 60);
                    string history = $"best {best}, start {start}, seed {seed}: {string.Join(",", counts)}";
                    // counts[w] is the count in force during window w + 1, chosen after w windows (counts[0]: the start).
                    // Within 10 windows a count gives 90 % of the best throughput; from then on every count (the held
                    // one and the probes of its neighbours) is within one of the best.
                    int within = Array.FindIndex(counts, 0, 11, c => Share(load, c) >= 0.9);
                    Assert.That(within, Is.GreaterThanOrEqualTo(0), history);
                    int lastFar = Array.FindLastIndex(counts, c => Math.Abs(c - best) > 1);
                    Assert.That(lastFar, Is.LessThan(11), history);
                    Assert.That(sampler.SkippedWindows, Is.Zero, history);
                }
            }
        }
    }

    [TestCase(4, 12)]
    [TestCase(12, 4)]
    [TestCase(2, 8)]
    [TestCase(16, 1)]
    public void FollowsAnOptimumThatMovesHalfWay(int first, int second)
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(8), time);
        var load = new SyntheticLoad(first, 0.02, 7);
        int[] counts = Drive(sampler, time, load, 80, w => load.Best = w == 40 ? second : load.Best);
        string history = string.Join(",", counts);
        Assert.That(counts.Skip(10).Take(30).All(c => Math.Abs(c - first) <= 1), Is.True, history);
        Assert.That(counts.Skip(40 + 16).All(c => Math.Abs(c - second) <= 1), Is.True, history);
    }

    [Test]
    public void WindowsWithoutABacklogOrWithTooFewTasks_AreSkipped_AndChangeNothing()
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(4), time);
        long ended = 0;
        for (int i = 0; i < 200; i++) // 2 s: 4 windows with plenty of tasks but nothing waiting (a starved session).
        {
            time.Advance(Tick);
            ended += 5;
            Assert.That(sampler.Tick(ended, ended * 1_000_000, backlogged: false, 0), Is.Null);
        }

        for (int i = 0; i < 200; i++) // 2 s backlogged, but only 1 task per window.
        {
            time.Advance(Tick);
            ended += i % 50 == 0 ? 1 : 0;
            Assert.That(sampler.Tick(ended, ended * 1_000_000, backlogged: true, 0), Is.Null);
        }

        Assert.That(sampler.Count, Is.EqualTo(4));
        Assert.That(sampler.Windows, Is.Zero);
        Assert.That(sampler.SkippedWindows, Is.EqualTo(8));
        Assert.That(sampler.History, Has.Count.EqualTo(1));
        Assert.That(sampler.History[0], Is.EqualTo(new ActiveAgentsChange(TimeSpan.Zero, 0, 4, "initial count")));
    }

    [Test]
    public void History_RecordsEveryChange_WithTheControllersReason_AndTheTimeOfIt()
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(16), time);
        var load = new SyntheticLoad(3, 0, 1);
        int[] counts = Drive(sampler, time, load, 20);
        var history = sampler.History;
        Assert.That(history[0].NewCount, Is.EqualTo(16));
        for (int i = 1; i < history.Count; i++)
        {
            Assert.That(history[i].OldCount, Is.EqualTo(history[i - 1].NewCount));
            Assert.That(history[i].NewCount, Is.Not.EqualTo(history[i].OldCount));
            Assert.That(history[i].Reason, Is.Not.Empty);
            Assert.That(history[i].Elapsed, Is.GreaterThan(history[i - 1].Elapsed));
            // Windows end every 500 ms, but the one after a change starts 250 ms after it (SETTLE): a change comes
            // 250 ms + k x 500 ms after the one before (the first, k x 500 ms after the start).
            long gap = (history[i].Elapsed - history[i - 1].Elapsed - (i == 1 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(250))).Ticks;
            Assert.That(gap % TimeSpan.FromMilliseconds(500).Ticks, Is.Zero, "decisions fall on window ends");
            Assert.That(gap, Is.GreaterThan(0));
        }

        Assert.That(history[^1].NewCount, Is.EqualTo(sampler.Count));
        Assert.That(counts[^1], Is.InRange(2, 4));
    }

    [Test]
    public void NoWindowRunsWhileAgentsWarmUp_AndTheFirstStartsWhenTheyAreReady()
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(4), time);
        long ended = 0;
        for (int i = 0; i < 300; i++) // 3 s of agents starting: tasks end (slowly), nothing is measured.
        {
            time.Advance(Tick);
            ended += 1;
            Assert.That(sampler.Tick(ended, ended * 1_000_000, backlogged: true, 0, ready: false), Is.Null);
        }

        Assert.That(sampler.Windows + sampler.SkippedWindows, Is.Zero, "warm-up windows are neither measured nor skipped");

        // Ready: the first window is the 500 ms from here, and its throughput is what ended in it (10 per tick), not
        // the warm-up's slow tasks: a search measuring 4 first moves to another count.
        int ticks = 0;
        int? change = null;
        while (change is null && ticks < 100)
        {
            time.Advance(Tick);
            ticks++;
            ended += 10;
            change = sampler.Tick(ended, ended * 1_000_000, backlogged: true, 0, ready: true);
        }

        Assert.That(ticks, Is.EqualTo(50), "one window of 500 ms after the agents were ready");
        Assert.That(sampler.Windows, Is.EqualTo(1));
        Assert.That(change, Is.Not.Null);
    }

    [Test]
    public void AfterAChange_TheNextWindowStartsHalfAWindowLater()
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(16), time);
        var load = new SyntheticLoad(3, 0, 1);
        Drive(sampler, time, load, 1); // the first window: 16 measured, the search moves on.
        Assert.That(sampler.History, Has.Count.EqualTo(2));
        var changedAt = sampler.History[1].Elapsed;

        // During the settle period tasks end at a rate nothing like the new count's; they must not count.
        long ended = 1_000_000, latency = 0;
        int ticks = 0;
        while (sampler.Windows == 1 && ticks < 200)
        {
            time.Advance(Tick);
            ticks++;
            ended += ticks <= 25 ? 1000 : (long)(load.Throughput(sampler.Count) * Tick.TotalSeconds);
            latency += 1_000_000;
            sampler.Tick(ended, latency, backlogged: true, 0);
        }

        Assert.That(ticks, Is.EqualTo(75), "250 ms settle, then a 500 ms window");
        Assert.That(sampler.History[^1].Elapsed - changedAt, Is.EqualTo(TimeSpan.FromMilliseconds(750)).Or.EqualTo(TimeSpan.Zero),
            "the next decision, if any, comes at the end of that window");
    }

    [Test]
    public void MemoryPressureAboveNinetyPercent_LowersTheCountAtOnce()
    {
        var time = new ManualTimeProvider();
        var sampler = new AdaptiveAgentSampler(Settings(6), time);
        long ended = 0;
        int? change = null;
        for (int i = 0; i < 50 && change is null; i++)
        {
            time.Advance(Tick);
            ended += 10;
            change = sampler.Tick(ended, ended * 1_000_000, backlogged: true, memoryPressure: 0.95);
        }

        Assert.That(change, Is.EqualTo(5));
        Assert.That(sampler.History[^1].Reason, Does.Contain("memory pressure"));
    }

    [Test]
    public void Settings_AreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentConcurrency.Adaptive(0, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentConcurrency.Adaptive(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentConcurrency { MinAgents = 2, MaxAgents = 4, InitialAgents = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentConcurrency { Window = TimeSpan.FromMilliseconds(5) }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentConcurrency { MinCompletionsPerWindow = 0 }.Validate());
        var options = new AgentSessionOptions { Concurrency = new AgentConcurrency { MinAgents = 3, MaxAgents = 2 } };
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.That(AgentConcurrency.Adaptive(2, 6).ToString(), Does.StartWith("adaptive 2..6 agents"));
        Assert.That(new AgentSessionOptions { Agents = 2, Concurrency = AgentConcurrency.Adaptive(1, 6) }.EffectiveAgents, Is.EqualTo(6));
    }
}
