using System.Diagnostics;
using Unjucks.Benchmarks.Harness;
using System.Globalization;
using System.Runtime.Versioning;
using Unjucks.Agents.Processes;

namespace Unjucks.Benchmarks.Processes;

/// <summary>
/// A JobCoordinator session for the process benchmarks: agents are tests/Unjucks.AgentTestHost processes (found beside
/// this assembly; the benchmark project references the host project), started once in GlobalSetup and stopped in
/// GlobalCleanup, in a throw-away directory. Also collects per-job summaries and prints their medians at cleanup.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class BenchSession : IDisposable
{
    private readonly List<JobSummary> _summaries = [];
    private readonly string _directory;

    public BenchSession(int agents, Placement placement, int maxQueuedPerAgent = 0)
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, "unjucks-bench-jobs-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var options = new JobCoordinatorOptions
        {
            AgentCount = agents,
            Directory = _directory,
            Placement = placement,
            MaxQueuedPerAgent = maxQueuedPerAgent,
            StartupTimeout = TimeSpan.FromSeconds(120),
            ProgressInterval = TimeSpan.FromSeconds(1),
        };
        Coordinator = JobCoordinator.StartAsync(options, Launch).GetAwaiter().GetResult();
    }

    public JobCoordinator Coordinator { get; }

    /// <summary>Runs one job of <paramref name="tasks"/> trivial tasks and checks every result.</summary>
    public JobResult Run(int tasks)
    {
        JobResult result = Coordinator.RunAsync(tasks).GetAwaiter().GetResult();
        for (int id = 0; id < tasks; id++)
        {
            long expected = (id * 1_000_003L) ^ 0x5DEECE66DL; // the host's TestHandler.ResultOf.
            if (result.Results[id] != expected)
            {
                throw new InvalidOperationException($"Task {id}: result {result.Results[id]}, expected {expected}: the engine lost or corrupted a result; run the Processes tests.");
            }
        }

        _summaries.Add(result.Summary);
        return result;
    }

    /// <summary>One line with the medians of the collected job summaries (BenchmarkDotNet keeps it in the log).</summary>
    public string Describe(string what)
    {
        if (_summaries.Count == 0)
        {
            return $"// {what}: no job ran";
        }

        double Median(Func<JobSummary, double> f)
        {
            double[] v = [.. _summaries.Select(f).Order()];
            return v[v.Length / 2];
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"// {what}: jobs={_summaries.Count} throughput={Median(s => s.Throughput):0} tasks/s " +
            $"placement-to-pickup p50={Median(s => s.MessageLatencyP50.TotalMicroseconds):0.0} us p95={Median(s => s.MessageLatencyP95.TotalMicroseconds):0.0} us " +
            $"execution p50={Median(s => s.Execution.P50.TotalMicroseconds):0.0} us steals={Median(s => s.TotalSteals):0} " +
            $"loadCV={Median(s => s.LoadCoefficientOfVariation):0.00} overhead={Median(s => s.CoordinationOverhead):P1}");
    }

    public void Dispose()
    {
        Coordinator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static ProcessStartInfo Launch(AgentLaunch launch) => HelperProcess.StartInfo("Unjucks.AgentTestHost", launch.ToArguments());
}
