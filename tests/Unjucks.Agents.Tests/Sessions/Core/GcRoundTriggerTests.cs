using Unjucks.Agents.Sessions.Core;

namespace Unjucks.Agents.Tests.Sessions.Core;

/// <summary>When a session starts a coordinated GC round: at 0.8 of the budget, at most once per cooldown.
/// Deterministic: a manual clock and random pressure histories.</summary>
public class GcRoundTriggerTests
{
    private static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(5);

    [Test]
    public void RandomHistories_StartARoundExactlyWhenPressureReachesTheThresholdAndNoRoundRanWithinTheCooldown()
    {
        for (int seed = 1; seed <= 200; seed++)
        {
            var random = new Random(seed);
            var time = new ManualTimeProvider();
            var trigger = new GcRoundTrigger(time, 0.8, Cooldown);
            TimeSpan now = TimeSpan.Zero;
            TimeSpan? last = null;
            long rounds = 0;
            for (int i = 0; i < 500; i++)
            {
                var step = TimeSpan.FromMilliseconds(random.Next(1, 2000));
                time.Advance(step);
                now += step;
                double pressure = random.NextDouble() * 1.2;
                bool expected = pressure >= 0.8 && (last is null || now - last >= Cooldown);
                Assert.That(trigger.Observe(pressure), Is.EqualTo(expected), $"seed {seed}, step {i}: pressure {pressure:0.000} at {now}, last round {last}");
                if (expected)
                {
                    last = now;
                    rounds++;
                }
            }

            Assert.That(trigger.Rounds, Is.EqualTo(rounds));
        }
    }

    [Test]
    public void PressureThatStaysHigh_StartsOneRoundPerCooldown_AndLowPressureNone()
    {
        var time = new ManualTimeProvider();
        var trigger = new GcRoundTrigger(time);
        int started = 0;
        for (int i = 0; i < 40; i++) // 20 s at 0.5 s readings, pressure 0.79: never.
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            started += trigger.Observe(0.79) ? 1 : 0;
        }

        Assert.That(started, Is.Zero);
        for (int i = 0; i < 40; i++) // 20 s at 0.95: at 0 s, 5 s, 10 s, 15 s.
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            started += trigger.Observe(0.95) ? 1 : 0;
        }

        Assert.That(started, Is.EqualTo(4));
        Assert.That(trigger.Rounds, Is.EqualTo(4));
    }
}
