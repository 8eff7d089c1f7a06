using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Views;

/// <summary>The per-agent report of a coordinated GC round.</summary>
internal static class GcView
{
    public static IRenderable Render(GcRoundReport report)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"GC round on {Markup.Escape(report.RegionName)} ({Format.Duration(report.Duration)})");
        table.AddColumn("Slot", c => c.RightAligned());
        table.AddColumn("PID", c => c.RightAligned());
        table.AddColumn("Before", c => c.RightAligned());
        table.AddColumn("After", c => c.RightAligned());
        table.AddColumn("Freed", c => c.RightAligned());
        table.AddColumn("Pause", c => c.RightAligned());
        table.AddColumn("Efficiency", c => c.RightAligned());
        table.AddColumn("Outcome");
        foreach (var agent in report.Agents)
        {
            table.AddRow(
                agent.Slot.ToString(CultureInfo.InvariantCulture),
                agent.Pid.ToString(CultureInfo.InvariantCulture),
                Format.Megabytes(agent.BytesBefore),
                Format.Megabytes(agent.BytesAfter),
                Format.Megabytes(agent.BytesFreed),
                Format.Duration(agent.Pause),
                Format.Percent(agent.Efficiency),
                agent.Outcome == GcOutcome.Acknowledged ? "[green]acknowledged[/]" : "[red]timed out[/]");
        }

        var freed = report.Agents.Sum(a => a.BytesFreed);
        var timedOut = report.Agents.Count(a => a.Outcome == GcOutcome.TimedOut);
        table.Caption($"{Format.Megabytes(freed)} freed; {report.Agents.Count - timedOut} acknowledged, {timedOut} timed out");
        return table;
    }
}
