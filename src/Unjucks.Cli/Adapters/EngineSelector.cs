using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Adapters;

/// <summary>
/// The tool's job engine: routes each request by <see cref="JobRequest.Mode"/> to <see cref="ProcessesJobEngine"/>
/// (agents as processes, the default) or <see cref="ThreadsJobEngine"/> (agents as threads of this process).
/// </summary>
internal sealed class EngineSelector : IJobEngine
{
    private readonly ThreadsJobEngine _threads = new();
    private readonly ProcessesJobEngine _processes = new();

    public Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Mode switch
        {
            EngineMode.Threads => _threads.RunAsync(request, progress, cancellationToken),
            EngineMode.Processes => _processes.RunAsync(request, progress, cancellationToken),
            _ => throw new ArgumentOutOfRangeException(nameof(request), request.Mode, "unknown engine mode."),
        };
    }
}
