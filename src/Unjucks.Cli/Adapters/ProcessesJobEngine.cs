// ProcessesJobEngine: the tool's IJobEngine, for both modes. Agents join a JobCoordinator session over one shared
// region: with --mode processes (the default) each agent is a separate process, this tool's hidden 'agent'
// subcommand; with --mode threads each agent is a thread of this process running the same handler through
// JobAgentHost.RunAsync over its own region instance (JobCoordinator.StartInProcessAsync). Same engine either way:
// placement, per-agent deques, stealing, leases. ProcessesJob holds the details; JobInputs resolves the inputs.
using System.Diagnostics;
using Unjucks.Cli.Engine;
using JobSummary = Unjucks.Cli.Engine.JobSummary;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs template jobs with agents as processes or as threads of this process.</summary>
internal sealed class ProcessesJobEngine : IJobEngine
{
    /// <summary>How often a snapshot is reported (tests shorten it).</summary>
    public TimeSpan SnapshotInterval { get; init; } = JobSettings.SnapshotInterval;


    public async Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode is not (EngineMode.Processes or EngineMode.Threads))
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Mode, "unknown engine mode; use processes or threads.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(request.Agents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Repeat, 1);

        long started = Stopwatch.GetTimestamp();
        using var inputs = JobInputs.Resolve(request);
        _ = JobInputs.LoadVariables(inputs.VariablesFile); // a bad file fails here, with its message, not in N agents.
        var job = new ProcessesJob(request, inputs, progress, started, SnapshotInterval, StreamingTaskStream.OpenAsync);
        return await job.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
