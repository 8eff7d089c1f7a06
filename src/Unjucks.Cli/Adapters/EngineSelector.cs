using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// The tool's job engine: routes each request by <see cref="JobRequest.Mode"/>. Threads mode runs on
/// <see cref="ThreadsJobEngine"/>; processes mode needs the agent-process engine, which this build does not have yet.
/// </summary>
internal sealed class EngineSelector : IJobEngine
{
    internal const string ProcessesUnavailableMessage = "--mode processes needs the agent-process engine; use --mode threads";

    private readonly ThreadsJobEngine _threads = new();

    public Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Mode switch
        {
            EngineMode.Threads => _threads.RunAsync(request, progress, cancellationToken),
            _ => throw new NotSupportedException(ProcessesUnavailableMessage),
        };
    }
}
