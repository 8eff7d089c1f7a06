using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Engine;
using RegionInfo = Unjucks.Cli.Engine.RegionInfo;

namespace Unjucks.Cli.Views;

/// <summary>What <c>inspect</c> shows: the list of regions, one region in detail, and what cleanup removed.</summary>
internal static class RegionView
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static IRenderable RenderList(IReadOnlyList<RegionInfo> regions)
    {
        if (regions.Count == 0)
        {
            return new Markup("No regions. A running [bold]unjucks-perf run[/] creates one.");
        }

        var table = new Table().Border(TableBorder.Rounded).Title("Regions");
        table.AddColumn("Name");
        table.AddColumn("Size", c => c.RightAligned());
        table.AddColumn("Creator", c => c.RightAligned());
        table.AddColumn("Agents alive", c => c.RightAligned());
        table.AddColumn("Created (UTC)");
        table.AddColumn("Status");
        foreach (var region in regions)
        {
            if (region.Problem is not null)
            {
                table.AddRow(
                    Markup.Escape(region.Name),
                    Format.Megabytes(region.SizeBytes),
                    "[grey]?[/]",
                    "[grey]?[/]",
                    region.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Invariant),
                    $"[red]unreadable: {Markup.Escape(region.Problem)}[/]");
                continue;
            }

            table.AddRow(
                Markup.Escape(region.Name),
                Format.Megabytes(region.SizeBytes),
                $"{region.CreatorPid.ToString(Invariant)} {(region.CreatorAlive ? "[green]alive[/]" : "[red]dead[/]")}",
                $"{region.AgentsAlive}/{region.AgentSlots}",
                region.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Invariant),
                region.IsDead ? "[red]dead (inspect --cleanup removes it)[/]" : "[green]in use[/]");
        }

        return table;
    }

    public static IRenderable RenderSnapshot(RegionSnapshot snapshot)
    {
        var region = snapshot.Region;
        var header = new Markup(
            $"[bold]{Markup.Escape(region.Name)}[/]  [grey]{Markup.Escape(region.Path)}[/]\n" +
            $"creator {region.CreatorPid.ToString(Invariant)} {(region.CreatorAlive ? "[green]alive[/]" : "[red]dead[/]")}, " +
            $"{Format.Megabytes(region.SizeBytes)}, created {region.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Invariant)} UTC, " +
            $"change sequence {snapshot.ChangeSequence.ToString(Invariant)}, " +
            $"state slots {snapshot.StateSlotsUsed.ToString(Invariant)}/{snapshot.StateSlotsTotal.ToString(Invariant)} in use");

        var agents = new Table().Border(TableBorder.Rounded).Title("Agents");
        agents.AddColumn("Slot", c => c.RightAligned());
        agents.AddColumn("PID", c => c.RightAligned());
        agents.AddColumn("Alive");
        agents.AddColumn("Heartbeat age", c => c.RightAligned());
        agents.AddColumn("State");
        agents.AddColumn("Done", c => c.RightAligned());
        agents.AddColumn("Failed", c => c.RightAligned());
        agents.AddColumn("Steals", c => c.RightAligned());
        foreach (var agent in snapshot.Agents)
        {
            agents.AddRow(
                agent.Slot.ToString(Invariant),
                agent.Pid.ToString(Invariant),
                agent.Alive ? "[green]yes[/]" : "[red]no[/]",
                Format.Duration(agent.HeartbeatAge),
                Markup.Escape(agent.State),
                Format.Count(agent.TasksDone),
                Format.Count(agent.TasksFailed),
                Format.Count(agent.Steals));
        }

        var queues = new Table().Border(TableBorder.Rounded).Title("Queues");
        queues.AddColumn("Queue");
        queues.AddColumn("Depth", c => c.RightAligned());
        queues.AddColumn("Capacity", c => c.RightAligned());
        foreach (var queue in snapshot.Queues)
        {
            queues.AddRow(Markup.Escape(queue.Name), Format.Count(queue.Depth), queue.Capacity == 0 ? "unbounded" : Format.Count(queue.Capacity));
        }

        var locks = new Table().Border(TableBorder.Rounded).Title("Locks");
        locks.AddColumn("Lock");
        locks.AddColumn("Owner");
        foreach (var entry in snapshot.Locks)
        {
            locks.AddRow(
                Markup.Escape(entry.Name),
                entry.OwnerPid == 0 ? "[grey]free[/]"
                : entry.OwnerAlive ? entry.OwnerPid.ToString(Invariant)
                : $"[red]{entry.OwnerPid.ToString(Invariant)} (dead; recovered on next acquire)[/]");
        }

        return new Rows(header, agents, new Columns(queues, locks));
    }

    public static IRenderable RenderRemoved(IReadOnlyList<RemovedRegion> removed)
    {
        if (removed.Count == 0)
        {
            return new Markup("No dead regions: nothing removed.");
        }

        var table = new Table().Border(TableBorder.Rounded).Title($"Removed {removed.Count} dead region(s)");
        table.AddColumn("Name");
        table.AddColumn("Path");
        table.AddColumn("Size", c => c.RightAligned());
        table.AddColumn("Why");
        foreach (var region in removed)
        {
            table.AddRow(Markup.Escape(region.Name), Markup.Escape(region.Path), Format.Megabytes(region.SizeBytes), Markup.Escape(region.Reason));
        }

        return table;
    }
}
