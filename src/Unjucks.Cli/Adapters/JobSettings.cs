// JobSettings: the dashboard and output-layout constants of a template job (both modes).
using System.Globalization;

namespace Unjucks.Cli.Adapters;

/// <summary>Snapshot and metrics periods, and where each round writes.</summary>
internal static class JobSettings
{
    /// <summary>How often a snapshot is reported.</summary>
    internal static readonly TimeSpan SnapshotInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Shortest interval between two metrics summaries (p95, alerts).</summary>
    internal static readonly TimeSpan MetricsInterval = TimeSpan.FromSeconds(1);

    /// <summary>The metrics window: the summary covers the whole job when it is shorter than this.</summary>
    internal static readonly TimeSpan MetricsWindow = TimeSpan.FromMinutes(10);

    /// <summary>Where round <paramref name="round"/> (0-based) writes: the output directory itself for a single round.</summary>
    internal static string RoundDirectory(string outputDirectory, int round, int rounds)
    {
        if (rounds == 1)
        {
            return outputDirectory;
        }

        var width = Math.Max(2, rounds.ToString(CultureInfo.InvariantCulture).Length);
        return Path.Combine(outputDirectory, "round-" + (round + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
    }
}
