// StreamingTaskStream: ITemplateTaskStream over the engine's StreamingJob (JobCoordinator.StartStreamingJobAsync):
// every task is placed the moment its node submits it, and awaited on its own; no batch barriers.
using Unjucks.Agents.Processes;

namespace Unjucks.Cli.Adapters;

/// <summary>Template tasks on one streaming job of a coordinator.</summary>
internal sealed class StreamingTaskStream : ITemplateTaskStream
{
    private readonly StreamingJob _job;

    private StreamingTaskStream(StreamingJob job) => _job = job;

    /// <summary>Opens a streaming job of at most <paramref name="maxTasks"/> tasks on <paramref name="coordinator"/>.</summary>
    public static async Task<ITemplateTaskStream> OpenAsync(JobCoordinator coordinator, int maxTasks, IProgress<JobProgress> progress, CancellationToken cancellationToken) =>
        new StreamingTaskStream(await coordinator.StartStreamingJobAsync(maxTasks, progress, cancellationToken).ConfigureAwait(false));

    public long Submit(ReadOnlyMemory<byte> payload) => _job.Submit(payload);

    public async Task<long> Completion(long taskId)
    {
        try
        {
            return await _job.Completion(taskId).ConfigureAwait(false);
        }
        catch (TaskFailedException e)
        {
            throw new AgentTaskFailedException(e.Message, e);
        }
    }

    public async Task<JobSummary> CompleteAsync() => (await _job.CompleteAsync().ConfigureAwait(false)).Summary;

    public ValueTask DisposeAsync() => _job.DisposeAsync();
}
