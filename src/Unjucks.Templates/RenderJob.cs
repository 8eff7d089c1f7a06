// The template job on an agent session: discover once, plan (what cannot run fails here, per template), send the
// template set and the variables to the agents once (session data), submit one task per (round, template) in
// dependency order with its dependencies as the session's own, and build the report from the tasks' result
// records. Agents are processes (this program started again; its Main calls RunAgentAsync) or threads of this
// process (RenderMode.Threads): the same session, placement, retries and exactly-once either way.
using System.Diagnostics;
using System.Globalization;
using Unjucks.Agents;
using Unjucks.SharedMemory;
using Unjucks.Templates.Jobs;

namespace Unjucks.Templates;

/// <summary>How a render job's agents run.</summary>
public enum RenderMode
{
    /// <summary>Agents are threads of this process (no agent program needed).</summary>
    Threads,

    /// <summary>Agents are processes: this program started again, whose <c>Main</c> calls
    /// <see cref="RenderJob.RunAgentAsync"/> when <see cref="RenderJob.IsAgentInvocation"/> is true.</summary>
    Processes,
}

/// <summary>What <see cref="RenderJob.RunAsync"/> renders and how.</summary>
public sealed class RenderJobOptions
{
    /// <summary>Template roots, in priority order (an id found in two roots comes from the first).</summary>
    public required IReadOnlyList<string> TemplateDirectories { get; init; }

    /// <summary>Where outputs go (created if missing).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Global variables (see <see cref="TemplateValues"/>); front matter variables override them.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>K: directories scanned at once (seed default 8).</summary>
    public int DiscoveryConcurrency { get; init; } = TemplateDiscovery.DefaultMaxConcurrency;

    /// <summary>Agents (default <see cref="Environment.ProcessorCount"/>).</summary>
    public int Agents { get; init; } = Environment.ProcessorCount;

    /// <summary>An adaptive agent count (see <see cref="AgentSessionOptions.Concurrency"/>): the job starts
    /// <see cref="AgentConcurrency.MaxAgents"/> agents (<see cref="Agents"/> is then not used) and lets the session move
    /// the number that render to the count with the highest measured throughput. Null (the default): all
    /// <see cref="Agents"/> render. The knee search needs about 8 windows (4 s at the default 500 ms) to settle, so
    /// give it a job that long (<see cref="Rounds"/>).</summary>
    public AgentConcurrency? Concurrency { get; init; }

    /// <summary>A memory budget for the session (<see cref="AgentSessionOptions.MemoryBudgetBytes"/>): templates reserve
    /// nothing, but the agents' measured memory (PSS) is read against it and a coordinated GC round starts at 0.8 of it.
    /// Null (the default): none.</summary>
    public long? MemoryBudgetBytes { get; init; }

    /// <summary>Agents the job starts: <see cref="Agents"/>, or the adaptive count's maximum.</summary>
    internal int EffectiveAgents => Concurrency?.MaxAgents ?? Agents;

    /// <summary>Threads (default) or processes.</summary>
    public RenderMode Mode { get; init; }

    /// <summary>Rounds: the tree is rendered this many times, each into its own folder <c>round-01</c>,
    /// <c>round-02</c>... (directly into <see cref="OutputDirectory"/> when 1, the default).</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>Undefined variables are errors (see <see cref="TemplateRenderer.Strict"/>).</summary>
    public bool Strict { get; init; }

    /// <summary>Flush each output to the disk before its rename (see <see cref="OutputWriter.Durable"/>).</summary>
    public bool DurableWrites { get; init; }

    /// <summary>What one render may take (default <see cref="RenderLimits.Default"/>).</summary>
    public RenderLimits Limits { get; init; } = RenderLimits.Default;

    /// <summary>Processes mode: the agent program (default this program started again; see <see cref="AgentSessionOptions.AgentProcess"/>).</summary>
    public ProcessStartInfo? AgentProcess { get; init; }

    /// <summary>The folder of the session's files (default the per-user folder under /dev/shm).</summary>
    public string? SessionDirectory { get; init; }

    /// <summary>
    /// Tasks submitted and not ended, per agent (default <see cref="DefaultTasksInFlightPerAgent"/>, 1 to 4,096): the
    /// session's window (<see cref="AgentSessionOptions.MaxTasksInFlight"/> = this x <see cref="Agents"/>). Small keeps
    /// the backlog small, so queue time and placement-to-pickup latency measure coordination rather than waiting
    /// behind other templates, and a stalled agent holds few; large hides the hand-off on very fast templates (on
    /// the bundled samples, 2 vCPUs: 16 per agent rendered about 10 % more operations per second at 2 agents, with
    /// queue times 2 to 20 times longer).
    /// </summary>
    public int TasksInFlightPerAgent { get; init; } = DefaultTasksInFlightPerAgent;

    /// <summary>The default of <see cref="TasksInFlightPerAgent"/>: one task running and three ready behind it.</summary>
    public const int DefaultTasksInFlightPerAgent = 4;
}

/// <summary>A point in a running render job, reported a few times per second.</summary>
/// <param name="Elapsed">Since the job started.</param>
/// <param name="Completed">Operations ended (rendered or failed), over all rounds.</param>
/// <param name="Total">Operations in the job (templates x rounds); 0 during discovery.</param>
/// <param name="Failed">Operations that failed so far (in <paramref name="Completed"/>).</param>
/// <param name="InFlight">Tasks submitted to the session and not ended, waiting or running (<see cref="AgentSession.InFlight"/>, the <c>unjucks.agents.tasks.in_flight</c> gauge).</param>
/// <param name="AgentProcessIds">The pid of each agent slot (this process's in threads mode; 0 while one is replaced).</param>
/// <param name="TasksPerAgent">Operations each agent slot ended so far.</param>
public sealed record RenderJobProgress(TimeSpan Elapsed, long Completed, long Total, long Failed, long InFlight, IReadOnlyList<int> AgentProcessIds, IReadOnlyList<long> TasksPerAgent)
{
    /// <summary>95th percentile so far of one rendered template's parse + render + write time (zero before the first).</summary>
    public TimeSpan LatencyP95 { get; init; }

    /// <summary>Agents rendering now (<see cref="AgentSession.ActiveAgents"/>): all live ones, or the adaptive count.</summary>
    public int ActiveAgents { get; init; }

    /// <summary>The adaptive count's changes so far with their reasons (<see cref="AgentSession.ActiveAgentsHistory"/>;
    /// empty for a fixed count).</summary>
    public IReadOnlyList<ActiveAgentsChange> ActiveAgentsHistory { get; init; } = [];

    /// <summary>Bytes of the session's memory budget reserved now (<see cref="AgentSession.MemoryReserved"/>; 0 without one).</summary>
    public long MemoryReserved { get; init; }

    /// <summary>Tasks waiting for their memory reservation (<see cref="AgentSession.TasksWaitingForMemory"/>).</summary>
    public int TasksWaitingForMemory { get; init; }

    /// <summary>The agents' measured memory at the last reading (<see cref="AgentSession.MemoryMeasured"/>; 0 without a budget).</summary>
    public long MemoryMeasured { get; init; }

    /// <summary>Coordinated GC rounds so far (<see cref="AgentSession.GcRounds"/>).</summary>
    public long GcRounds { get; init; }
}

/// <summary>
/// The template job: discover, plan (drop what cannot run), render on an <see cref="AgentSession"/> (a template
/// starts once its dependencies are written), report. One template's failure, hang or size never stops the others.
/// </summary>
public static class RenderJob
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan FastProgressInterval = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan FastProgressPeriod = TimeSpan.FromSeconds(1);

    /// <summary>True in a process a processes-mode render job started as one of its agents.</summary>
    /// <param name="args">The program's arguments.</param>
    public static bool IsAgentInvocation(string[] args) => AgentHost.IsAgentInvocation(args);

    /// <summary>Serves a processes-mode render job as one agent until it stops; returns the process exit code.</summary>
    /// <param name="args">The program's arguments (the session's are at their end).</param>
    /// <param name="cancellationToken">Stops the agent.</param>
    public static Task<int> RunAgentAsync(string[] args, CancellationToken cancellationToken = default) =>
        AgentHost.RunAsync(args, RenderAgent.ProcessHandler(), cancellationToken);

    /// <summary>Removes what killed render jobs left in <paramref name="directory"/>: their sessions' files
    /// (<see cref="AgentSession.RemoveStale"/>) and their output-claims folders; live jobs are left alone.</summary>
    /// <param name="directory">The session folder; default the per-user folder under /dev/shm.</param>
    /// <returns>The paths removed.</returns>
    public static IReadOnlyList<string> RemoveStale(string? directory = null) =>
        [.. AgentSession.RemoveStale(directory), .. ClaimsFolders.RemoveOrphans(directory ?? SharedRegionOptions.DefaultDirectory)];

    /// <summary>Runs the whole job.</summary>
    /// <param name="options">What to render.</param>
    /// <param name="progress">Receives a snapshot every 25 ms for the first second, then four times per second (may be null).</param>
    /// <param name="cancellationToken">Cancels the job: agents stop, the session's files are removed, and the call
    /// throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>The report; <see cref="JobReport.Failed"/> is non-zero when any template was not rendered.</returns>
    /// <exception cref="ArgumentException">Bad options (no directories, a reserved or unsupported global variable).</exception>
    /// <exception cref="DirectoryNotFoundException">A template directory does not exist.</exception>
    /// <exception cref="OutputFolderInUseException">Another render job is writing into the same output folder.</exception>
    /// <exception cref="UnauthorizedAccessException">The output folder is not writable by this user.</exception>
    public static async Task<JobReport> RunAsync(RenderJobOptions options, IProgress<RenderJobProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var globals = Validate(options);
        long started = Stopwatch.GetTimestamp();
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.OutputDirectory));
        Directory.CreateDirectory(root);
        using var folderLock = OutputFolderLock.Acquire(root); // before anything is read or started: one job per folder
        var discovery = await TemplateDiscovery.DiscoverAsync(options.TemplateDirectories, options.DiscoveryConcurrency, cancellationToken).ConfigureAwait(false);
        var plan = TemplatePlan.Create(discovery.Templates, discovery.Failures);
        var ordered = DependencyOrder(plan.Runnable);
        int rounds = options.Rounds;
        var run = new RenderRun(ordered, rounds, (long)rounds * (ordered.Count + plan.Failed.Count), (long)rounds * plan.Failed.Count, options.EffectiveAgents, started);
        long renderStarted = Stopwatch.GetTimestamp();
        AgentSessionSummary? summary = null;
        if (ordered.Count > 0)
        {
            summary = await RenderAsync(options, globals, root, run, progress, cancellationToken).ConfigureAwait(false);
        }

        var renderElapsed = Stopwatch.GetElapsedTime(renderStarted);
        var outcomes = new List<TemplateOutcome>((int)Math.Min(int.MaxValue, run.Total));
        for (int r = 0; r < rounds; r++)
        {
            foreach (var failed in plan.Failed)
            {
                outcomes.Add(r == 0 ? failed : failed with { Timings = default });
            }

            for (int i = 0; i < ordered.Count; i++)
            {
                outcomes.Add(run.Outcome(r, i));
            }
        }

        return new JobReport(outcomes, discovery, renderElapsed, Stopwatch.GetElapsedTime(started), root, options.Strict, options.EffectiveAgents)
        {
            Mode = options.Mode,
            Rounds = rounds,
            Session = summary,
        };
    }

    /// <summary>Where round <paramref name="round"/> (0-based) of <paramref name="rounds"/> writes: the output folder itself for one round.</summary>
    public static string RoundDirectory(string outputDirectory, int round, int rounds)
    {
        if (rounds == 1)
        {
            return outputDirectory;
        }

        var width = Math.Max(2, rounds.ToString(CultureInfo.InvariantCulture).Length);
        return Path.Combine(outputDirectory, "round-" + (round + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
    }

    private static Dictionary<string, object?> Validate(RenderJobOptions options)
    {
        if (options.TemplateDirectories is null || options.TemplateDirectories.Count == 0)
        {
            throw new ArgumentException("no template directory given; pass at least one.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.Agents, 1, nameof(options.Agents));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Rounds, 1, nameof(options.Rounds));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TasksInFlightPerAgent, 1, nameof(options.TasksInFlightPerAgent));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.TasksInFlightPerAgent, 4096, nameof(options.TasksInFlightPerAgent));
        if ((long)options.EffectiveAgents * options.TasksInFlightPerAgent > 1 << 20)
        {
            throw new ArgumentException("Agents x TasksInFlightPerAgent is at most 1,048,576 (the session's window); lower one of them.", nameof(options));
        }
        ArgumentNullException.ThrowIfNull(options.Limits);
        options.Limits.Validate();
        if (options.Mode == RenderMode.Threads && options.AgentProcess is not null)
        {
            throw new ArgumentException("AgentProcess is for RenderMode.Processes; threads mode starts no program.", nameof(options));
        }

        try
        {
            var globals = (Dictionary<string, object?>)TemplateValues.Normalize(options.Variables)!;
            TemplateValues.CheckNotReserved(globals.Keys, "global variables");
            return globals;
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, nameof(options), e);
        }
    }

    private static async Task<AgentSessionSummary> RenderAsync(RenderJobOptions options, Dictionary<string, object?> globals, string root, RenderRun run,
        IProgress<RenderJobProgress>? progress, CancellationToken cancellationToken)
    {
        var claims = new DirectoryOutputClaims(Path.Combine(options.SessionDirectory ?? SharedRegionOptions.DefaultDirectory, ClaimsFolders.NameFor(Environment.ProcessId)));
        var limits = options.Limits;
        bool clean = false; // true once every task ended with no agent lost
        try
        {
            var data = new RenderJobData(options.Strict, options.DurableWrites, run.Rounds, root, claims.Directory, limits, globals, run.Templates).Encode();
            var sessionOptions = new AgentSessionOptions
            {
                Agents = options.EffectiveAgents,
                Concurrency = options.Concurrency,
                MemoryBudgetBytes = options.MemoryBudgetBytes,
                Directory = options.SessionDirectory,
                SessionData = data,
                InProcessHandler = options.Mode == RenderMode.Threads ? new RenderAgent(RenderJobData.Decode(data)).Handle : null,
                AgentProcess = options.Mode == RenderMode.Processes ? options.AgentProcess : null,
                // A backstop only: renders stop themselves at limits.Timeout (checked on every write; loops by step count).
                LeaseTimeout = (2 * limits.Timeout) + TimeSpan.FromSeconds(10),
                StartTimeout = TimeSpan.FromSeconds(60),
                MaxTasksInFlight = options.EffectiveAgents * options.TasksInFlightPerAgent,
            };
            var session = await AgentSession.StartAsync(sessionOptions, cancellationToken).ConfigureAwait(false);
            await using (session.ConfigureAwait(false))
            {
                using var stopReporting = new CancellationTokenSource();
                var reporter = progress is null ? Task.CompletedTask : ReportAsync(session, run, progress, stopReporting.Token);
                try
                {
                    await run.SubmitAllAsync(session, cancellationToken).ConfigureAwait(false);
                    var summary = await session.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    await run.CollectAsync().ConfigureAwait(false);
                    clean = summary.AgentDeaths == 0;
                    return summary;
                }
                finally
                {
                    await stopReporting.CancelAsync().ConfigureAwait(false);
                    await reporter.ConfigureAwait(false);
                    progress?.Report(run.Progress(session));
                }
            }
        }
        finally
        {
            // Every agent has stopped (the session is disposed): nobody claims or writes any more. An agent that
            // died, or was stopped by cancellation, between creating a temporary file and its rename left it behind.
            claims.DeleteDirectory();
            if (!clean)
            {
                RemoveTemporaryFiles(root);
            }
        }
    }

    /// <summary>Reports every 25 ms for the first second (a short job's peaks, memory above all, would fall between
    /// slower reports), then every <see cref="ProgressInterval"/>.</summary>
    private static async Task ReportAsync(AgentSession session, RenderRun run, IProgress<RenderJobProgress> progress, CancellationToken token)
    {
        using var timer = new PeriodicTimer(FastProgressInterval);
        long started = Stopwatch.GetTimestamp();
        long last = 0;
        try
        {
            do
            {
                long now = Stopwatch.GetTimestamp();
                if (Stopwatch.GetElapsedTime(started, now) < FastProgressPeriod || last == 0 || Stopwatch.GetElapsedTime(last, now) >= ProgressInterval)
                {
                    last = now;
                    progress.Report(run.Progress(session));
                }
            }
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // The job ended; the caller reports the final snapshot.
        }
    }

    /// <summary>The runnable templates with every template after its dependencies (the plan guarantees no cycle).</summary>
    private static List<TemplateSource> DependencyOrder(IReadOnlyList<TemplateSource> runnable)
    {
        var byId = runnable.ToDictionary(t => t.Id, StringComparer.Ordinal);
        var order = new List<TemplateSource>(runnable.Count);
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: on the stack, true: placed
        foreach (var start in runnable)
        {
            if (state.ContainsKey(start.Id))
            {
                continue;
            }

            // Iterative depth-first post-order: a long chain cannot overflow the stack.
            var stack = new Stack<(TemplateSource Template, int Next)>();
            stack.Push((start, 0));
            state[start.Id] = false;
            while (stack.Count > 0)
            {
                var (t, next) = stack.Pop();
                if (next < t.FrontMatter.DependsOn.Count)
                {
                    stack.Push((t, next + 1));
                    var dep = byId[t.FrontMatter.DependsOn[next]];
                    if (state.TryAdd(dep.Id, false))
                    {
                        stack.Push((dep, 0));
                    }
                }
                else
                {
                    state[t.Id] = true;
                    order.Add(t);
                }
            }
        }

        return order;
    }

    /// <summary>Removes temporary files a killed agent left between creating one and its rename.</summary>
    private static void RemoveTemporaryFiles(string outputDirectory)
    {
        foreach (var file in Directory.EnumerateFiles(outputDirectory, ".*.tmp", SearchOption.AllDirectories))
        {
            if (OutputWriter.IsTemporaryFileName(Path.GetFileName(file)))
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // Gone already: the outputs themselves are complete either way.
                }
            }
        }
    }
}
