// JobDashboard: what a job shows while it runs (JobSnapshot), built from the library's RenderJobProgress.
//   agents: one line per slot (pid, tasks ended); a slot whose pid changed had its agent die and replaced: the old
//           pid stays listed as dead, with a Critical alert;
//   queue depth: tasks submitted to the session and not ended;
//   memory: summed PSS of this process and the agents (ProcessMemory); the peak goes to the summary;
//   rate: operations per second over the last second;
//   active agents, the adaptive count's decisions, memory reserved and tasks waiting for it: as the session reports.
using System.Diagnostics;
using System.Globalization;
using Unjucks.Cli.Engine;
using Unjucks.Templates;
using Unjucks.Agents;
using Unjucks.Agents.Sessions.Transport;

namespace Unjucks.Cli.Adapters;

/// <summary>Snapshots of a running job. One thread at a time (the library reports progress sequentially).</summary>
internal sealed class JobDashboard(long started, int agents, long memoryBudgetBytes = 0)
{
    private static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(1);

    private readonly Queue<(long Timestamp, long Completed)> _rateSamples = new();
    private readonly int[] _pids = new int[agents];
    private readonly List<AgentSnapshot> _dead = [];
    private readonly List<JobAlert> _alerts = [];

    /// <summary>Largest summed PSS so far, bytes.</summary>
    public long PeakMemory { get; private set; }

    /// <summary>Largest anonymous memory of one agent process so far, bytes.</summary>
    public long PeakAgentPrivate { get; private set; }

    public JobSnapshot Starting() => new(Stopwatch.GetElapsedTime(started),
        Enumerable.Range(0, agents).Select(i => new AgentSnapshot(i, 0, "starting", true, 0, 0)).ToList(), 0, 0, 0, 0, TimeSpan.Zero, 0, Sample([]), []);

    public JobSnapshot Snapshot(RenderJobProgress p)
    {
        var lines = new List<AgentSnapshot>(agents + _dead.Count);
        for (int i = 0; i < agents && i < p.AgentProcessIds.Count; i++)
        {
            int pid = p.AgentProcessIds[i];
            if (_pids[i] != 0 && pid != _pids[i])
            {
                _dead.Add(new AgentSnapshot(i, _pids[i], "dead", false, 0, 0));
                _alerts.Add(new JobAlert(AlertSeverity.Critical, string.Create(CultureInfo.InvariantCulture,
                    $"agent {i} (pid {_pids[i]}) died; its tasks ran again on the others and the slot was restarted")));
            }

            // Remember the slot's pid as it is now, 0 included: a slot that reads 0 while its agent is replaced
            // must not list the dead pid again on every snapshot, and its next pid is a new agent, not a death.
            _pids[i] = pid;

            long done = i < p.TasksPerAgent.Count ? p.TasksPerAgent[i] : 0;
            lines.Add(new AgentSnapshot(i, pid, pid == 0 ? "restarting" : p.Completed >= p.Total && p.Total > 0 ? "idle" : "running", pid != 0, done, 0));
        }

        lines.AddRange(_dead);
        long now = Stopwatch.GetTimestamp();
        return new JobSnapshot(p.Elapsed, lines, p.Completed, p.Total, p.Failed, Rate(now, p.Completed), p.LatencyP95, p.InFlight,
            Sample(p.AgentProcessIds), [.. _alerts])
        {
            ActiveAgents = p.ActiveAgents,
            ActiveAgentsHistory = p.ActiveAgentsHistory,
            MemoryReservedBytes = p.MemoryReserved,
            TasksWaitingForMemory = p.TasksWaitingForMemory,
            MemoryBudgetBytes = memoryBudgetBytes,
            MemoryMeasuredBytes = p.MemoryMeasured,
            GcRounds = p.GcRounds,
        };
    }

    private long Sample(IEnumerable<int> pids)
    {
        var (pss, anonymous) = ProcessMemory.Sample(pids);
        PeakMemory = Math.Max(PeakMemory, pss);
        PeakAgentPrivate = Math.Max(PeakAgentPrivate, anonymous);
        return pss;
    }

    private double Rate(long now, long completed)
    {
        _rateSamples.Enqueue((now, completed));
        while (_rateSamples.Count > 1 && Stopwatch.GetElapsedTime(_rateSamples.Peek().Timestamp, now) > RateWindow)
        {
            _rateSamples.Dequeue();
        }

        var (since, before) = _rateSamples.Count > 1 ? _rateSamples.Peek() : (started, 0L);
        var seconds = Stopwatch.GetElapsedTime(since, now).TotalSeconds;
        return seconds > 0 ? (completed - before) / seconds : 0;
    }
}
