// ThreadsJobEngine: the IJobEngine for --mode threads. N agents are the N worker threads of one
// WorkStealingScheduler in the tool's own process; every (round, template) is one node of a DependencyGraph
// whose bodies run on that scheduler's TaskScheduler with at most N at once (ThreadsJob holds the details).
// Inputs (template roots, variables, strictness) are resolved by JobInputs, as in processes mode.
using System.Diagnostics;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs template jobs with agents as threads of this process.</summary>
internal sealed class ThreadsJobEngine : IJobEngine
{
    public async Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode != EngineMode.Threads)
        {
            throw new ArgumentException($"the threads engine got a request for mode {request.Mode}; route it by mode (EngineSelector).", nameof(request));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(request.Agents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Repeat, 1);

        long started = Stopwatch.GetTimestamp();
        using var inputs = JobInputs.Resolve(request);
        var globals = JobInputs.LoadVariables(inputs.VariablesFile);
        var job = new ThreadsJob(request, inputs.Roots, globals, inputs.Strict, progress, started);
        return await job.RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
