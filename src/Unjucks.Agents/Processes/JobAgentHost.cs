// The agent side of a session (docs/agent-processes.md, "Coordinator and agent host"). An agent process calls
// JobAgentHost.RunAsync with its launch options and a handler; it returns when the coordinator stops the session,
// when the coordinator dies, or when the token is cancelled.
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Processes;

/// <summary>Runs an agent process's part of a <see cref="JobCoordinator"/> session.</summary>
internal static class JobAgentHost
{
    /// <summary>
    /// Opens the session's region and control file, registers this process in the region's agent registry
    /// (flock-backed liveness, a heartbeat timer), then serves the session's jobs one after another: moves placed
    /// task ids from its inbox into its own deque, pops, leases, runs <paramref name="handler"/>, commits; steals
    /// batches from the most loaded agent when dry; parks on the region's change sequence when there is no work.
    /// </summary>
    /// <param name="options">Where the session lives and which agent this is.</param>
    /// <param name="handler">Runs each task. An exception marks the task failed; it never ends the agent.</param>
    /// <param name="cancellationToken">Stops the agent (its leased task is recovered by the coordinator when the process exits).</param>
    /// <returns>Completes when the session is stopped or its coordinator is gone.</returns>
    /// <exception cref="FileNotFoundException">The region, control file or a job segment does not exist (wrong launch arguments, or the coordinator already stopped).</exception>
    /// <exception cref="InvalidDataException">The control file is corrupt or never became ready.</exception>
    public static async Task RunAsync(AgentHostOptions options, ITaskHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        options.Validate();
        AgentLaunch launch = options.Launch;
        SessionNames.Validate(launch.SessionName);
        using var region = SharedRegion.Open(launch.RegionName, new SharedRegionOptions { Directory = launch.Directory });
        using var control = SessionControl.Open(launch.Directory, launch.SessionName, options.AttachTimeout);
        if (launch.AgentIndex >= control.AgentCount)
        {
            throw new ArgumentOutOfRangeException(nameof(options), launch.AgentIndex, $"Session '{launch.SessionName}' has agents 0 to {control.AgentCount - 1}.");
        }

        int slot = region.Agents.Register();
        // await using: Timer.DisposeAsync waits for a callback in flight, which writes to the control file and the region
        // (both disposed after it, in reverse declaration order).
        await using var heartbeat = new Timer(static state => ((Heartbeat)state!).Beat(), new Heartbeat(region, control, launch.AgentIndex), TimeSpan.Zero, options.HeartbeatInterval);
        control.SetRunState(launch.AgentIndex, AgentRunState.WaitingForJob);
        control.PublishRegistration(launch.AgentIndex, slot);
        var loop = new AgentLoop(region, control, options, handler, SafePoints.For(region));
        try
        {
            // A dedicated thread: the loop blocks on futex waits when idle.
            await Task.Factory.StartNew(() => loop.RunAsync(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped by the caller: a task it held is recovered by the coordinator once this process exits.
        }
        finally
        {
            control.SetRunState(launch.AgentIndex, AgentRunState.Exited);
        }
    }

    /// <summary>
    /// The heartbeat timer's state: bumps the registry heartbeat, adds the bytes allocated since the last beat to the
    /// registry's bytes-allocated counter (cumulative), and publishes the managed heap size (GC.GetTotalMemory(false):
    /// live data plus garbage not yet collected) in the control file, which the coordinator's GC pressure check reads.
    /// </summary>
    private sealed class Heartbeat(SharedRegion region, SessionControl control, int agentIndex)
    {
        private long _allocated = GC.GetTotalAllocatedBytes(precise: false);

        public void Beat()
        {
            try
            {
                region.Agents.Heartbeat();
                long now = GC.GetTotalAllocatedBytes(precise: false);
                region.Agents.AddBytesAllocated(now - _allocated); // a callback takes microseconds, so callbacks 100 ms apart do not overlap in practice; the counter is advisory.
                _allocated = now;
                control.PublishHeapBytes(agentIndex, GC.GetTotalMemory(forceFullCollection: false));
            }
            catch (ObjectDisposedException)
            {
                // The host is shutting down; the timer is disposed next.
            }
        }
    }
}
