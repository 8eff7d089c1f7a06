// ProcessesJob: one job from discovery to summary, in either mode.
// --mode threads is the same pipeline with the agents as threads of this process (JobCoordinator.StartInProcessAsync,
// RunThreadAgentAsync: the 'agent' subcommand's work on a thread, its own region instance and registry slot).
//
// Pipeline (coordinator = this process): TemplateDiscovery -> TemplatePlan (missing dependencies, cycles and their
// dependents fail here, per template, as in threads mode) -> a JobCoordinator session of N agent processes, each
// this tool's hidden 'agent' subcommand (ProcessesLauncher, ProcessesTemplateHandler) -> a DependencyGraph of
// (round, template) nodes whose body submits the template's task to the session's job and awaits that task's own
// completion: a template is placed as soon as its dependencies are Done, with no batch barriers; the graph's
// concurrency is the node count (placement and balance are the engine's: deques, stealing, recovery).
// One operation = one template rendered and written by an agent (parsed once per agent, rendered, written through a
// temporary file and a rename).
// Where the numbers come from:
//   - latency p50/p95/p99, coordination overhead, load CV, queue time and message latency: the engine's JobSummary
//     (task table ticks: execution = lease -> commit in the agent; queue time = placement -> pickup, whose median is
//     the message latency; overhead and CV from the agents' counters);
//   - the dashboard (ProcessesDashboard): p95 and alerts from each completed task's agent-side time (parse + render + write, from its result)
//     recorded into AgentMetrics per agent; AlertMonitor on its summary; a Critical alert per dead agent;
//   - time split: discovery from the coordinator's discovery (as in threads mode); parse, render and write summed from
//     the agents' results (ProcessesTaskCodec: microseconds; parse counted once per agent and template);
//   - memory: working sets (RSS) of the coordinator and of every live agent process, summed; the summary gives the peak.
// After an agent death, temporary files a killed writer may have left (OutputWriter.IsTemporaryFileName) are removed
// from the output directory: each task's output exists exactly once, written by the agent whose commit won or by a
// loser with the same bytes.
// Output paths are claimed in a claims directory of this job (DirectoryOutputClaims under the region directory, named
// claims-<coordinator pid>-<random>, passed to every agent as --claims, deleted when the job ends; `inspect --cleanup`
// removes those whose coordinator was killed): two templates whose `to:` render the same path on
// different agents give an OutputConflict for the later one, as in one process, instead of a silent overwrite.
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using Unjucks.Agents;
using Unjucks.Agents.Processes;
using Unjucks.Cli.Engine;
using Unjucks.Templates;
using AgentsJobSummary = Unjucks.Agents.Processes.JobSummary;
using CliJobSummary = Unjucks.Cli.Engine.JobSummary;
using CliLatency = Unjucks.Cli.Engine.LatencySummary;

namespace Unjucks.Cli.Adapters;

/// <summary>One run of a job (agents as processes or threads).</summary>
internal sealed class ProcessesJob
{
    /// <summary>Region value size: holds a payload and a template error message (the engine truncates longer ones).</summary>
    internal const int MaxValueBytes = 512;

    private readonly JobRequest _request;
    private readonly JobInputs _inputs;
    private readonly IProgress<JobSnapshot>? _progress;
    private readonly long _started;
    private readonly TimeSpan _snapshotInterval;
    private readonly Func<JobCoordinator, int, IProgress<JobProgress>, CancellationToken, Task<ITemplateTaskStream>> _openStream;
    private readonly ProcessesDashboard _dashboard;
    private readonly string _claimsDirectory;
    private JobProgress? _latest;
    // Written by the graph's node bodies on thread-pool threads, read by the snapshot loop: each on its own lines.
    private PaddedLong _completed;
    private PaddedLong _failed;

    public ProcessesJob(JobRequest request, JobInputs inputs, IProgress<JobSnapshot>? progress, long started, TimeSpan snapshotInterval,
        Func<JobCoordinator, int, IProgress<JobProgress>, CancellationToken, Task<ITemplateTaskStream>> openStream)
    {
        _request = request;
        _inputs = inputs;
        _progress = progress;
        _started = started;
        _snapshotInterval = snapshotInterval;
        _openStream = openStream;
        _dashboard = new ProcessesDashboard(started);
        _claimsDirectory = Path.Combine(Unjucks.SharedMemory.SharedRegionOptions.DefaultDirectory, ClaimsDirectories.NameFor(Environment.ProcessId));
    }

    /// <summary>A node of the job's graph: one template in one round.</summary>
    private readonly record struct NodeKey(int Round, string Id);

    public async Task<CliJobSummary> RunAsync(CancellationToken cancellationToken)
    {
        var claims = new DirectoryOutputClaims(_claimsDirectory);
        try
        {
            return await RunJobAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Every agent has stopped (the coordinator is disposed inside): nobody claims any more.
            claims.DeleteDirectory();
        }
    }

    private async Task<CliJobSummary> RunJobAsync(CancellationToken cancellationToken)
    {
        var agents = _request.Agents;
        var rounds = _request.Repeat;
        _progress?.Report(_dashboard.Snapshot(ProcessesDashboard.Starting(agents), 0, 0, 0, 0, 0, TimeSpan.Zero));

        var discovery = await TemplateDiscovery.DiscoverAsync(_inputs.Roots, TemplateDiscovery.DefaultMaxConcurrency, cancellationToken).ConfigureAwait(false);
        var plan = TemplatePlan.Create(discovery.Templates, discovery.Failures);
        var runnable = plan.Runnable;
        var catalog = new Dictionary<string, int>(discovery.Templates.Count, StringComparer.Ordinal);
        for (var i = 0; i < discovery.Templates.Count; i++)
        {
            catalog.Add(discovery.Templates[i].Id, i);
        }

        long total = (long)rounds * (runnable.Count + plan.Failed.Count);
        long failedBeforeRender = (long)rounds * plan.Failed.Count;
        long taskCount = (long)rounds * runnable.Count;
        if (taskCount > int.MaxValue / 2)
        {
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{runnable.Count} templates x {rounds} rounds is too many tasks for one job; use a smaller --repeat."));
        }

        using var metrics = new AgentMetrics(agents, new AgentMetricsOptions { Window = JobSettings.MetricsWindow });
        DependencyGraphResult<NodeKey, RenderedTemplate>? result = null;
        AgentsJobSummary? engine = null;
        var renderElapsed = TimeSpan.Zero;
        if (taskCount > 0)
        {
            var options = new JobCoordinatorOptions
            {
                AgentCount = agents,
                MaxPayloadBytes = MaxValueBytes,
                // Payloads and failure messages of one job live in the state table at once (power of two).
                StateSlots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16384, (2 * taskCount) + 64)),
                StartupTimeout = TimeSpan.FromSeconds(60),
                LeaseTimeout = _request.LeaseTimeout,
            };
            JobCoordinator coordinator;
            try
            {
                coordinator = _request.Mode == EngineMode.Threads
                    ? await JobCoordinator.StartInProcessAsync(options, RunThreadAgentAsync, cancellationToken).ConfigureAwait(false)
                    : await JobCoordinator.StartAsync(options, StartInfo(AgentArguments()), cancellationToken).ConfigureAwait(false);
            }
            catch (AgentStartupException e)
            {
                throw new CliException($"could not start the agent {(_request.Mode == EngineMode.Threads ? "threads" : "processes")}: {e.Message}");
            }

            await using (coordinator.ConfigureAwait(false))
            {
                var gc = new CoordinatorGcResponder(coordinator.Region);
                await using var gcScope = gc.ConfigureAwait(false);
                var sink = new LatestProgress(this);
                var stream = await _openStream(coordinator, (int)taskCount, sink, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var graph = new DependencyGraph<NodeKey, RenderedTemplate>();
                    for (var r = 0; r < rounds; r++)
                    {
                        var round = r;
                        foreach (var template in runnable)
                        {
                            var payload = ProcessesTaskCodec.EncodePayload(round, catalog[template.Id], template.Id);
                            graph.Add(new NodeKey(round, template.Id), template.FrontMatter.DependsOn.Select(d => new NodeKey(round, d)),
                                (_, token) => RenderAsync(stream, payload, template, round, metrics, token));
                        }
                    }

                    long renderStarted = Stopwatch.GetTimestamp();
                    var run = graph.RunAsync((int)taskCount, TaskScheduler.Default, cancellationToken);
                    var summary = (MetricsSummary?)null;
                    long lastMetrics = 0;
                    while (!run.IsCompleted)
                    {
                        // Not cancelled: cancellation reaches the graph, which then completes.
                        await Task.WhenAny(run, Task.Delay(_snapshotInterval, CancellationToken.None)).ConfigureAwait(false);
                        if (run.IsCompleted)
                        {
                            break;
                        }

                        var now = Stopwatch.GetTimestamp();
                        var refresh = TimeSpan.FromTicks(Math.Max(JobSettings.MetricsInterval.Ticks, Stopwatch.GetElapsedTime(_started, now).Ticks / 30));
                        if (summary is null || Stopwatch.GetElapsedTime(lastMetrics, now) >= refresh)
                        {
                            summary = metrics.GetSummary();
                            _dashboard.UpdateAlerts(summary);
                            lastMetrics = now;
                        }

                        var latest = Volatile.Read(ref _latest); // acquire; pairs with the release in LatestProgress.Report
                        var completed = failedBeforeRender + Interlocked.Read(ref _completed.Value); // atomic read of the bodies' count
                        _progress?.Report(_dashboard.Snapshot(_dashboard.AgentLines(latest, agents), completed, total, failedBeforeRender + Interlocked.Read(ref _failed.Value),
                            _dashboard.RecentRate(now, completed, renderStarted), ProcessesDashboard.QueueDepth(latest), summary.LatencyP95));
                    }

                    result = await run.ConfigureAwait(false);
                    renderElapsed = Stopwatch.GetElapsedTime(renderStarted);
                    cancellationToken.ThrowIfCancellationRequested();
                    engine = await stream.CompleteAsync().ConfigureAwait(false);
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (engine is { AgentDeaths: > 0 })
        {
            RemoveTemporaryFiles(_request.OutputDirectory);
        }

        var outcomes = new List<TemplateOutcome>((int)Math.Min(int.MaxValue, total));
        for (var r = 0; r < rounds; r++)
        {
            foreach (var failed in plan.Failed)
            {
                outcomes.Add(r == 0 ? failed : failed with { Timings = default });
            }

            foreach (var template in runnable)
            {
                var outcome = RenderJob.ToOutcome(template, result!.Nodes[new NodeKey(r, template.Id)]);
                outcomes.Add(r == 0 ? outcome : outcome with { Timings = outcome.Timings with { Discovery = TimeSpan.Zero } });
            }
        }

        var final = metrics.GetSummary();
        _dashboard.UpdateAlerts(final);
        var notRendered = failedBeforeRender + (result?.Nodes.Values.Count(n => n.Status != NodeStatus.Succeeded) ?? 0);
        _progress?.Report(_dashboard.Snapshot(ProcessesDashboard.FinalAgentLines(engine, agents), total, total, notRendered,
            renderElapsed > TimeSpan.Zero ? (total - notRendered) / renderElapsed.TotalSeconds : 0, 0, engine?.Execution.P95 ?? TimeSpan.Zero));

        var elapsed = Stopwatch.GetElapsedTime(_started);
        var report = new JobReport(outcomes, discovery, renderElapsed, elapsed, _request.OutputDirectory, _inputs.Strict, agents);
        var timings = report.TotalTimings;
        return new CliJobSummary(
            agents,
            _request.Mode,
            report.Total,
            report.Rendered,
            JobFailures.From(report, rounds, _inputs.Roots),
            renderElapsed > TimeSpan.Zero ? report.Rendered / renderElapsed.TotalSeconds : 0,
            engine is null ? new CliLatency(default, default, default) : new CliLatency(engine.Execution.P50, engine.Execution.P95, engine.Execution.P99),
            _dashboard.PeakMemory / (1024.0 * 1024.0),
            (engine?.CoordinationOverhead ?? 0) * 100,
            engine?.LoadCoefficientOfVariation ?? 0,
            engine?.QueueTime.Mean ?? TimeSpan.Zero,
            engine?.MessageLatencyP50 ?? TimeSpan.Zero,
            new TimeSplit(timings.Discovery, timings.Parse, timings.Render, timings.Write),
            elapsed,
            _request.OutputDirectory,
            rounds);
    }

    private static Func<AgentLaunch, System.Diagnostics.ProcessStartInfo> StartInfo(List<string> agentArguments) =>
        launch => ProcessesLauncher.Create(launch, agentArguments);

    /// <summary>
    /// Threads mode: one agent on its own thread of this process, doing what the 'agent' subcommand does in a process
    /// (its own handler: discovery, variables, every template parsed once, then JobAgentHost.RunAsync until the session stops).
    /// </summary>
    private async Task RunThreadAgentAsync(AgentLaunch launch, CancellationToken cancellationToken)
    {
        var handler = await ProcessesTemplateHandler.CreateAsync(
            [.. _inputs.Roots.Select(Path.GetFullPath)], _request.OutputDirectory, _inputs.VariablesFile is { } v ? Path.GetFullPath(v) : null,
            _inputs.Strict, _request.Repeat, _claimsDirectory, cancellationToken).ConfigureAwait(false);
        await JobAgentHost.RunAsync(new AgentHostOptions(launch), handler, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The agent command's job options; --templates last (it takes every token up to the next known option).</summary>
    private List<string> AgentArguments()
    {
        var arguments = new List<string> { "--out", _request.OutputDirectory, "--repeat", _request.Repeat.ToString(CultureInfo.InvariantCulture) };
        if (_inputs.VariablesFile is { } variables)
        {
            arguments.Add("--vars");
            arguments.Add(Path.GetFullPath(variables));
        }

        if (_inputs.Strict)
        {
            arguments.Add("--strict");
        }

        arguments.Add("--claims");
        arguments.Add(_claimsDirectory);
        arguments.Add("--templates");
        arguments.AddRange(_inputs.Roots.Select(Path.GetFullPath));
        return arguments;
    }

    private async ValueTask<RenderedTemplate> RenderAsync(ITemplateTaskStream stream, byte[] payload, TemplateSource template, int round,
        AgentMetrics metrics, CancellationToken cancellationToken)
    {
        long value;
        try
        {
            var id = stream.Submit(payload);
            value = await stream.Completion(id).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AgentTaskFailedException e)
        {
            Interlocked.Increment(ref _failed.Value); // atomic count, read by the snapshot loop
            Interlocked.Increment(ref _completed.Value); // same
            throw new TemplateException(ProcessesTaskFailure.Decode(template.Id, e.Message), e);
        }

        var (agent, parse, render, write) = ProcessesTaskCodec.DecodeResult(value);
        if (agent < metrics.AgentCount)
        {
            metrics.RecordOperation(agent, parse + render + write);
        }

        Interlocked.Increment(ref _completed.Value); // atomic count, read by the snapshot loop
        var timings = new TemplateTimings(round == 0 ? template.DiscoveryTime : TimeSpan.Zero, parse, render, write);
        return new RenderedTemplate(template.Id, string.Empty, string.Empty, template.FrontMatter.Variables, timings);
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
                    // Gone already, or not ours to remove: the outputs themselves are complete either way.
                }
            }
        }
    }

    /// <summary>Keeps the engine's latest progress report (called on the coordinator's monitor thread: just a store).</summary>
    private sealed class LatestProgress(ProcessesJob job) : IProgress<JobProgress>
    {
        // Release store of an immutable record; pairs with the acquire load in the snapshot loop.
        public void Report(JobProgress value) => Volatile.Write(ref job._latest, value);
    }
}
