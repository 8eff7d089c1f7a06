namespace Unjucks.Agents.Tests;

public class AlertMonitorTests
{
    private static MetricsSummary Summary(double p95Ms, double overhead, long[] perAgent)
    {
        var clock = new ManualTimeProvider();
        var metrics = new AgentMetrics(perAgent.Length, new AgentMetricsOptions { TimeProvider = clock });
        for (int agent = 0; agent < perAgent.Length; agent++)
        {
            for (long i = 0; i < perAgent[agent]; i++)
            {
                var d = TimeSpan.FromMilliseconds(p95Ms);
                metrics.RecordOperation(agent, d, d * (1 - overhead), TimeSpan.Zero);
            }
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        var s = metrics.GetSummary();
        metrics.Dispose();
        return s;
    }

    [Test]
    public void SeedDefaults_RaiseOnTransitionOnly_AndClear()
    {
        var monitor = new AlertMonitor();
        var events = new List<Alert>();
        monitor.AlertChanged += (_, a) => events.Add(a);

        Assert.That(monitor.Evaluate(Summary(10, 0.05, [10, 10])), Is.Empty);

        var raised = monitor.Evaluate(Summary(150, 0.20, [10, 30]));
        Assert.That(raised.Select(a => a.Metric), Is.EquivalentTo(new[] { AlertMonitor.LatencyP95Metric, AlertMonitor.CoordinationOverheadMetric, AlertMonitor.LoadCvMetric }));
        var latency = raised.Single(a => a.Metric == AlertMonitor.LatencyP95Metric);
        Assert.That(latency.Active, Is.True);
        Assert.That(latency.Severity, Is.EqualTo(AlertSeverity.Warning));
        Assert.That(latency.Threshold, Is.EqualTo(100));
        Assert.That(latency.Value, Is.EqualTo(150).Within(0.1).Percent);
        Assert.That(raised.Single(a => a.Metric == AlertMonitor.CoordinationOverheadMetric).Severity, Is.EqualTo(AlertSeverity.Warning));
        var cv = raised.Single(a => a.Metric == AlertMonitor.LoadCvMetric);
        Assert.That(cv.Severity, Is.EqualTo(AlertSeverity.Info));
        Assert.That(cv.Value, Is.EqualTo(0.5).Within(1e-9));

        Assert.That(monitor.Evaluate(Summary(160, 0.25, [10, 30])), Is.Empty, "still above: no new events");
        Assert.That(monitor.ActiveAlerts, Has.Count.EqualTo(3));

        var cleared = monitor.Evaluate(Summary(10, 0.25, [10, 10]));
        Assert.That(cleared.Select(a => (a.Metric, a.Active)), Is.EquivalentTo(new[] { (AlertMonitor.LatencyP95Metric, false), (AlertMonitor.LoadCvMetric, false) }));
        Assert.That(events, Has.Count.EqualTo(5));
    }

    [Test]
    public void Thresholds_AreConfigurable()
    {
        var monitor = new AlertMonitor(new AlertThresholds { P95Latency = TimeSpan.FromMilliseconds(5), P95LatencySeverity = AlertSeverity.Critical, CoordinationOverhead = 0.5, LoadCoefficientOfVariation = 2 });
        var raised = monitor.Evaluate(Summary(10, 0.2, [10, 30]));
        Assert.That(raised, Has.Count.EqualTo(1));
        Assert.That(raised[0].Severity, Is.EqualTo(AlertSeverity.Critical));
        Assert.That(raised[0].Threshold, Is.EqualTo(5));
    }
}
