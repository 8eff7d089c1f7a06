namespace Unjucks.Cli.Engine;

/// <summary>
/// Runs one template-rendering job with a number of agents. The tool's seam to Unjucks.Templates and
/// Unjucks.Agents: an adapter over the real engine implements it; tests use a fake.
/// </summary>
public interface IJobEngine
{
    /// <summary>
    /// Runs <paramref name="request"/> to completion and returns its summary. Failed templates are reported in
    /// <see cref="JobSummary.Failures"/>, not thrown. Throws only when the job as a whole cannot run (e.g. a
    /// template directory vanished, the region could not be created), with a message that says what to do.
    /// </summary>
    /// <param name="request">What to render, where, with how many agents.</param>
    /// <param name="progress">
    /// Receives snapshots while the job runs (a few per second is plenty; the tool renders the latest one).
    /// May be null. Called from any thread; the tool's implementation never blocks.
    /// </param>
    /// <param name="cancellationToken">Cancels the job: agents stop, the region is removed, the task is cancelled.</param>
    /// <returns>The job's summary.</returns>
    Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken);
}
