using System.Globalization;
using System.Text;

namespace Unjucks.Cli.Scaling;

/// <summary>Writes <c>scaling.md</c>: the seed's table, the coordination metrics, the time split, and the plot.</summary>
internal static class ScalingMarkdown
{
    public static string Render(ScalingReport report, string commandLine, string plotFileName)
    {
        var md = new StringBuilder();
        md.AppendLine("# Scaling report");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Generated {report.GeneratedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC with `{commandLine}`.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {report.Machine.Os}, {report.Machine.Architecture}, {report.Machine.LogicalProcessors} logical processors, {report.Machine.Runtime}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Mode: {report.Mode}; templates: {string.Join(", ", report.Templates)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Outputs rendered into {report.RenderDirectory} (deleted after each run){(report.RenderDirectoryIsTmpfs ? "; tmpfs: write times are memory, not disk" : string.Empty)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {Capitalize(report.Operation)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- {Capitalize(report.EfficiencyDefinition)}");
        md.AppendLine(CultureInfo.InvariantCulture, $"- Runs per agent count: {report.Rows[0].Runs}; each row is the median run by operations/s, with the spread (max - min) / median of the runs");
        md.AppendLine("- Memory: peak total PSS (proportional set size, /proc/<pid>/smaps_rollup) of the coordinator and every agent, summed, so shared pages count once");
        md.AppendLine(Invariant($"- 1-minute load average: {Load(report.LoadAverageAtStart)} before the first run; per row, the highest seen at the end of its runs"));
        md.AppendLine();
        md.AppendLine("| Agents | Operations/sec | Latency P95 | Memory MB | Efficiency |");
        md.AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
        {
            md.AppendLine(Invariant($"| {row.Agents} | {row.OperationsPerSecond:0.0} | {row.LatencyP95Ms:0.00} ms | {row.MemoryMb:0.0} | {row.Efficiency * 100:0.0}% |"));
        }

        md.AppendLine();
        md.AppendLine("| Agents | Coordination overhead | Load CV | Avg queue time | Message latency | Latency P50 | Latency P99 | Failed |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
        {
            md.AppendLine(Invariant($"| {row.Agents} | {row.CoordinationOverheadPercent:0.00}% | {row.LoadCoefficientOfVariation:0.000} | {row.AverageQueueTimeUs:0.0} µs | {row.MessageLatencyUs:0.00} µs | {row.LatencyP50Ms:0.00} ms | {row.LatencyP99Ms:0.00} ms | {row.Failed} |"));
        }

        md.AppendLine();
        md.AppendLine("| Agents | Runs | Operations/sec min | max | Spread | Load average |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
        {
            md.AppendLine(Invariant($"| {row.Agents} | {row.Runs} | {row.OperationsPerSecondMin:0.0} | {row.OperationsPerSecondMax:0.0} | {row.SpreadPercent:0.0}% | {Load(row.LoadAverage)} |"));
        }

        md.AppendLine();
        md.AppendLine("Time split (summed over agents) and wall time:");
        md.AppendLine();
        md.AppendLine("| Agents | Discovery | Parse | Render | Write | Wall time |");
        md.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
        {
            md.AppendLine(Invariant($"| {row.Agents} | {row.DiscoveryMs:0.0} ms | {row.ParseMs:0.0} ms | {row.RenderMs:0.0} ms | {row.WriteMs:0.0} ms | {row.WallTimeMs:0.0} ms |"));
        }

        if (report.Adaptive is { } adaptive)
        {
            md.AppendLine();
            md.AppendLine("## Adaptive agent count");
            md.AppendLine();
            md.AppendLine(Capitalize(adaptive.Describe()) + ".");
            md.AppendLine();
            md.AppendLine("| At | From | To | Reason |");
            md.AppendLine("|---:|---:|---:|---|");
            foreach (var change in adaptive.Changes)
            {
                md.AppendLine(Invariant($"| {change.ElapsedMs / 1000:0.00} s | {change.From} | {change.To} | {change.Reason.Replace("|", "\\|", StringComparison.Ordinal)} |"));
            }
        }

        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"![Operations/s and efficiency against agents]({plotFileName})");
        return md.ToString();
    }

    private static string Load(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
