// ProcessesDashboard: what a processes-mode job shows while it runs (JobSnapshot), built from the engine's
// JobProgress and the job's own counters. Used by the job's snapshot loop only (one thread at a time).
//   agents: one line per agent process from JobProgress (pid, published run state, commits, batch steals); "dead" and
//           a Critical alert once the engine's liveness probe found it gone;
//   queue depth: tasks the coordinator has not placed + ids in the live agents' deques and inboxes;
//   memory: working sets of the coordinator and the live agents (ProcessMemory); the peak goes to the summary;
//   alerts: AlertMonitor over the AgentMetrics the job records from task results, plus agent deaths.
using System.Diagnostics;
using System.Globalization;
using Unjucks.Agents;
using Unjucks.Agents.Processes;
using Unjucks.Cli.Engine;
using AgentsJobSummary = Unjucks.Agents.Processes.JobSummary;
using CliAlertSeverity = Unjucks.Cli.Engine.AlertSeverity;

namespace Unjucks.Cli.Adapters;

/// <summary>Snapshots of a processes-mode job.</summary>
internal sealed class ProcessesDashboard(long started)
{
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(1);

    private readonly Queue<(long Timestamp, long Completed)> _rateSamples = new();
    private readonly Dictionary<string, Alert> _activeAlerts = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> _deaths = [];
    private readonly ProcessMemory _memory = new();
    private readonly AlertMonitor _monitor = new();
    private readonly long _started = started;

    /// <summary>Largest memory sample so far, bytes.</summary>
    public long PeakMemory { get; private set; }

    public JobSnapshot Snapshot(IReadOnlyList<AgentSnapshot> agents, long completed, long total, long failed, double rate, long queueDepth, TimeSpan p95)
    {
        var memory = _memory.Sample(agents.Where(a => a.Alive && a.Pid > 0).Select(a => a.Pid));
        PeakMemory = Math.Max(PeakMemory, memory);
        return new JobSnapshot(Stopwatch.GetElapsedTime(_started), agents, completed, total, failed, rate, p95, queueDepth, memory, ActiveAlerts());
    }

    public static List<AgentSnapshot> Starting(int agents) =>
        Enumerable.Range(0, agents).Select(i => new AgentSnapshot(i, 0, "starting", true, 0, 0)).ToList();

    public List<AgentSnapshot> AgentLines(JobProgress? progress, int agents)
    {
        if (progress is null)
        {
            return Starting(agents);
        }

        foreach (var a in progress.Agents.Where(a => !a.Alive))
        {
            if (_deaths.TryAdd(a.Index, string.Create(CultureInfo.InvariantCulture, $"agent {a.Index} (pid {a.Pid}) died; its tasks were given to the others")))
            {
                _activeAlerts["agent.death." + a.Index.ToString(CultureInfo.InvariantCulture)] =
                    new Alert("agent.death", 1, 0, Unjucks.Agents.AlertSeverity.Critical, true, _deaths[a.Index]);
            }
        }

        return progress.Agents.Select(a => new AgentSnapshot(a.Index, a.Pid, a.Alive ? State(a.State) : "dead", a.Alive, a.TasksDone, a.Steals)).ToList();
    }

    public static List<AgentSnapshot> FinalAgentLines(AgentsJobSummary? engine, int agents) => engine is null
        ? Enumerable.Range(0, agents).Select(i => new AgentSnapshot(i, 0, "exited", false, 0, 0)).ToList()
        : engine.Agents.Select(a => new AgentSnapshot(a.Index, a.Pid, a.Alive ? "idle" : "dead", a.Alive, a.TasksExecuted, a.Steals)).ToList();

    private static string State(AgentRunState state) => state switch
    {
        AgentRunState.Starting => "starting",
        AgentRunState.WaitingForJob => "waiting",
        AgentRunState.Running => "running",
        AgentRunState.Idle => "idle",
        AgentRunState.Parked => "parked",
        _ => "exited",
    };

    public static long QueueDepth(JobProgress? progress) =>
        progress is null ? 0 : progress.Unplaced + progress.Agents.Where(a => a.Alive).Sum(a => (long)a.DequeDepth + a.InboxDepth);

    /// <summary>Operations per second over the last second or so (since the render started, at first).</summary>
    public double RecentRate(long now, long completed, long renderStarted)
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

    public void UpdateAlerts(MetricsSummary summary)
    {
        foreach (var change in _monitor.Evaluate(summary))
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
}
