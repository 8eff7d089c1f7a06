using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Views;

/// <summary>The final summary of one job, and its failures.</summary>
internal static class SummaryView
{
    /// <summary>At most this many failures are listed; the rest are counted.</summary>
    internal const int MaxFailuresShown = 50;

    public static IRenderable Render(JobSummary summary)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Summary");
        table.AddColumn("Metric");
        table.AddColumn("Value");
        var failed = summary.Failures.Count;
        var notRendered = summary.Total - summary.Succeeded;
        var failedText = failed == 0 && notRendered == 0 ? "0 failed"
            : summary.Repeat == 1 ? $"[red]{Format.Count(notRendered)} failed[/]"
            : $"[red]{Format.Count(notRendered)} failed ({Format.Count(failed)} template(s))[/]";
        table.AddRow(summary.Repeat == 1 ? "Templates" : "Operations",
            (summary.Repeat == 1
                ? $"{Format.Count(summary.Total)} total, "
                : $"{Format.Count(summary.Total)} total ({Format.Count(summary.Total / summary.Repeat)} templates x {summary.Repeat} rounds), ") +
            $"{Format.Count(summary.Succeeded)} rendered, {failedText}");
        table.AddRow("Agents", $"{summary.Agents} ({summary.Mode.ToString().ToLowerInvariant()})");
        if (summary.Concurrency is { } concurrency)
        {
            table.AddRow("Adaptive agent count", Markup.Escape(AdaptiveText(summary, concurrency)));
        }

        table.AddRow("Wall time", Format.Duration(summary.WallTime));
        table.AddRow("Operations/sec", Format.Rate(summary.OperationsPerSecond));
        table.AddRow("Latency p50 / p95 / p99",
            $"{Format.Duration(summary.Latency.P50)} / {Format.Duration(summary.Latency.P95)} / {Format.Duration(summary.Latency.P99)}");
        table.AddRow("Memory", Format.Megabytes(summary.MemoryMegabytes));
        if (summary.MemoryBudgetBytes > 0)
        {
            table.AddRow("Memory budget", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{Format.Megabytes(summary.MemoryBudgetBytes)}: agents measured at most {Format.Megabytes(summary.MemoryMeasuredPeakBytes)}, {summary.GcRounds} coordinated GC round(s) (started at 80 %)"));
        }

        table.AddRow("Coordination overhead", Format.PercentValue(summary.CoordinationOverheadPercent));
        table.AddRow("Load coefficient of variation", Format.Ratio(summary.LoadCoefficientOfVariation));
        table.AddRow("Average queue time", Format.Duration(summary.AverageQueueTime));
        table.AddRow("Message latency", Format.Duration(summary.MessageLatency));
        table.AddRow("Time split", Markup.Escape(TimeSplitText(summary.TimeSplit)));
        table.AddRow("Output directory", Markup.Escape(summary.OutputDirectory));
        table.Caption($"[grey]{Markup.Escape(JobSummary.OperationDefinition)}; operations/sec over the render phase[/]");
        return failed == 0 ? table : new Rows(table, Failures(summary.Failures));
    }

    /// <summary>"settled at 2 of 1..4; 4 change(s): 0.0 s -> 2 (start), 1.2 s 2 -> 3 (reason), ...".</summary>
    public static string AdaptiveText(JobSummary summary, Unjucks.Agents.AgentConcurrency concurrency)
    {
        var changes = summary.ActiveAgentsHistory.Select(c => c.OldCount == 0
            ? $"{Format.Duration(c.Elapsed)} start at {c.NewCount} ({c.Reason})"
            : $"{Format.Duration(c.Elapsed)} {c.OldCount} -> {c.NewCount} ({c.Reason})");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"settled at {summary.ActiveAgents} of {concurrency.MinAgents}..{concurrency.MaxAgents}; ") + string.Join("; ", changes);
    }

    public static string TimeSplitText(TimeSplit split)
    {
        var total = split.Total;
        string Part(string name, TimeSpan value) =>
            $"{name} {Format.Duration(value)} ({Format.Percent(total <= TimeSpan.Zero ? 0 : value / total)})";
        return string.Join(", ",
            Part("discovery", split.Discovery), Part("parse", split.Parse), Part("render", split.Render), Part("write", split.Write));
    }

    internal static Table Failures(IReadOnlyList<TemplateFailure> failures)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[red]Failed templates[/]");
        table.AddColumn("Template");
        table.AddColumn("Error");
        foreach (var failure in failures.Take(MaxFailuresShown))
        {
            table.AddRow(Markup.Escape(failure.Template), Markup.Escape(failure.Message));
        }

        if (failures.Count > MaxFailuresShown)
        {
            table.AddRow("...", $"and {failures.Count - MaxFailuresShown} more");
        }

        return table;
    }
}
