using System.Diagnostics.Metrics;

namespace Unjucks.Agents.Tests;

public class AgentMetricsTests
{
    [Test]
    public void Percentiles_MatchAKnownDistribution()
    {
        var clock = new ManualTimeProvider();
        using var metrics = new AgentMetrics(1, new AgentMetricsOptions { TimeProvider = clock });
        for (int v = 1; v <= 10_000; v++)
        {
            metrics.RecordOperation(0, TimeSpan.FromMicroseconds(v));
        }

        clock.Advance(TimeSpan.FromSeconds(10));
        var s = metrics.GetSummary();
        // HdrHistogram with 3 significant digits: values are exact to within 0.1 %.
        Assert.That(s.Completed, Is.EqualTo(10_000));
        Assert.That(s.LatencyP50.TotalMicroseconds, Is.EqualTo(5000).Within(0.1).Percent);
        Assert.That(s.LatencyP95.TotalMicroseconds, Is.EqualTo(9500).Within(0.1).Percent);
        Assert.That(s.LatencyP99.TotalMicroseconds, Is.EqualTo(9900).Within(0.1).Percent);
        Assert.That(s.LatencyMax.TotalMicroseconds, Is.EqualTo(10_000).Within(0.1).Percent);
        Assert.That(s.Throughput, Is.EqualTo(1000).Within(1e-6));
        Assert.That(s.CoordinationOverhead, Is.Zero);
    }

    [Test]
    [Repeat(3)]
    public void ConcurrentRecording_CountsEveryOperation()
    {
        var clock = new ManualTimeProvider();
        using var metrics = new AgentMetrics(4, new AgentMetricsOptions { TimeProvider = clock });
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                _ = metrics.GetSummary(); // concurrent interval cuts must not lose values
            }
        });
        Parallel.For(0, 4, agent =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                metrics.RecordOperation(agent, TimeSpan.FromMicroseconds(100), TimeSpan.FromMicroseconds(80), TimeSpan.FromMicroseconds(5));
            }
        });
        stop.Cancel();
        reader.Wait();
        clock.Advance(TimeSpan.FromSeconds(1));
        var s = metrics.GetSummary();
        Assert.That(s.Completed, Is.EqualTo(80_000));
        Assert.That(s.CompletedPerAgent, Is.All.EqualTo(20_000));
        Assert.That(s.LoadCoefficientOfVariation, Is.Zero);
        Assert.That(s.CoordinationOverhead, Is.EqualTo(0.2).Within(1e-9));
        Assert.That(s.QueueTimeP95.TotalMicroseconds, Is.EqualTo(5).Within(1e-9));
    }

    [Test]
    public void Window_DropsOldBuckets_AndReportsQueueDepthAndLoadCv()
    {
        var clock = new ManualTimeProvider();
        using var metrics = new AgentMetrics(2, new AgentMetricsOptions { TimeProvider = clock, Window = TimeSpan.FromSeconds(10) });
        metrics.RecordOperation(0, TimeSpan.FromMilliseconds(500));
        metrics.RecordQueueDepth(40);
        clock.Advance(TimeSpan.FromSeconds(1));
        var first = metrics.GetSummary();
        Assert.That(first.MaxQueueDepth, Is.EqualTo(40));
        Assert.That(first.LatencyMax.TotalMilliseconds, Is.EqualTo(500).Within(0.1).Percent);
        Assert.That(first.LoadCoefficientOfVariation, Is.EqualTo(1.0).Within(1e-9), "counts {1, 0}: sd 0.5 / mean 0.5");

        clock.Advance(TimeSpan.FromSeconds(30)); // the first bucket ends 30 s before the next cut: outside the window
        for (int i = 0; i < 3; i++)
        {
            metrics.RecordOperation(0, TimeSpan.FromMilliseconds(2));
            metrics.RecordOperation(1, TimeSpan.FromMilliseconds(2));
        }

        metrics.RecordQueueDepth(3);
        var second = metrics.GetSummary();
        clock.Advance(TimeSpan.FromSeconds(5)); // the second bucket ended 5 s ago: still inside
        var third = metrics.GetSummary();
        Assert.That(third.Completed, Is.EqualTo(6), "the 500 ms operation fell out of the window");
        Assert.That(third.LatencyMax.TotalMilliseconds, Is.EqualTo(2).Within(0.1).Percent);
        Assert.That(third.MaxQueueDepth, Is.EqualTo(3));
        Assert.That(third.LoadCoefficientOfVariation, Is.Zero);
        Assert.That(second.Completed, Is.EqualTo(6));
    }

    [Test]
    public void Meter_PublishesUnderTheAgentsName()
    {
        using var metrics = new AgentMetrics(2);
        var seen = new List<string>();
        long operations = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter)
            {
                seen.Add(instrument.Name);
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "unjucks.agents.operations")
            {
                operations += value;
            }
        });
        listener.Start();
        metrics.RecordOperation(1, TimeSpan.FromMilliseconds(1));
        metrics.RecordOperation(0, TimeSpan.FromMilliseconds(1));
        listener.RecordObservableInstruments();
        Assert.That(metrics.Meter.Name, Is.EqualTo("Unjucks.Agents"));
        Assert.That(seen, Is.SupersetOf(new[]
        {
            "unjucks.agents.operations", "unjucks.agents.operation.duration", "unjucks.agents.queue.time",
            "unjucks.agents.queue.depth", "unjucks.agents.coordination.overhead", "unjucks.agents.load.cv",
        }));
        Assert.That(operations, Is.EqualTo(2));
    }

    [Test]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AgentMetrics(0));
        using var metrics = new AgentMetrics(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => metrics.RecordOperation(2, TimeSpan.Zero));
    }
}
