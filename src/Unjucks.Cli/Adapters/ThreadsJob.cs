// ThreadsJob: one threads-mode job from discovery to summary.
//
// Pipeline: TemplateDiscovery (K = 8 directories in flight) -> TemplatePlan (drops what cannot run) ->
// DependencyGraph<(round, id), RenderedTemplate> with one copy of the plan's DAG per round, run with
// maxConcurrency N on WorkStealingScheduler(N).TaskScheduler -> JobReport -> JobSummary.
// One operation = one template rendered and written (TemplateRenderer.RenderOne + OutputWriter.Write). The
// renderer is shared by all rounds, so each template is parsed once per job; each round has its own
// OutputWriter under its own subfolder, so the rounds never write the same file.
// Where the numbers come from:
//   - the scheduler records every task it runs into AgentMetrics (agent = worker): latency percentiles (worker
//     started looking for the task -> task end, which includes the template's render and write and the graph's
//     bookkeeping), coordination overhead (share of that time spent finding work), load CV (tasks per worker),
//     and the hand-off time submission -> start (reported as message latency);
//   - the graph's QueueTime per node (ready -> started: the graph's ready FIFO plus the hand-off) gives the
//     average queue time;
//   - JobReport.TotalTimings gives the time split; discovery and parse are counted once per template (round 1),
//     because later rounds reuse them;
//   - memory is the managed heap of this process (GC.GetTotalMemory(false)), sampled at every snapshot; the
//     summary gives the peak.
// The dashboard's p95 and alerts come from AgentMetrics.GetSummary, refreshed every second (every elapsed/30
// in long jobs: each call keeps one interval histogram for the window), evaluated by AlertMonitor.
using System.Diagnostics;
using System.Globalization;
using Unjucks.Agents;
using Unjucks.Cli.Engine;
using Unjucks.Templates;
using CliAlertSeverity = Unjucks.Cli.Engine.AlertSeverity;

namespace Unjucks.Cli.Adapters;

/// <summary>One run of a threads-mode job.</summary>
internal sealed class ThreadsJob
{
    /// <summary>How often a snapshot is reported.</summary>
    internal static readonly TimeSpan SnapshotInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Shortest interval between two metrics summaries (p95, alerts).</summary>
    internal static readonly TimeSpan MetricsInterval = TimeSpan.FromSeconds(1);

    /// <summary>The metrics window: the summary covers the whole job when it is shorter than this.</summary>
    internal static readonly TimeSpan MetricsWindow = TimeSpan.FromMinutes(10);

    /// <summary>Throughput on the dashboard is measured over about this much recent time.</summary>
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(1);

    private readonly JobRequest _request;
    private readonly IReadOnlyList<string> _roots;
    private readonly IReadOnlyDictionary<string, object?> _globals;
    private readonly bool _strict;
    private readonly IProgress<JobSnapshot>? _progress;
    private readonly long _started;
    private readonly int _pid = Environment.ProcessId;
    private readonly Queue<(long Timestamp, long Completed)> _rateSamples = new();
    private readonly Dictionary<string, Alert> _activeAlerts = new(StringComparer.Ordinal);
    private long _peakMemory;

    public ThreadsJob(JobRequest request, IReadOnlyList<string> roots, IReadOnlyDictionary<string, object?> globals, bool strict,
        IProgress<JobSnapshot>? progress, long started)
    {
        _request = request;
        _roots = roots;
        _globals = globals;
        _strict = strict;
        _progress = progress;
        _started = started;
    }

    /// <summary>A node of the job's graph: one template in one round.</summary>
    private readonly record struct NodeKey(int Round, string Id);

    public async Task<JobSummary> RunAsync(CancellationToken cancellationToken)
    {
        var agents = _request.Agents;
        var rounds = _request.Repeat;
        _progress?.Report(Snapshot(Idle(agents), 0, 0, 0, 0, 0, TimeSpan.Zero, []));

        var discovery = await TemplateDiscovery.DiscoverAsync(_roots, TemplateDiscovery.DefaultMaxConcurrency, cancellationToken).ConfigureAwait(false);
        var plan = TemplatePlan.Create(discovery.Templates, discovery.Failures);
        var runnable = plan.Runnable;
        var indexOf = new Dictionary<string, int>(runnable.Count, StringComparer.Ordinal);
        for (var i = 0; i < runnable.Count; i++)
        {
            indexOf.Add(runnable[i].Id, i);
        }

        // The plan keeps a template runnable only when everything it depends on is runnable.
        var dependencies = runnable.Select(t => t.FrontMatter.DependsOn.Select(d => indexOf[d]).ToArray()).ToList();
        long total = (long)rounds * (runnable.Count + plan.Failed.Count);
        long failedBeforeRender = (long)rounds * plan.Failed.Count;

        var renderer = new TemplateRenderer(_strict);
        var writers = Enumerable.Range(0, rounds).Select(r => new OutputWriter(RoundDirectory(_request.OutputDirectory, r, rounds))).ToArray();
        var counters = new LiveCounters(agents, rounds, dependencies);
        var monitor = new AlertMonitor();
        using var metrics = new AgentMetrics(agents, new AgentMetricsOptions { Window = MetricsWindow });
        var scheduler = new WorkStealingScheduler(agents, metrics);
        DependencyGraphResult<NodeKey, RenderedTemplate> result;
        TimeSpan renderElapsed;
        MetricsSummary final;
        try
        {
            var graph = new DependencyGraph<NodeKey, RenderedTemplate>();
            for (var r = 0; r < rounds; r++)
            {
                var round = r;
                for (var i = 0; i < runnable.Count; i++)
                {
                    var index = i;
                    var template = runnable[i];
                    graph.Add(new NodeKey(round, template.Id), template.FrontMatter.DependsOn.Select(d => new NodeKey(round, d)),
                        (context, token) => RenderOne(scheduler, renderer, writers[round], counters, round, index, template, context, token));
                }
            }

            long renderStarted = Stopwatch.GetTimestamp();
            var run = graph.RunAsync(agents, scheduler.TaskScheduler, cancellationToken);
            var summary = (MetricsSummary?)null;
            long lastMetrics = 0;
            while (!run.IsCompleted)
            {
                // Not cancelled: cancellation reaches the graph, which then completes.
                await Task.WhenAny(run, Task.Delay(SnapshotInterval, CancellationToken.None)).ConfigureAwait(false);
                if (run.IsCompleted)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                var sinceStart = Stopwatch.GetElapsedTime(_started, now);
                var refresh = TimeSpan.FromTicks(Math.Max(MetricsInterval.Ticks, sinceStart.Ticks / 30));
                if (summary is null || Stopwatch.GetElapsedTime(lastMetrics, now) >= refresh)
                {
                    summary = metrics.GetSummary();
                    UpdateAlerts(monitor, summary);
                    lastMetrics = now;
                }

                var completed = failedBeforeRender + counters.Completed;
                var agentLines = Agents(scheduler.GetStatistics(), counters);
                _progress?.Report(Snapshot(agentLines, completed, total, failedBeforeRender + counters.Failed,
                    RecentRate(now, completed, renderStarted), counters.QueueDepth, summary.LatencyP95, ActiveAlerts()));
            }

            result = await run.ConfigureAwait(false);
            renderElapsed = Stopwatch.GetElapsedTime(renderStarted);
            final = metrics.GetSummary();
            UpdateAlerts(monitor, final);
            cancellationToken.ThrowIfCancellationRequested();

            // The final state, exact: dependents of failed templates never ran a body, so count from the graph.
            var notRendered = failedBeforeRender + result.Nodes.Values.Count(n => n.Status != NodeStatus.Succeeded);
            var stats = scheduler.GetStatistics();
            _progress?.Report(Snapshot(
                stats.Select(s => new AgentSnapshot(s.WorkerIndex, _pid, "idle", true, s.Executed, s.Stolen)).ToList(),
                total, total, notRendered,
                renderElapsed > TimeSpan.Zero ? (total - notRendered) / renderElapsed.TotalSeconds : 0,
                0, final.LatencyP95, ActiveAlerts()));
        }
        finally
        {
            // Drains (nothing is left once the graph completed) and joins the worker threads.
            scheduler.Dispose();
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
                var outcome = RenderJob.ToOutcome(template, result.Nodes[new NodeKey(r, template.Id)]);
                // Later rounds reuse the discovery and the parse of round 1: count them once.
                outcomes.Add(r == 0 ? outcome : outcome with { Timings = outcome.Timings with { Discovery = TimeSpan.Zero, Parse = TimeSpan.Zero } });
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(_started);
        var report = new JobReport(outcomes, discovery, renderElapsed, elapsed, _request.OutputDirectory, _strict, agents);
        SampleMemory();

        var startedNodes = result.Nodes.Values.Where(n => n.Status is NodeStatus.Succeeded or NodeStatus.Failed).ToList();
        var averageQueue = startedNodes.Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)startedNodes.Average(n => n.QueueTime.Ticks));
        var timings = report.TotalTimings;
        return new JobSummary(
            agents,
            EngineMode.Threads,
            report.Total,
            report.Rendered,
            JobFailures.From(report, rounds, _roots),
            renderElapsed > TimeSpan.Zero ? report.Rendered / renderElapsed.TotalSeconds : 0,
            new LatencySummary(final.LatencyP50, final.LatencyP95, final.LatencyP99),
            _peakMemory / (1024.0 * 1024.0),
            final.CoordinationOverhead * 100,
            final.LoadCoefficientOfVariation,
            averageQueue,
            final.QueueTimeP50,
            new TimeSplit(timings.Discovery, timings.Parse, timings.Render, timings.Write),
            elapsed,
            _request.OutputDirectory,
            rounds);
    }

    /// <summary>Where round <paramref name="round"/> (0-based) writes: the output directory itself for a single round.</summary>
    internal static string RoundDirectory(string outputDirectory, int round, int rounds)
    {
        if (rounds == 1)
        {
            return outputDirectory;
        }

        var width = Math.Max(2, rounds.ToString(CultureInfo.InvariantCulture).Length);
        return Path.Combine(outputDirectory, "round-" + (round + 1).ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
    }

    private ValueTask<RenderedTemplate> RenderOne(
        WorkStealingScheduler scheduler,
        TemplateRenderer renderer,
        OutputWriter writer,
        LiveCounters counters,
        int round,
        int index,
        TemplateSource template,
        DependencyContext<NodeKey, RenderedTemplate> context,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var worker = scheduler.CurrentWorkerIndex;
        counters.Started(worker);
        var succeeded = false;
        try
        {
            var dependencies = new Dictionary<string, RenderedTemplate>(context.Dependencies.Count, StringComparer.Ordinal);
            foreach (var (key, value) in context.Dependencies)
            {
                dependencies.Add(key.Id, value);
            }

            var rendered = renderer.RenderOne(template, dependencies, _globals);
            var write = writer.Write(rendered);
            succeeded = true;
            return ValueTask.FromResult(rendered with { Timings = rendered.Timings with { Write = write } });
        }
        finally
        {
            counters.Finished(worker, round, index, succeeded);
        }
    }

    private JobSnapshot Snapshot(IReadOnlyList<AgentSnapshot> agents, long completed, long total, long failed, double rate,
        long queueDepth, TimeSpan p95, IReadOnlyList<JobAlert> alerts) =>
        new(Stopwatch.GetElapsedTime(_started), agents, completed, total, failed, rate, p95, queueDepth, SampleMemory(), alerts);

    private List<AgentSnapshot> Idle(int agents) =>
        Enumerable.Range(0, agents).Select(i => new AgentSnapshot(i, _pid, "starting", true, 0, 0)).ToList();

    private List<AgentSnapshot> Agents(IReadOnlyList<WorkerStatistics> stats, LiveCounters counters) =>
        stats.Select(s => new AgentSnapshot(s.WorkerIndex, _pid, counters.IsBusy(s.WorkerIndex) ? "running" : "idle", true, s.Executed, s.Stolen)).ToList();

    /// <summary>Operations per second over the last second or so (since the render started, at first).</summary>
    private double RecentRate(long now, long completed, long renderStarted)
    {
        _rateSamples.Enqueue((now, completed));
        while (_rateSamples.Count > 1 && Stopwatch.GetElapsedTime(_rateSamples.Peek().Timestamp, now) > RateWindow)
        {
            _rateSamples.Dequeue();
        }

        var (since, before) = _rateSamples.Count > 1 ? _rateSamples.Peek() : (renderStarted, 0L);
        var seconds = Stopwatch.GetElapsedTime(since, now).TotalSeconds;
        return seconds > 0 ? (completed - before) / seconds : 0;
    }

    private void UpdateAlerts(AlertMonitor monitor, MetricsSummary summary)
    {
        foreach (var change in monitor.Evaluate(summary))
        {
            if (change.Active)
            {
                _activeAlerts[change.Metric] = change;
            }
            else
            {
                _activeAlerts.Remove(change.Metric);
            }
        }
    }

    private List<JobAlert> ActiveAlerts() =>
        _activeAlerts.Values.Select(a => new JobAlert(a.Severity switch
        {
            Unjucks.Agents.AlertSeverity.Critical => CliAlertSeverity.Critical,
            Unjucks.Agents.AlertSeverity.Warning => CliAlertSeverity.Warning,
            _ => CliAlertSeverity.Info,
        }, a.Message)).ToList();

    /// <summary>The managed heap of this process now (what the dashboard shows); keeps the peak for the summary.</summary>
    private long SampleMemory()
    {
        var bytes = GC.GetTotalMemory(forceFullCollection: false);
        _peakMemory = Math.Max(_peakMemory, bytes);
        return bytes;
    }
}
