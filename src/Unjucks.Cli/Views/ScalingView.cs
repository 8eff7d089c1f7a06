using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Scaling;

namespace Unjucks.Cli.Views;

/// <summary>The scaling tables on the terminal: the seed's five columns, then coordination metrics and the time split.</summary>
internal static class ScalingView
{
    public static IRenderable Render(ScalingReport report)
    {
        var main = new Table().Border(TableBorder.Rounded).Title("Scaling");
        main.AddColumn("Agents", c => c.RightAligned());
        main.AddColumn("Operations/sec", c => c.RightAligned());
        main.AddColumn("Latency P95", c => c.RightAligned());
        main.AddColumn("Memory MB", c => c.RightAligned());
        main.AddColumn("Efficiency", c => c.RightAligned());
        foreach (var row in report.Rows)
        {
            main.AddRow(
                Number(row.Agents),
                Format.Rate(row.OperationsPerSecond),
                Format.Duration(TimeSpan.FromMilliseconds(row.LatencyP95Ms)),
                Format.Rate(row.MemoryMb),
                Format.Percent(row.Efficiency));
        }

        var coordination = new Table().Border(TableBorder.Rounded).Title("Coordination");
        coordination.AddColumn("Agents", c => c.RightAligned());
        coordination.AddColumn("Coordination overhead", c => c.RightAligned());
        coordination.AddColumn("Load CV", c => c.RightAligned());
        coordination.AddColumn("Avg queue time", c => c.RightAligned());
        coordination.AddColumn("Message latency", c => c.RightAligned());
        coordination.AddColumn("Failed", c => c.RightAligned());
        foreach (var row in report.Rows)
        {
            coordination.AddRow(
                Number(row.Agents),
                Format.PercentValue(row.CoordinationOverheadPercent),
                Format.Ratio(row.LoadCoefficientOfVariation),
                Format.Duration(TimeSpan.FromMicroseconds(row.AverageQueueTimeUs)),
                Format.Duration(TimeSpan.FromMicroseconds(row.MessageLatencyUs)),
                Format.Count(row.Failed));
        }

        var spread = new Table().Border(TableBorder.Rounded).Title("Runs (each row above is the median run)");
        spread.AddColumn("Agents", c => c.RightAligned());
        spread.AddColumn("Runs", c => c.RightAligned());
        spread.AddColumn("Ops/s min", c => c.RightAligned());
        spread.AddColumn("Ops/s max", c => c.RightAligned());
        spread.AddColumn("Spread", c => c.RightAligned());
        spread.AddColumn("Load average", c => c.RightAligned());
        foreach (var row in report.Rows)
        {
            spread.AddRow(
                Number(row.Agents),
                Number(row.Runs),
                Format.Rate(row.OperationsPerSecondMin),
                Format.Rate(row.OperationsPerSecondMax),
                Format.PercentValue(row.SpreadPercent),
                row.LoadAverage is { } load ? Format.Ratio(load) : "n/a");
        }

        var split = new Table().Border(TableBorder.Rounded).Title("Time split (summed over agents)");
        split.AddColumn("Agents", c => c.RightAligned());
        split.AddColumn("Discovery", c => c.RightAligned());
        split.AddColumn("Parse", c => c.RightAligned());
        split.AddColumn("Render", c => c.RightAligned());
        split.AddColumn("Write", c => c.RightAligned());
        split.AddColumn("Wall time", c => c.RightAligned());
        foreach (var row in report.Rows)
        {
            split.AddRow(
                Number(row.Agents),
                Format.Duration(TimeSpan.FromMilliseconds(row.DiscoveryMs)),
                Format.Duration(TimeSpan.FromMilliseconds(row.ParseMs)),
                Format.Duration(TimeSpan.FromMilliseconds(row.RenderMs)),
                Format.Duration(TimeSpan.FromMilliseconds(row.WriteMs)),
                Format.Duration(TimeSpan.FromMilliseconds(row.WallTimeMs)));
        }

        var parts = new List<IRenderable> { main, coordination, spread, split };
        if (report.Adaptive is { } adaptive)
        {
            var changes = new Table().Border(TableBorder.Rounded).Title("Adaptive agent count");
            changes.AddColumn("At", c => c.RightAligned());
            changes.AddColumn("From", c => c.RightAligned());
            changes.AddColumn("To", c => c.RightAligned());
            changes.AddColumn("Reason");
            foreach (var change in adaptive.Changes)
            {
                changes.AddRow(Format.Duration(TimeSpan.FromMilliseconds(change.ElapsedMs)), Number(change.From), Number(change.To), Markup.Escape(change.Reason));
            }

            changes.Caption(Markup.Escape(adaptive.Describe()));
            parts.Add(changes);
        }

        parts.Add(new Markup($"[grey]{Markup.Escape(report.Operation)}[/]"));
        return new Rows(parts);
    }

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
