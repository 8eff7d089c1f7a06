// CoordinatedGc: the coordinator side of a GC round (protocol and failure cases: docs/coordinated-gc.md).
//
// Round of epoch E:
//   1. Request: compare-and-swap "gc/request" from the version we read to {Requested, E, us, pause budget}, where
//      E is the version that write gives the key (versions of a key only grow, across deletes too, so epochs are
//      unique for the life of the region). A Requested value whose coordinator registration is alive means a
//      round is running: GcRoundInProgressException. One whose coordinator is dead is taken over.
//   2. Acknowledgements: wait (change-sequence futex, 50 ms slices) until every target has published
//      "gc/ack/<slot>" {Paused, E, its pid}, or the ack timeout ends; every 100 ms targets whose registration is
//      dead are dropped as Failed. The rest are TimedOut and are NOT collected: inducing a GC in an agent that is
//      mid-task is legal for the runtime, but the round promises a pause at a safe point.
//   3. Induction: GcInducer.InduceFullGcAsync on every acknowledged agent, concurrently (each agent is paused for
//      the whole round anyway, so the slowest induction, not their sum, sets the pause).
//   4. Resume, always (finally, without the caller's token): CAS "gc/request" to {Resumed, E} unless it no
//      longer holds our epoch.
//   5. After-values: wait up to the report timeout for each induced agent's {Released, E}; build the reports.
// Failure windows: a coordinator that dies between 1 and 4 leaves Requested behind; agents leave on its death
// (liveness, checked every 100 ms) or at the end of the pause budget, and the next coordinator takes over. A hung
// (alive) coordinator blocks other coordinators until it ends.
using System.Diagnostics;
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Gc;

/// <summary>Coordinator side of coordinated GC: pause agents at a safe point, collect them, resume them.</summary>
public static class CoordinatedGc
{
    /// <summary>
    /// Requests a pause, waits up to <paramref name="ackTimeout"/> for each agent's acknowledgement, induces a full
    /// blocking GC in every acknowledged agent (EventPipe GCHeapCollect), resumes all, and reports per agent the
    /// bytes and gen-2 counts before and after, the GC time and the efficiency. Other timeouts are the defaults of
    /// <see cref="GcRoundOptions"/>.
    /// </summary>
    /// <param name="region">The region the agents serve pauses on (<see cref="GcPauseResponder"/>).</param>
    /// <param name="agents">The agents to collect (distinct slots).</param>
    /// <param name="ackTimeout">How long agents have to acknowledge; positive and finite.</param>
    /// <param name="cancellationToken">Cancels the round; the agents are still resumed.</param>
    /// <returns>One report per agent, in the order given.</returns>
    /// <exception cref="GcRoundInProgressException">A live coordinator is running a round on this region.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<GcRoundResult> RunRoundAsync(SharedRegion region, IReadOnlyList<GcTarget> agents, TimeSpan ackTimeout,
        CancellationToken cancellationToken = default) =>
        RunRoundAsync(region, agents, new GcRoundOptions { AckTimeout = ackTimeout }, cancellationToken);

    /// <summary>Like <see cref="RunRoundAsync(SharedRegion, IReadOnlyList{GcTarget}, TimeSpan, CancellationToken)"/> with every timeout given.</summary>
    /// <param name="region">The region the agents serve pauses on.</param>
    /// <param name="agents">The agents to collect (distinct slots).</param>
    /// <param name="options">Timeouts.</param>
    /// <param name="cancellationToken">Cancels the round; the agents are still resumed.</param>
    /// <returns>One report per agent, in the order given.</returns>
    /// <exception cref="GcRoundInProgressException">A live coordinator is running a round on this region.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<GcRoundResult> RunRoundAsync(SharedRegion region, IReadOnlyList<GcTarget> agents, GcRoundOptions options,
        CancellationToken cancellationToken = default) =>
        RunRoundCoreAsync(region, agents, options, whilePaused: null, cancellationToken);

    /// <summary>The round; <paramref name="whilePaused"/> (tests) runs after the inductions, before the resume, with the collected targets.</summary>
    internal static async Task<GcRoundResult> RunRoundCoreAsync(SharedRegion region, IReadOnlyList<GcTarget> agents, GcRoundOptions options,
        Func<IReadOnlyList<GcTarget>, Task>? whilePaused, CancellationToken cancellationToken)
    {
        GcRegionRecords.CheckRegion(region, nameof(region));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        GcTarget[] targets = ValidateTargets(region, agents);
        long start = Stopwatch.GetTimestamp();
        var outcomes = new AgentRound[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            outcomes[i] = new AgentRound(targets[i], GcPauseLayout.AckKey(targets[i].AgentSlot));
        }

        long epoch = BeginRound(region, options.EffectivePauseBudget);
        try
        {
            await Task.Run(() => WaitForAcks(region, outcomes, epoch, options.AckTimeout, cancellationToken), cancellationToken).ConfigureAwait(false);
            AgentRound[] acked = outcomes.Where(o => o.Ack is not null && o.Error is null).ToArray();
            await Task.WhenAll(acked.Select(o => InduceAsync(o, options.InductionTimeout, cancellationToken))).ConfigureAwait(false);
            if (whilePaused is not null)
            {
                await whilePaused(acked.Where(o => o.Induction is not null).Select(o => o.Target).ToArray()).ConfigureAwait(false);
            }
        }
        finally
        {
            Resume(region, epoch);
        }

        await Task.Run(() => WaitForReleases(region, outcomes, epoch, options.ReportTimeout, cancellationToken), cancellationToken).ConfigureAwait(false);
        GcAgentReport[] reports = outcomes.Select(Report).ToArray();
        return new GcRoundResult(Stopwatch.GetElapsedTime(start), reports) { Epoch = epoch };
    }

    private static GcTarget[] ValidateTargets(SharedRegion region, IReadOnlyList<GcTarget> agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        var slots = new HashSet<int>();
        var targets = new GcTarget[agents.Count];
        for (int i = 0; i < targets.Length; i++)
        {
            GcTarget t = agents[i] ?? throw new ArgumentException($"agents[{i}] is null; pass one GcTarget per agent.", nameof(agents));
            if ((uint)t.AgentSlot >= (uint)region.Agents.Capacity || t.Pid <= 0)
            {
                throw new ArgumentException(
                    $"agents[{i}] = {t} is not valid: slots are 0..{region.Agents.Capacity - 1} and pids positive. Take both from the region's registry.", nameof(agents));
            }

            if (!slots.Add(t.AgentSlot))
            {
                throw new ArgumentException($"Agent slot {t.AgentSlot} is listed twice; list each agent once.", nameof(agents));
            }

            targets[i] = t;
        }

        return targets;
    }

    /// <summary>Publishes the request (step 1) and returns its epoch.</summary>
    private static long BeginRound(SharedRegion region, TimeSpan budget)
    {
        int slot = region.Agents.CurrentSlot; // registers: agents test our liveness through this registration
        AgentInfo me = region.Agents.GetInfo(slot);
        while (true)
        {
            bool present = GcRegionRecords.TryReadRequest(region, out GcPauseRequest current, out long version);
            if (present && current.State == GcRequestState.Requested && GcRegionRecords.IsCoordinatorAlive(region, current))
            {
                throw new GcRoundInProgressException(region.Name, current.Epoch, current.CoordinatorPid);
            }

            // A dead coordinator's Requested value is simply overwritten (taken over): its agents see the new epoch.
            long epoch = version + 1; // the version this write gives the key
            var request = new GcPauseRequest(GcRequestState.Requested, epoch, me.ProcessId, slot, me.Generation, (int)budget.TotalMilliseconds);
            // Conditional on `version`: of two coordinators that read the same value, one wins; the other re-reads
            // and then sees a live round.
            if (GcRegionRecords.TryWriteRequest(region, request, present ? version : 0, out long written))
            {
                Debug.Assert(written == epoch, "a successful conditional write gives the key version + 1");
                return epoch;
            }
        }
    }

    /// <summary>Step 4: marks our epoch Resumed, unless the request has moved on (another coordinator took over).</summary>
    private static void Resume(SharedRegion region, long epoch)
    {
        while (GcRegionRecords.TryReadRequest(region, out GcPauseRequest current, out long version)
            && current.Epoch == epoch && current.State == GcRequestState.Requested)
        {
            if (GcRegionRecords.TryWriteRequest(region, current with { State = GcRequestState.Resumed }, version, out _))
            {
                return;
            }

            // Someone wrote the key between our read and write: read again (each retry follows another's success).
        }
    }

    private static void WaitForAcks(SharedRegion region, AgentRound[] rounds, long epoch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        WaitFor(region, rounds, timeout, cancellationToken,
            r => r.Ack is null && r.Error is null,
            r =>
            {
                if (!GcRegionRecords.TryReadAck(region, r.Key, out GcPauseAck ack) || ack.Epoch != epoch || ack.Pid != r.Target.Pid)
                {
                    return false;
                }

                r.Ack = ack;
                if (ack.Phase == GcAckPhase.Released)
                {
                    r.Error = $"the agent left the pause before the GC (reason {ack.Reason}); not collected";
                }

                return true;
            });
        // Whoever is still pending did not acknowledge: TimedOut (Ack and Error both null).
    }

    private static void WaitForReleases(SharedRegion region, AgentRound[] rounds, long epoch, TimeSpan timeout, CancellationToken cancellationToken)
    {
        WaitFor(region, rounds, timeout, cancellationToken,
            r => r.Induction is not null && r.Release is null && r.Error is null,
            r =>
            {
                if (!GcRegionRecords.TryReadAck(region, r.Key, out GcPauseAck ack) || ack.Epoch != epoch || ack.Pid != r.Target.Pid || ack.Phase != GcAckPhase.Released)
                {
                    return false;
                }

                r.Release = ack;
                return true;
            });
        foreach (AgentRound r in rounds.Where(r => r.Induction is not null && r.Release is null && r.Error is null))
        {
            r.Error = $"the GC was induced, but the agent did not publish its after-values within {timeout} (stuck or died)";
        }
    }

    /// <summary>
    /// Polls <paramref name="arrived"/> for every round <paramref name="pending"/> selects, parking on the change
    /// sequence between polls, until none is pending or <paramref name="timeout"/> ends. Pending agents whose
    /// registration died get an error (checked every <see cref="GcRegionRecords.LivenessInterval"/>).
    /// </summary>
    private static void WaitFor(SharedRegion region, AgentRound[] rounds, TimeSpan timeout, CancellationToken cancellationToken,
        Func<AgentRound, bool> pending, Func<AgentRound, bool> arrived)
    {
        long start = Stopwatch.GetTimestamp();
        long lastLivenessCheck = start;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long sequence = region.ChangeSequence; // read before polling: a record published after it ends the park below
            bool waiting = false;
            foreach (AgentRound r in rounds)
            {
                if (pending(r) && !arrived(r))
                {
                    waiting = true;
                }
            }

            TimeSpan left = timeout - Stopwatch.GetElapsedTime(start);
            if (!waiting || left <= TimeSpan.Zero)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(lastLivenessCheck) >= GcRegionRecords.LivenessInterval)
            {
                lastLivenessCheck = Stopwatch.GetTimestamp();
                foreach (AgentRound r in rounds)
                {
                    if (pending(r) && !GcRegionRecords.IsAgentAlive(region, r.Target.AgentSlot, r.Target.Pid))
                    {
                        r.Error = $"agent slot {r.Target.AgentSlot} is not registered by a live process {r.Target.Pid} (exited or died)";
                    }
                }
            }

            region.WaitForChange(sequence, left < GcRegionRecords.WaitSlice ? left : GcRegionRecords.WaitSlice, cancellationToken);
        }
    }

    private static async Task InduceAsync(AgentRound round, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            round.Induction = await GcInducer.InduceFullGcAsync(round.Target.Pid, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (GcInductionException e)
        {
            round.Error = e.Message;
        }
    }

    private static GcAgentReport Report(AgentRound r)
    {
        GcTarget t = r.Target;
        if (r.Ack is null && r.Error is null)
        {
            return new GcAgentReport(t.AgentSlot, t.Pid, GcAgentOutcome.TimedOut, 0, 0, 0, 0, TimeSpan.Zero,
                "the agent did not acknowledge the pause in time (busy in a task, or not calling GcPauseResponder.AtSafePoint); not collected");
        }

        GcPauseAck before = r.Ack ?? default;
        if (r.Error is not null || r.Release is not { } after)
        {
            return new GcAgentReport(t.AgentSlot, t.Pid, GcAgentOutcome.Failed, before.BytesBefore, 0, before.Gen2Before, 0, TimeSpan.Zero, r.Error)
            {
                InductionTime = r.Induction?.SessionStart ?? TimeSpan.Zero,
            };
        }

        return new GcAgentReport(t.AgentSlot, t.Pid, GcAgentOutcome.Collected, after.BytesBefore, after.BytesAfter, after.Gen2Before, after.Gen2After,
            TimeSpan.FromTicks(after.GcTimeTicks), null)
        {
            InductionTime = r.Induction?.SessionStart ?? TimeSpan.Zero,
            PausedFor = TimeSpan.FromTicks(after.PausedTicks),
            Measurement = after.Source == GcAckSource.InducedGc ? GcMeasurement.InducedGc : GcMeasurement.TotalMemory,
        };
    }

    /// <summary>One target's progress through a round. Written by one step at a time (the steps are sequential).</summary>
    private sealed class AgentRound(GcTarget target, string key)
    {
        public GcTarget Target { get; } = target;

        public string Key { get; } = key;

        public GcPauseAck? Ack { get; set; }

        public GcInduction? Induction { get; set; }

        public GcPauseAck? Release { get; set; }

        public string? Error { get; set; }
    }
}
