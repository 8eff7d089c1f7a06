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
    long Failed)
{
    /// <summary>Runs at this agent count (<c>scale --repeat</c>); the other columns are the median run's.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>Lowest operations/s of the runs.</summary>
    public double OperationsPerSecondMin { get; init; }

    /// <summary>Highest operations/s of the runs.</summary>
    public double OperationsPerSecondMax { get; init; }

    /// <summary>(max - min) / median of operations/s, percent (0 for one run).</summary>
    public double SpreadPercent { get; init; }

    /// <summary>Highest 1-minute load average seen at the end of this count's runs (null where unknown).</summary>
    public double? LoadAverage { get; init; }
}

/// <summary>The runs of one agent count and the load average seen at the end of each.</summary>
internal sealed record ScalingRuns(int Agents, IReadOnlyList<JobSummary> Runs, IReadOnlyList<double?> LoadAverages);

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
    /// <summary>The 1-minute load average before the first run (null where unknown).</summary>
    public double? LoadAverageAtStart { get; init; }

    /// <summary>The run with the adaptive agent count (<c>scale --adaptive</c>), beside the fixed counts; null without one.</summary>
    public ScalingAdaptive? Adaptive { get; init; }

    public const string OperationText = "one operation = one template rendered and written (parse once, render, write through a temporary file and a rename)";

    public const string EfficiencyText = "efficiency(N) = (ops/s at N) / (N x ops/s at 1); when 1 is not in the list, the smallest count B is the baseline: (ops/s at N / N) / (ops/s at B / B)";

    /// <summary>Builds the report from the runs of each agent count: each row is the count's median run (by
    /// operations/s) with the spread over its runs; efficiency is computed from the medians.</summary>
    public static ScalingReport Build(
        IReadOnlyList<ScalingRuns> counts,
        RenderMode mode,
        IReadOnlyList<string> templates,
        string renderDirectory,
        bool renderDirectoryIsTmpfs,
        DateTimeOffset generatedAt,
        double? loadAverageAtStart = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(counts.Count);
        var rows = counts.OrderBy(c => c.Agents).Select(MedianRow).ToList();
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
            OperationText + RoundsText(counts[0].Runs[0].Repeat),
            EfficiencyText,
            rows)
        {
            LoadAverageAtStart = loadAverageAtStart,
        };
    }

    /// <summary>The median run of one count (the lower middle one for an even number), with min, max and spread.</summary>
    internal static ScalingRow MedianRow(ScalingRuns count)
    {
        ArgumentOutOfRangeException.ThrowIfZero(count.Runs.Count);
        var byRate = count.Runs.OrderBy(r => r.OperationsPerSecond).ToList();
        var median = byRate[(byRate.Count - 1) / 2];
        double min = byRate[0].OperationsPerSecond, max = byRate[^1].OperationsPerSecond;
        var loads = count.LoadAverages.Where(l => l is not null).Select(l => l!.Value).ToList();
        return ToRow(median) with
        {
            Runs = byRate.Count,
            OperationsPerSecondMin = min,
            OperationsPerSecondMax = max,
            SpreadPercent = median.OperationsPerSecond > 0 ? (max - min) / median.OperationsPerSecond * 100 : 0,
            LoadAverage = loads.Count > 0 ? loads.Max() : null,
        };
    }

    /// <summary>What a run renders and what its rate is measured over, appended to <see cref="OperationText"/>.</summary>
    internal static string RoundsText(int repeat) => repeat == 1
        ? "; each run renders the template tree once; operations/sec is measured over the render phase (discovery excluded)"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"; each run renders the template tree {repeat} times (rounds, each into its own folder, templates parsed once per agent process, once per job in threads mode), so 'templates' counts operations over all rounds; operations/sec is measured over the render phase (discovery excluded)");

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

/// <summary>One change of the adaptive count: when (ms from the session's start), from, to, and why.</summary>
internal sealed record ScalingAdaptiveChange(double ElapsedMs, int From, int To, string Reason);

/// <summary>
/// The adaptive run: the range it searched, where it settled (the count in force at the end), its own throughput
/// (exploration included) and how both compare with the best fixed count of the table.
/// </summary>
internal sealed record ScalingAdaptive(
    int MinAgents,
    int MaxAgents,
    int SettledAgents,
    double OperationsPerSecond,
    int BestFixedAgents,
    double BestFixedOperationsPerSecond,
    double PercentOfBest,
    double? SettledFixedPercentOfBest,
    double LatencyP95Ms,
    double WallTimeMs,
    long Failed,
    IReadOnlyList<ScalingAdaptiveChange> Changes)
{
    /// <summary>Compares the adaptive run with the fixed rows: <see cref="PercentOfBest"/> is its own operations/s
    /// against the best row's; <see cref="SettledFixedPercentOfBest"/> is the fixed row at the settled count against the
    /// best (null when the table has no row at that count).</summary>
    public static ScalingAdaptive From(JobSummary run, IReadOnlyList<ScalingRow> rows)
    {
        ArgumentOutOfRangeException.ThrowIfZero(rows.Count);
        var best = rows.MaxBy(r => r.OperationsPerSecond)!;
        var settled = rows.FirstOrDefault(r => r.Agents == run.ActiveAgents);
        double Percent(double ops) => best.OperationsPerSecond > 0 ? ops / best.OperationsPerSecond * 100 : 0;
        return new ScalingAdaptive(
            run.Concurrency?.MinAgents ?? run.Agents,
            run.Concurrency?.MaxAgents ?? run.Agents,
            run.ActiveAgents,
            run.OperationsPerSecond,
            best.Agents,
            best.OperationsPerSecond,
            Percent(run.OperationsPerSecond),
            settled is null ? null : Percent(settled.OperationsPerSecond),
            run.Latency.P95.TotalMilliseconds,
            run.WallTime.TotalMilliseconds,
            run.Failures.Count,
            run.ActiveAgentsHistory.Select(c => new ScalingAdaptiveChange(c.Elapsed.TotalMilliseconds, c.OldCount, c.NewCount, c.Reason)).ToList());
    }

    /// <summary>One line for the terminal and the Markdown: "settled at 2 agents (of 1..4): 1,234 ops/s, 97.0 % of the best fixed count (2 agents, ...)".</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"settled at {SettledAgents} agent(s) (of {MinAgents}..{MaxAgents}) after {Changes.Count - 1} change(s); the adaptive run did {OperationsPerSecond:0.0} ops/s, {PercentOfBest:0.0}% of the best fixed count ({BestFixedAgents} agents, {BestFixedOperationsPerSecond:0.0} ops/s)")
        + (SettledFixedPercentOfBest is { } p ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; the fixed run at {SettledAgents} did {p:0.0}% of the best") : string.Empty);
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
