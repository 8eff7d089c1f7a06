using ScottPlot;

namespace Unjucks.Cli.Scaling;

/// <summary>
/// Draws <c>scaling.png</c> with ScottPlot: operations/s against agents with the ideal linear line (left axis), and
/// efficiency in percent (right axis).
/// </summary>
/// <remarks>
/// ScottPlot brings SkiaSharp's Linux native library without fontconfig (NoDependencies): it finds fonts by
/// scanning /usr/share/fonts. With no font there (Debian's fonts-dejavu-core is on the project's machines) the
/// PNG is still written, with lines but without text.
/// </remarks>
internal static class ScalingPlot
{
    public const int Width = 900;
    public const int Height = 560;

    public static void Save(ScalingReport report, string path)
    {
        var agents = report.Rows.Select(r => (double)r.Agents).ToArray();
        var measured = report.Rows.Select(r => r.OperationsPerSecond).ToArray();
        var baseline = report.Rows[0];
        var perAgent = baseline.OperationsPerSecond / baseline.Agents;
        var ideal = agents.Select(n => n * perAgent).ToArray();
        var efficiency = report.Rows.Select(r => r.Efficiency * 100).ToArray();

        var plot = new Plot();
        var measuredLine = plot.Add.Scatter(agents, measured);
        measuredLine.LegendText = "Operations/s (measured)";
        measuredLine.LineWidth = 2;
        measuredLine.MarkerSize = 8;

        var idealLine = plot.Add.Scatter(agents, ideal);
        idealLine.LegendText = "Operations/s (ideal linear)";
        idealLine.LinePattern = LinePattern.Dashed;
        idealLine.MarkerSize = 0;

        var efficiencyLine = plot.Add.Scatter(agents, efficiency);
        efficiencyLine.LegendText = "Efficiency % (right axis)";
        efficiencyLine.Axes.YAxis = plot.Axes.Right;
        efficiencyLine.MarkerShape = MarkerShape.FilledSquare;
        efficiencyLine.MarkerSize = 7;

        plot.Title($"unjucks-perf scale ({report.Mode}, {report.Machine.LogicalProcessors} logical processors)");
        plot.Axes.Bottom.Label.Text = "Agents";
        plot.Axes.Left.Label.Text = "Operations/s";
        plot.Axes.Right.Label.Text = "Efficiency %";
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            agents, agents.Select(a => a.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimitsY(0, Math.Max(ideal.Max(), measured.Max()) * 1.1, plot.Axes.Left);
        plot.Axes.SetLimitsY(0, Math.Max(110, efficiency.Max() * 1.1), plot.Axes.Right);
        // Outside the data area, below it: inside, any corner can hide a point (efficiency falls to the lower right
        // as agents grow, and starts at the upper left).
        plot.ShowLegend(Edge.Bottom);
        plot.SavePng(path, Width, Height);
    }
}
