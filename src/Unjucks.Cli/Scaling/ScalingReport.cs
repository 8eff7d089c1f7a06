using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Scaling;

/// <summary>
/// One row of the scaling table: one job at one agent count. Durations in milliseconds or microseconds as the
/// property names say, so that the JSON needs no unit field.
/// </summary>
internal sealed record ScalingRow(
    int Agents,
    double OperationsPerSecond,
    double Efficiency,
    double LatencyP50Ms,
    double LatencyP95Ms,
    double LatencyP99Ms,
    double MemoryMb,
    double CoordinationOverheadPercent,
    double LoadCoefficientOfVariation,
    double AverageQueueTimeUs,
    double MessageLatencyUs,
    double DiscoveryMs,
    double ParseMs,
    double RenderMs,
    double WriteMs,
    double WallTimeMs,
    long Templates,
    long Failed);

/// <summary>The whole scaling report: how it was run, on what, and the rows.</summary>
internal sealed record ScalingReport(
    DateTimeOffset GeneratedAt,
    string Mode,
    IReadOnlyList<string> Templates,
    string RenderDirectory,
    bool RenderDirectoryIsTmpfs,
    ScalingMachine Machine,
    string Operation,
    string EfficiencyDefinition,
    IReadOnlyList<ScalingRow> Rows)
{
    public const string OperationText = "one operation = one template rendered and written (parse once, render, write through a temporary file and a rename)";

    public const string EfficiencyText = "efficiency(N) = (ops/s at N) / (N x ops/s at 1); when 1 is not in the list, the smallest count B is the baseline: (ops/s at N / N) / (ops/s at B / B)";

    /// <summary>Builds the report from jobs run at increasing agent counts, computing efficiency.</summary>
    public static ScalingReport Build(
        IReadOnlyList<JobSummary> runs,
        RenderMode mode,
        IReadOnlyList<string> templates,
        string renderDirectory,
        bool renderDirectoryIsTmpfs,
        DateTimeOffset generatedAt)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Count);
        var rows = runs.OrderBy(r => r.Agents).Select(ToRow).ToList();
        var baseline = rows[0];
        var perAgentBaseline = baseline.OperationsPerSecond / baseline.Agents;
        for (var i = 0; i < rows.Count; i++)
        {
            var perAgent = rows[i].OperationsPerSecond / rows[i].Agents;
            rows[i] = rows[i] with { Efficiency = perAgentBaseline > 0 ? perAgent / perAgentBaseline : 0 };
        }

        return new ScalingReport(
            generatedAt,
            mode.ToString().ToLowerInvariant(),
            templates.Count == 0 ? ["(bundled samples)"] : templates,
            renderDirectory,
            renderDirectoryIsTmpfs,
            ScalingMachine.Current(),
            OperationText + RoundsText(runs[0].Repeat),
            EfficiencyText,
            rows);
    }

    /// <summary>What a run renders and what its rate is measured over, appended to <see cref="OperationText"/>.</summary>
    internal static string RoundsText(int repeat) => repeat == 1
        ? "; each run renders the template tree once; operations/sec is measured over the render phase (discovery excluded)"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"; each run renders the template tree {repeat} times (rounds, each into its own folder, templates parsed once per agent), so 'templates' counts operations over all rounds; operations/sec is measured over the render phase (discovery excluded)");

    private static ScalingRow ToRow(JobSummary s) => new(
        s.Agents,
        s.OperationsPerSecond,
        Efficiency: 0,
        s.Latency.P50.TotalMilliseconds,
        s.Latency.P95.TotalMilliseconds,
        s.Latency.P99.TotalMilliseconds,
        s.MemoryMegabytes,
        s.CoordinationOverheadPercent,
        s.LoadCoefficientOfVariation,
        s.AverageQueueTime.TotalMicroseconds,
        s.MessageLatency.TotalMicroseconds,
        s.TimeSplit.Discovery.TotalMilliseconds,
        s.TimeSplit.Parse.TotalMilliseconds,
        s.TimeSplit.Render.TotalMilliseconds,
        s.TimeSplit.Write.TotalMilliseconds,
        s.WallTime.TotalMilliseconds,
        s.Total,
        s.Failures.Count);
}

/// <summary>The machine a report was measured on.</summary>
internal sealed record ScalingMachine(string Os, string Architecture, int LogicalProcessors, string Runtime)
{
    public static ScalingMachine Current() => new(
        System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString(),
        Environment.ProcessorCount,
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
}
