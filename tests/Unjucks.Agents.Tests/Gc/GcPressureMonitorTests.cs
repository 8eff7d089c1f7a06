using Unjucks.Agents.Gc;

namespace Unjucks.Agents.Tests.Gc;

[TestFixture]
public class GcPressureMonitorTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public void Pressure_is_the_sum_over_the_budget_and_collects_only_above_the_threshold()
    {
        var monitor = new GcPressureMonitor(100 * MiB);
        Assert.That(monitor.Threshold, Is.EqualTo(0.8));

        var below = monitor.Evaluate([new(0, 10, 30 * MiB), new(1, 11, 49 * MiB)]);
        Assert.That((below.TotalBytes, below.Pressure, below.OverThreshold, below.ShouldCollect), Is.EqualTo((79 * MiB, 0.79, false, false)));

        var at = monitor.Evaluate([new(0, 10, 40 * MiB), new(1, 11, 40 * MiB)]);
        Assert.That((at.Pressure, at.OverThreshold), Is.EqualTo((0.8, false)), "exactly at the threshold is not above it");

        var above = monitor.Evaluate([new(0, 10, 20 * MiB), new(1, 11, 61 * MiB)]);
        Assert.That((above.OverThreshold, above.ShouldCollect, above.BudgetBytes), Is.EqualTo((true, true, 100 * MiB)));
        Assert.That(above.Targets, Is.EqualTo(new[] { new GcTarget(1, 11), new GcTarget(0, 10) }), "largest first");
    }

    [Test]
    public void A_round_starts_a_cooldown()
    {
        var clock = new ManualTimeProvider();
        var monitor = new GcPressureMonitor(100, threshold: 0.5, cooldown: TimeSpan.FromSeconds(10), timeProvider: clock);
        AgentMemorySample[] high = [new(3, 30, 90)];
        Assert.That(monitor.Evaluate(high).ShouldCollect, Is.True, "no round yet");

        monitor.RecordRound();
        var during = monitor.Evaluate(high);
        Assert.That((during.OverThreshold, during.ShouldCollect), Is.EqualTo((true, false)));
        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.That(monitor.Evaluate(high).ShouldCollect, Is.False, "9.9 s into a 10 s cooldown");
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.That(monitor.Evaluate(high).ShouldCollect, Is.True, "cooldown over");
    }

    [Test]
    public void Empty_and_huge_sample_sets()
    {
        var monitor = new GcPressureMonitor(1000, cooldown: TimeSpan.Zero);
        var empty = monitor.Evaluate([]);
        Assert.That((empty.TotalBytes, empty.Pressure, empty.ShouldCollect, empty.Targets.Count), Is.EqualTo((0L, 0.0, false, 0)));

        var huge = monitor.Evaluate([new(0, 1, long.MaxValue), new(1, 2, long.MaxValue)]);
        Assert.That(huge.TotalBytes, Is.EqualTo(long.MaxValue), "saturates instead of wrapping negative");
        Assert.That(huge.ShouldCollect, Is.True);
    }

    [Test]
    public void Samples_from_runtime_counters_use_the_gc_heap_size()
    {
        var snapshot = new RuntimeCounterSnapshot(77, GcHeapSizeMB: 1.5, WorkingSetMB: 40, Gen2GcCount: 0, new Dictionary<string, double>());
        Assert.That(AgentMemorySample.FromCounters(4, snapshot), Is.EqualTo(new AgentMemorySample(4, 77, 3 * MiB / 2)));
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GcPressureMonitor(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GcPressureMonitor(10, threshold: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GcPressureMonitor(10, threshold: 1.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GcPressureMonitor(10, threshold: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new GcPressureMonitor(10, cooldown: TimeSpan.FromSeconds(-1)));
        var monitor = new GcPressureMonitor(10);
        Assert.Throws<ArgumentNullException>(() => monitor.Evaluate(null!));
        var negative = Assert.Throws<ArgumentException>(() => monitor.Evaluate([new(0, 1, -5)]));
        Assert.That(negative!.Message, Does.Contain("-5"));
        Assert.Throws<ArgumentException>(() => monitor.Evaluate([new(2, 1, 5), new(2, 3, 5)]));
    }
}
