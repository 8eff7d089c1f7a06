using System.Text;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Views;

/// <summary>One plain line per progress report, for output that is not a terminal (logs, CI, pipes).</summary>
internal static class ProgressLine
{
    public static string Format(string title, JobSnapshot snapshot)
    {
        var alive = snapshot.Agents.Count(a => a.Alive);
        var line = new StringBuilder()
            .Append('[').Append(Views.Format.Elapsed(snapshot.Elapsed)).Append("] ")
            .Append(title).Append(": ")
            .Append(Views.Format.Count(snapshot.Completed)).Append('/')
            .Append(snapshot.Total > 0 ? Views.Format.Count(snapshot.Total) : "?").Append(" done");
        if (snapshot.Failed > 0)
        {
            line.Append(" (").Append(Views.Format.Count(snapshot.Failed)).Append(" failed)");
        }

        line.Append(" | ").Append(Views.Format.Rate(snapshot.OperationsPerSecond)).Append(" ops/s")
            .Append(" | p95 ").Append(Views.Format.Duration(snapshot.LatencyP95))
            .Append(" | queue ").Append(Views.Format.Count(snapshot.QueueDepth))
            .Append(" | mem ").Append(Views.Format.Megabytes(snapshot.MemoryBytes))
            .Append(" | agents ").Append(alive).Append('/').Append(snapshot.Agents.Count).Append(" alive");
        if (snapshot.ActiveAgentsHistory.Count > 0)
        {
            line.Append(", ").Append(snapshot.ActiveAgents).Append(" active");
        }

        if (snapshot.MemoryBudgetBytes > 0 || snapshot.MemoryReservedBytes > 0 || snapshot.TasksWaitingForMemory > 0)
        {
            line.Append(" | budget ").Append(snapshot.MemoryBudgetBytes > 0 ? Views.Format.Megabytes(snapshot.MemoryBudgetBytes) : "none")
                .Append(": measured ").Append(Views.Format.Megabytes(snapshot.MemoryMeasuredBytes))
                .Append(", reserved ").Append(Views.Format.Megabytes(snapshot.MemoryReservedBytes))
                .Append(", ").Append(snapshot.TasksWaitingForMemory).Append(" waiting for memory, ")
                .Append(snapshot.GcRounds).Append(" GC round(s)");
        }
        foreach (var alert in snapshot.Alerts)
        {
            line.Append(" | ").Append(alert.Severity.ToString().ToUpperInvariant()).Append(": ").Append(alert.Message);
        }

        return line.ToString();
    }
}
