// TemplateJobEngine: the tool's IJobEngine, for both modes, over the library's RenderJob (Unjucks.Templates on an
// AgentSession). It resolves the inputs (the request's folders, or the bundled samples extracted for the run),
// loads the variables once, runs the job, turns the library's progress into dashboard snapshots and the library's
// report into the tool's summary. It renders nothing itself.
using System.Diagnostics;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs template jobs with agents as processes or as threads of this process.</summary>
internal sealed class TemplateJobEngine : IJobEngine
{
    public async Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Agents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Repeat, 1);
        long started = Stopwatch.GetTimestamp();
        using var inputs = JobInputs.Resolve(request);
        var globals = JobInputs.LoadVariables(inputs.VariablesFile); // a bad file fails here, with its message, before any agent starts.
        var dashboard = new JobDashboard(started, request.AgentsStarted, request.MemoryBudgetBytes ?? 0);
        progress?.Report(dashboard.Starting());
        var mode = request.Mode;
        var options = new RenderJobOptions
        {
            TemplateDirectories = inputs.Roots,
            OutputDirectory = request.OutputDirectory,
            Variables = globals,
            Strict = inputs.Strict,
            Agents = request.AgentsStarted,
            Concurrency = request.Concurrency,
            MemoryBudgetBytes = request.MemoryBudgetBytes,
            Mode = mode,
            Rounds = request.Repeat,
            Limits = new RenderLimits
            {
                Timeout = request.TemplateTimeout ?? RenderLimits.Default.Timeout,
                MaxOutputBytes = request.MaxOutputBytes ?? RenderLimits.Default.MaxOutputBytes,
            },
            AgentProcess = mode == RenderMode.Processes ? AgentProgram.StartInfo() : null,
        };
        JobReport report;
        try
        {
            report = await RenderJob.RunAsync(options, new Forward(dashboard, progress), cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("Could not start agent", StringComparison.Ordinal))
        {
            throw new CliException($"could not start the agent processes: {e.Message}");
        }
        catch (ArgumentException e) when (e.ParamName == "options")
        {
            throw new CliException(e.Message);
        }
        catch (OutputFolderInUseException e)
        {
            throw new CliException(e.Message, ExitCodes.Usage);
        }

        return Summarize(request, inputs, report, dashboard, Stopwatch.GetElapsedTime(started));
    }

    private static JobSummary Summarize(JobRequest request, JobInputs inputs, JobReport report, JobDashboard dashboard, TimeSpan elapsed)
    {
        var session = report.Session;
        var operations = report.Templates.Where(t => t.Status == TemplateStatus.Rendered)
            .Select(t => (t.Timings.Parse + t.Timings.Render + t.Timings.Write).Ticks).Order().ToArray();
        var timings = report.TotalTimings;
        var renderSeconds = report.RenderElapsed.TotalSeconds;
        return new JobSummary(
            request.AgentsStarted,
            request.Mode,
            report.Total,
            report.Rendered,
            JobFailures.From(report, request.Repeat, inputs.Roots),
            renderSeconds > 0 ? report.Rendered / renderSeconds : 0,
            new LatencySummary(Percentile(operations, 50), Percentile(operations, 95), Percentile(operations, 99)),
            dashboard.PeakMemory / (1024.0 * 1024.0),
            (session?.CoordinationOverhead ?? 0) * 100,
            session?.LoadCoefficientOfVariation ?? 0,
            session?.QueueTimeMean ?? TimeSpan.Zero,
            session?.PickupLatencyP50 ?? TimeSpan.Zero,
            new TimeSplit(timings.Discovery, timings.Parse, timings.Render, timings.Write),
            elapsed,
            request.OutputDirectory,
            request.Repeat)
        {
            PeakAgentPrivateMegabytes = dashboard.PeakAgentPrivate / (1024.0 * 1024.0),
            ActiveAgents = session is { ActiveAgents: > 0 } ? session.ActiveAgents : request.AgentsStarted,
            ActiveAgentsHistory = session?.ActiveAgentsHistory ?? [],
            Concurrency = request.Concurrency,
            MemoryBudgetBytes = request.MemoryBudgetBytes ?? 0,
            MemoryMeasuredPeakBytes = session?.MemoryMeasuredPeak ?? 0,
            GcRounds = session?.GcRounds ?? 0,
        };
    }

    private static TimeSpan Percentile(long[] sorted, double p) =>
        sorted.Length == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)]);

    /// <summary>Library progress to dashboard snapshots (the library reports from one task at a time). It runs with
    /// no viewer too: each snapshot samples the memory the summary reports.</summary>
    private sealed class Forward(JobDashboard dashboard, IProgress<JobSnapshot>? progress) : IProgress<RenderJobProgress>
    {
        public void Report(RenderJobProgress value)
        {
            var snapshot = dashboard.Snapshot(value);
            progress?.Report(snapshot);
        }
    }
}
