// Automatic coordinated GC rounds during a job (JobCoordinatorOptions.GcBudgetBytes). Every GcCheckInterval the monitor
// thread reads each live agent's managed heap size (GC.GetTotalMemory(false), published by the agent's heartbeat timer in
// its control-file line), feeds them to the coordinator's GcPressureMonitor (sum / budget above the threshold, outside
// the cooldown), and when it says so starts CoordinatedGc.RunRoundAsync on the thread pool: the monitor keeps placing,
// probing liveness and detecting completions while the agents are paused (a death during the round is recovered as
// usual). One automatic round at a time; a round that cannot run (another round in progress on the region, an
// exception) is skipped and the next check after the cooldown may try again. Before the job ends, the monitor waits
// for its round (bounded by the round's own timeouts): paused agents cannot leave the job, and the summary lists it.
using Unjucks.Agents.Gc;

namespace Unjucks.Agents.Processes;

/// <summary>The automatic GC rounds of <see cref="JobRun"/> (see the file header).</summary>
internal sealed partial class JobRun
{
    private Task? _gcRound;
    private long _nextGcCheck;

    /// <summary>Monitor thread: at most every GcCheckInterval, evaluates the agents' heap sizes and starts a round if needed.</summary>
    private void MaybeStartGcRound(long now, CancellationToken ct)
    {
        GcPressureMonitor? monitor = _owner.GcMonitor;
        if (monitor is null || now - _nextGcCheck < 0 || _gcRound is { IsCompleted: false })
        {
            return;
        }

        _nextGcCheck = now + Ticks(_options.GcCheckInterval);
        var samples = new List<AgentMemorySample>(_agents.Length);
        foreach (AgentWorker a in _agents)
        {
            if (!a.Dead)
            {
                samples.Add(new AgentMemorySample(a.RegistrySlot, a.Pid, _control.HeapBytes(a.Index)));
            }
        }

        GcPressureReading reading = monitor.Evaluate(samples);
        if (!reading.ShouldCollect)
        {
            return;
        }

        monitor.RecordRound(); // starts the cooldown now: a failed round is not retried at once either.
        IReadOnlyList<GcTarget> targets = reading.Targets;
        TimeSpan ackTimeout = _options.GcAckTimeout;
        _gcRound = Task.Run(
            async () =>
            {
                try
                {
                    _owner.RecordGcRound(await CoordinatedGc.RunRoundAsync(Region, targets, ackTimeout, ct).ConfigureAwait(false));
                }
                catch (Exception e) when (e is GcRoundInProgressException or OperationCanceledException or GcInductionException or InvalidDataException or ObjectDisposedException)
                {
                    // Skipped: another round holds the region, the job was cancelled (the agents were resumed), or the
                    // round could not run. The job does not depend on it.
                }
            },
            CancellationToken.None);
    }

    /// <summary>Before the job ends: waits for an automatic round still running (its own timeouts bound it).</summary>
    private void WaitForGcRound()
    {
        try
        {
            _gcRound?.Wait();
        }
        catch (AggregateException)
        {
            // Not the job's failure (see MaybeStartGcRound).
        }
    }
}
