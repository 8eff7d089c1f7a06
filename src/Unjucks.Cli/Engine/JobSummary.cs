using Unjucks.Templates;
namespace Unjucks.Cli.Engine;

/// <summary>A template that could not be rendered, with the reason.</summary>
/// <param name="Template">The template's path relative to its template directory.</param>
/// <param name="Message">What was wrong and, when known, what to do (e.g. "dependency cycle: a -> b -> a").</param>
public sealed record TemplateFailure(string Template, string Message);

/// <summary>Latency percentiles of one operation (one template rendered and written).</summary>
/// <param name="P50">Median.</param>
/// <param name="P95">95th percentile.</param>
/// <param name="P99">99th percentile.</param>
public sealed record LatencySummary(TimeSpan P50, TimeSpan P95, TimeSpan P99);

/// <summary>Where a job's time went, summed over all agents' work.</summary>
/// <param name="Discovery">Finding templates and reading their front matter.</param>
/// <param name="Parse">Parsing templates (each parsed once).</param>
/// <param name="Render">Rendering parsed templates.</param>
/// <param name="Write">Writing outputs (temporary file, then rename).</param>
public sealed record TimeSplit(TimeSpan Discovery, TimeSpan Parse, TimeSpan Render, TimeSpan Write)
{
    /// <summary>The four parts added up.</summary>
    public TimeSpan Total => Discovery + Parse + Render + Write;
}

/// <summary>The outcome of a finished job, returned by <see cref="IJobEngine.RunAsync"/>.</summary>
/// <param name="Agents">Agents the job started (for an adaptive count, its maximum; see <see cref="ActiveAgents"/>).</param>
/// <param name="Mode">Processes or threads.</param>
/// <param name="Total">Operations in the job: templates x rounds (<paramref name="Repeat"/>).</param>
/// <param name="Succeeded">Operations that succeeded: templates rendered and written, over all rounds.</param>
/// <param name="Failures">
/// One entry per failed template (a template that failed in several rounds is listed once, its message saying in
/// how many); empty when all succeeded.
/// </param>
/// <param name="OperationsPerSecond">
/// Operations (one template rendered and written) per second of the render phase's wall time: from the first
/// template submitted to the agents to the last output written. Discovery, done once per job, is not in it (it is
/// in <paramref name="TimeSplit"/> and <paramref name="WallTime"/>).
/// </param>
/// <param name="Latency">Per-operation latency percentiles.</param>
/// <param name="MemoryMegabytes">
/// Peak memory of the job in MiB (same measure as <see cref="JobSnapshot.MemoryBytes"/>): the proportional set sizes
/// (PSS) of this process and every agent process, summed, so shared pages count once.
/// </param>
/// <param name="CoordinationOverheadPercent">Time spent coordinating (queues, steals, leases, messages) as a percentage of total agent time.</param>
/// <param name="LoadCoefficientOfVariation">Standard deviation / mean of tasks done per agent (0 = perfectly even).</param>
/// <param name="AverageQueueTime">Mean time a task waited between becoming ready and being taken by an agent.</param>
/// <param name="MessageLatency">
/// Latency of one coordination message between agents. In processes mode: the median time from the coordinator
/// placing a task on an agent (its inbox) to an agent picking it up (the engine's placement-to-pickup, the same data as
/// <paramref name="AverageQueueTime"/>'s). In threads mode there are no messages: it is the median hand-off of a task
/// through the work-stealing scheduler (submitted to a deque or the injector, to a worker starting it), a part of
/// <paramref name="AverageQueueTime"/>.
/// </param>
/// <param name="TimeSplit">Where the time went.</param>
/// <param name="WallTime">From start to the last output written.</param>
/// <param name="OutputDirectory">Where the outputs are.</param>
/// <param name="Repeat">Rounds the template tree was rendered (see <see cref="JobRequest.Repeat"/>).</param>
public sealed record JobSummary(
    int Agents,
    RenderMode Mode,
    long Total,
    long Succeeded,
    IReadOnlyList<TemplateFailure> Failures,
    double OperationsPerSecond,
    LatencySummary Latency,
    double MemoryMegabytes,
    double CoordinationOverheadPercent,
    double LoadCoefficientOfVariation,
    TimeSpan AverageQueueTime,
    TimeSpan MessageLatency,
    TimeSplit TimeSplit,
    TimeSpan WallTime,
    string OutputDirectory,
    int Repeat = 1)
{
    /// <summary>What one operation is, for summaries and reports.</summary>
    public const string OperationDefinition =
        "one operation = one template rendered and written (parsed on its first use in each agent process, once per job in threads mode; rendered; written through a temporary file and a rename)";

    /// <summary>Peak anonymous (private heap) memory of the largest agent process, MiB (0 in threads mode).</summary>
    public double PeakAgentPrivateMegabytes { get; init; }

    /// <summary>Agents rendering at the end: <see cref="Agents"/> for a fixed count, the adaptive count's last value
    /// otherwise.</summary>
    public int ActiveAgents { get; init; }

    /// <summary>The adaptive count's changes over the job, with the controller's reasons; empty for a fixed count.</summary>
    public IReadOnlyList<Unjucks.Agents.ActiveAgentsChange> ActiveAgentsHistory { get; init; } = [];

    /// <summary>The adaptive setting the job ran with (null: a fixed count).</summary>
    public Unjucks.Agents.AgentConcurrency? Concurrency { get; init; }

    /// <summary>The agents' memory budget (<c>run --memory-budget</c>; 0: none).</summary>
    public long MemoryBudgetBytes { get; init; }

    /// <summary>The agents' largest measured memory (PSS) against the budget (0 without one).</summary>
    public long MemoryMeasuredPeakBytes { get; init; }

    /// <summary>Coordinated GC rounds the job's session started (memory at 0.8 of the budget).</summary>
    public long GcRounds { get; init; }

    /// <summary>True when no template failed.</summary>
    public bool Success => Failures.Count == 0;
}
