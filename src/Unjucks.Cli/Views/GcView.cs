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
                OutcomeCell(agent));
        }

        var freed = report.Agents.Sum(a => a.BytesFreed);
        var timedOut = report.Agents.Count(a => a.Outcome == GcOutcome.TimedOut);
        var failed = report.Agents.Count(a => a.Outcome == GcOutcome.Failed);
        var acknowledged = report.Agents.Count - timedOut - failed;
        table.Caption(failed == 0
            ? $"{Format.Megabytes(freed)} freed; {acknowledged} acknowledged, {timedOut} timed out"
            : $"{Format.Megabytes(freed)} freed; {acknowledged} acknowledged, {timedOut} timed out, {failed} failed");
        return table;
    }

    // Outcome, then why an agent was not collected (the coordinator's own words), escaped for markup.
    private static string OutcomeCell(AgentGcReport agent)
    {
        string word = agent.Outcome switch
        {
            GcOutcome.Acknowledged => "[green]acknowledged[/]",
            GcOutcome.TimedOut => "[red]timed out[/]",
            _ => "[red]failed[/]",
        };
        return agent.Error is { Length: > 0 } error && agent.Outcome == GcOutcome.Failed ? $"{word}: {Markup.Escape(error)}" : word;
    }
}
