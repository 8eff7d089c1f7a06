// ProcessesJobEngine: the IJobEngine for --mode processes (the default). Each agent is a separate process, this
// tool's hidden 'agent' subcommand, joined to a JobCoordinator session over one shared region; ProcessesJob holds
// the details. Inputs (template roots, variables, strictness) are resolved by JobInputs, as in threads mode.
using System.Diagnostics;
using Unjucks.Cli.Engine;
using JobSummary = Unjucks.Cli.Engine.JobSummary;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs template jobs with agents as processes.</summary>
internal sealed class ProcessesJobEngine : IJobEngine
{
    /// <summary>How often a snapshot is reported (tests shorten it).</summary>
    public TimeSpan SnapshotInterval { get; init; } = ThreadsJob.SnapshotInterval;

    public async Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode != EngineMode.Processes)
        {
            throw new ArgumentException($"the processes engine got a request for mode {request.Mode}; route it by mode (EngineSelector).", nameof(request));
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
