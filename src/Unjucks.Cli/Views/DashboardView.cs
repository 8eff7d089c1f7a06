using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Engine;
using Unjucks.Agents;

namespace Unjucks.Cli.Views;

/// <summary>
/// The live dashboard of a running job: agents (pid, state, tasks done, steals), throughput, p95, queue depth,
/// memory, active alerts and a progress bar. Pure: builds a renderable from a snapshot.
/// </summary>
internal static class DashboardView
{
    private const int BarWidth = 40;

    public static IRenderable Render(string title, JobSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return new Rows(
                new Markup($"[bold]{Markup.Escape(title)}[/]"),
                new Markup("[grey]starting agents...[/]"));
        }

        return new Rows(
            new Markup($"[bold]{Markup.Escape(title)}[/]  [grey]elapsed {Format.Duration(snapshot.Elapsed)}[/]"),
            AgentsTable(snapshot),
            MetricsGrid(snapshot),
            Scheduling(snapshot),
            Alerts(snapshot),
            ProgressBar(snapshot));
    }

    internal static Table AgentsTable(JobSnapshot snapshot)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Agents");
        table.AddColumn("Slot", c => c.RightAligned());
        table.AddColumn("PID", c => c.RightAligned());
        table.AddColumn("State");
        table.AddColumn("Alive");
        table.AddColumn("Tasks done", c => c.RightAligned());
        table.AddColumn("Steals", c => c.RightAligned());
        foreach (var agent in snapshot.Agents)
        {
            table.AddRow(
                agent.Slot.ToString(System.Globalization.CultureInfo.InvariantCulture),
                agent.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(agent.State),
                agent.Alive ? "[green]yes[/]" : "[red]no[/]",
                Format.Count(agent.TasksDone),
                Format.Count(agent.Steals));
        }

        return table;
    }

    private static Grid MetricsGrid(JobSnapshot snapshot)
    {
        var grid = new Grid();
        for (var i = 0; i < 5; i++)
        {
            grid.AddColumn(new GridColumn().PadRight(4));
        }

        grid.AddRow("[grey]Throughput[/]", "[grey]Latency p95[/]", "[grey]Queue depth[/]", "[grey]Memory[/]", "[grey]Failed[/]");
        grid.AddRow(
            $"{Format.Rate(snapshot.OperationsPerSecond)} ops/s",
            Format.Duration(snapshot.LatencyP95),
            Format.Count(snapshot.QueueDepth),
            Format.Megabytes(snapshot.MemoryBytes),
            snapshot.Failed == 0 ? "0" : $"[red]{Format.Count(snapshot.Failed)}[/]");
        return grid;
    }

    /// <summary>The adaptive count (active of started, the last decision and its reason) and the memory budget's
    /// state, on one line; the fixed count without a budget shows nothing more than the table.</summary>
    internal static IRenderable Scheduling(JobSnapshot snapshot)
    {
        var parts = new List<string>(2);
        if (snapshot.ActiveAgentsHistory.Count > 0)
        {
            var last = snapshot.ActiveAgentsHistory[^1];
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"[grey]Active agents[/] {snapshot.ActiveAgents} of {snapshot.Agents.Count(a => a.Alive)}  [grey]last change at {Format.Duration(last.Elapsed)}: {last.OldCount} -> {last.NewCount} ({Markup.Escape(last.Reason)}); {snapshot.ActiveAgentsHistory.Count - 1} change(s)[/]"));
        }

        if (snapshot.MemoryBudgetBytes > 0 || snapshot.MemoryReservedBytes > 0 || snapshot.TasksWaitingForMemory > 0)
        {
            parts.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"[grey]Memory budget[/] {BudgetText(snapshot.MemoryBudgetBytes)}  [grey]measured[/] {Format.Megabytes(snapshot.MemoryMeasuredBytes)}  [grey]reserved[/] {Format.Megabytes(snapshot.MemoryReservedBytes)}  [grey]tasks waiting for memory[/] {snapshot.TasksWaitingForMemory}  [grey]GC rounds[/] {snapshot.GcRounds}"));
        }

        return parts.Count == 0 ? Text.Empty : new Markup(string.Join("\n", parts));
    }

    private static string BudgetText(long bytes) => bytes > 0 ? Format.Megabytes(bytes) : "none";

    private static IRenderable Alerts(JobSnapshot snapshot)
    {
        if (snapshot.Alerts.Count == 0)
        {
            return new Markup("[grey]No active alerts[/]");
        }

        var lines = snapshot.Alerts.Select(a => (IRenderable)new Markup(
            $"[{SeverityColor(a.Severity)}]{a.Severity.ToString().ToUpperInvariant()}[/] {Markup.Escape(a.Message)}"));
        return new Rows(lines);
    }

    private static Markup ProgressBar(JobSnapshot snapshot)
    {
        if (snapshot.Total <= 0)
        {
            return new Markup($"[grey]discovering templates... {Format.Count(snapshot.Completed)} done[/]");
        }

        var fraction = Math.Clamp((double)snapshot.Completed / snapshot.Total, 0, 1);
        var filled = (int)Math.Round(fraction * BarWidth);
        return new Markup(
            $"[green]{new string('━', filled)}[/][grey]{new string('━', BarWidth - filled)}[/] " +
            $"{Format.Count(snapshot.Completed)}/{Format.Count(snapshot.Total)} ({Format.Percent(fraction)})");
    }

    internal static string SeverityColor(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Critical => "red",
        AlertSeverity.Warning => "yellow",
        _ => "blue",
    };
}
