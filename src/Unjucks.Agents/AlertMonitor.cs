// AlertMonitor: the seed's dashboard alert rules (checkAlerts), evaluated against MetricsSummary and raised
// on transitions: an alert is raised when a metric goes from at-or-below its threshold to above it, and
// cleared when it comes back to at-or-below; a metric that stays above raises nothing more. (The seed
// rebuilt its alert list on every tick; events on every tick would flood subscribers.)
namespace Unjucks.Agents;

/// <summary>Alert severity.</summary>
public enum AlertSeverity
{
    /// <summary>Worth knowing.</summary>
    Info,
    /// <summary>Performance is degraded.</summary>
    Warning,
    /// <summary>Action needed.</summary>
    Critical,
}

/// <summary>Thresholds of the alert rules (seed defaults). A metric strictly above its threshold is in alert.</summary>
public sealed class AlertThresholds
{
    /// <summary>95th percentile latency threshold (seed: 100 ms, warning).</summary>
    public TimeSpan P95Latency { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Severity of the latency alert.</summary>
    public AlertSeverity P95LatencySeverity { get; init; } = AlertSeverity.Warning;

    /// <summary>Coordination overhead threshold as a fraction (seed: 0.15, warning).</summary>
    public double CoordinationOverhead { get; init; } = 0.15;

    /// <summary>Severity of the overhead alert.</summary>
    public AlertSeverity CoordinationOverheadSeverity { get; init; } = AlertSeverity.Warning;

    /// <summary>Load coefficient-of-variation threshold (seed: 0.3, info).</summary>
    public double LoadCoefficientOfVariation { get; init; } = 0.3;

    /// <summary>Severity of the load-balance alert.</summary>
    public AlertSeverity LoadCoefficientOfVariationSeverity { get; init; } = AlertSeverity.Info;
}

/// <summary>One alert transition.</summary>
/// <param name="Metric">Metric name: one of <see cref="AlertMonitor.LatencyP95Metric"/>, <see cref="AlertMonitor.CoordinationOverheadMetric"/>, <see cref="AlertMonitor.LoadCvMetric"/>.</param>
/// <param name="Value">The metric's value (milliseconds for latency, a fraction otherwise).</param>
/// <param name="Threshold">The threshold, in the same unit.</param>
/// <param name="Severity">Severity of the rule.</param>
/// <param name="Active">True when raised (crossed above), false when cleared (back at or below).</param>
/// <param name="Message">Human-readable text.</param>
public sealed record Alert(string Metric, double Value, double Threshold, AlertSeverity Severity, bool Active, string Message);

/// <summary>Evaluates the alert rules against summaries and raises events on transitions.</summary>
public sealed class AlertMonitor
{
    /// <summary>Metric name of the p95 latency rule (value in milliseconds).</summary>
    public const string LatencyP95Metric = "latency.p95";

    /// <summary>Metric name of the coordination overhead rule (fraction).</summary>
    public const string CoordinationOverheadMetric = "coordination.overhead";

    /// <summary>Metric name of the load coefficient-of-variation rule.</summary>
    public const string LoadCvMetric = "load.cv";

    private readonly AlertThresholds _thresholds;
    private readonly object _lock = new();
    private readonly HashSet<string> _active = new(StringComparer.Ordinal);

    /// <summary>Creates a monitor.</summary>
    /// <param name="thresholds">Thresholds (default: the seed's).</param>
    public AlertMonitor(AlertThresholds? thresholds = null)
    {
        _thresholds = thresholds ?? new AlertThresholds();
        if (_thresholds.P95Latency < TimeSpan.Zero || _thresholds.CoordinationOverhead < 0 || _thresholds.LoadCoefficientOfVariation < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(thresholds), "Alert thresholds must not be negative.");
        }
    }

    /// <summary>Raised (synchronously, on the thread calling <see cref="Evaluate"/>) for each transition.</summary>
    public event EventHandler<Alert>? AlertChanged;

    /// <summary>Metrics in alert now.</summary>
    public IReadOnlyCollection<string> ActiveAlerts
    {
        get
        {
            lock (_lock)
            {
                return _active.ToArray();
            }
        }
    }

    /// <summary>Evaluates every rule against <paramref name="summary"/>; raises and returns the transitions.</summary>
    /// <param name="summary">A metrics summary.</param>
    /// <returns>Alerts raised or cleared by this evaluation (empty when nothing changed).</returns>
    public IReadOnlyList<Alert> Evaluate(MetricsSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var changes = new List<Alert>();
        lock (_lock)
        {
            Check(changes, LatencyP95Metric, summary.LatencyP95.TotalMilliseconds, _thresholds.P95Latency.TotalMilliseconds,
                _thresholds.P95LatencySeverity, v => $"High latency: p95 {v:F1} ms", v => $"Latency back to normal: p95 {v:F1} ms");
            Check(changes, CoordinationOverheadMetric, summary.CoordinationOverhead, _thresholds.CoordinationOverhead,
                _thresholds.CoordinationOverheadSeverity, v => $"High coordination overhead: {v * 100:F1}%", v => $"Coordination overhead back to normal: {v * 100:F1}%");
            Check(changes, LoadCvMetric, summary.LoadCoefficientOfVariation, _thresholds.LoadCoefficientOfVariation,
                _thresholds.LoadCoefficientOfVariationSeverity, v => $"Uneven task distribution: coefficient of variation {v:F2}", v => $"Task distribution even again: coefficient of variation {v:F2}");
        }

        foreach (var alert in changes)
        {
            AlertChanged?.Invoke(this, alert);
        }

        return changes;
    }

    private void Check(List<Alert> changes, string metric, double value, double threshold, AlertSeverity severity,
        Func<double, string> raised, Func<double, string> cleared)
    {
        bool above = value > threshold;
        if (above && _active.Add(metric))
        {
            changes.Add(new Alert(metric, value, threshold, severity, true, raised(value)));
        }
        else if (!above && _active.Remove(metric))
        {
            changes.Add(new Alert(metric, value, threshold, severity, false, cleared(value)));
        }
    }
}
