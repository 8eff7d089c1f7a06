using System.Collections.Concurrent;
using Unjucks.Agents.Gc;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>
/// Coordinated GC rounds over real child processes (tests/Unjucks.GcTestAgent "gc-loop" mode). GC counts are the
/// children's own <c>GC.CollectionCount(2)</c>, reported over stdout and through their acknowledgement records.
/// </summary>
[TestFixture]
[NonParallelizable]
public class CoordinatedGcTests : GcRegionTestBase
{
    [Test]
    [Repeat(2)]
    public async Task A_round_over_two_cooperative_agents_collects_each_while_paused_and_resumes_them()
    {
        var a = await StartAgentAsync(cooperative: true);
        var b = await StartAgentAsync(cooperative: true);
        GcTestAgentProcess[] children = [a, b];
        var gen2Before = new Dictionary<int, int>();
        foreach (var child in children)
        {
            await WaitForIterationsAsync(child, 50); // about 3 MiB of garbage each
            gen2Before[child.Pid] = (await child.Gen2Async()).Gen2;
        }

        var pausedIterations = new ConcurrentDictionary<int, long>();
        var seenWhilePaused = new List<int>();
        var round = CoordinatedGc.RunRoundCoreAsync(Region, [new GcTarget(a.Slot, a.Pid), new GcTarget(b.Slot, b.Pid)],
            new GcRoundOptions { AckTimeout = TimeSpan.FromSeconds(30) },
            async collected =>
            {
                seenWhilePaused.AddRange(collected.Select(t => t.Pid));
                foreach (var child in children)
                {
                    var (first, served) = await child.IterAsync();
                    Assert.That(served, Is.Zero, $"pid {child.Pid} is still inside its first pause");
                    int gen2 = (await child.Gen2Async()).Gen2;
                    Assert.That(gen2, Is.GreaterThan(gen2Before[child.Pid]), $"pid {child.Pid}: gen-2 count while paused, before the round {gen2Before[child.Pid]}");
                    await Task.Delay(200);
                    var (second, _) = await child.IterAsync();
                    Assert.That(second, Is.EqualTo(first), $"pid {child.Pid} ran its loop while it should be paused");
                    pausedIterations[child.Pid] = second;
                }
            },
            CancellationToken.None);
        GcRoundResult result = await round.WaitAsync(HangGuard);
        TestContext.Out.WriteLine($"round {result.Epoch} in {result.Duration}: " + string.Join("; ", result.Agents));

        Assert.That(seenWhilePaused, Is.EquivalentTo(new[] { a.Pid, b.Pid }), "agents collected before the resume");
        Assert.That(result.Agents.Select(r => r.Pid), Is.EqualTo(new[] { a.Pid, b.Pid }), "one report per target, in order");
        Assert.That(result.Epoch, Is.Positive);
        foreach (var report in result.Agents)
        {
            Assert.That(report.Outcome, Is.EqualTo(GcAgentOutcome.Collected), $"{report}");
            Assert.That(report.Error, Is.Null);
            Assert.That(report.Gen2After, Is.GreaterThan(report.Gen2Before), $"the agent's own gen-2 count: {report}");
            Assert.That(report.BytesBefore, Is.Positive, $"{report}");
            Assert.That(report.BytesAfter, Is.Positive, $"{report}");
            Assert.That(report.Measurement, Is.EqualTo(GcMeasurement.InducedGc), "the agent saw the induced full blocking GC");
            Assert.That(report.BytesFreed, Is.EqualTo(report.BytesBefore - report.BytesAfter));
            Assert.That(report.BytesFreed, Is.Positive, $"the loop's garbage was freed: {report}");
            Assert.That(report.Efficiency, Is.EqualTo((double)report.BytesFreed / report.BytesBefore));
            Assert.That(report.GcTime, Is.GreaterThan(TimeSpan.Zero), $"the induced GC's pause: {report}");
            Assert.That(report.GcTime, Is.LessThanOrEqualTo(report.PausedFor), $"the GC ran inside the pause: {report}");
            Assert.That(report.PausedFor, Is.GreaterThan(TimeSpan.Zero));
            Assert.That(report.InductionTime, Is.GreaterThan(TimeSpan.Zero));
        }

        Assert.That(result.Count(GcAgentOutcome.Collected), Is.EqualTo(2));
        Assert.That(result.BytesFreed, Is.EqualTo(result.Agents.Sum(r => r.BytesFreed)));
        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out _), Is.True);
        Assert.That((request.State, request.Epoch), Is.EqualTo((GcRequestState.Resumed, result.Epoch)), "the round resumed its epoch");

        foreach (var child in children)
        {
            long resumedPast = await WaitForIterationsAsync(child, pausedIterations[child.Pid]); // they run again
            var (_, served) = await child.IterAsync();
            Assert.That(served, Is.EqualTo(1), $"pid {child.Pid} served exactly one pause (iterations now {resumedPast})");
            int gen2 = (await child.Gen2Async()).Gen2;
            Assert.That(gen2, Is.GreaterThan(gen2Before[child.Pid]), $"pid {child.Pid}: its own gen-2 count before {gen2Before[child.Pid]}, after {gen2}");
            await child.ExitAsync();
        }
    }

    [Test]
    public async Task An_agent_that_never_acknowledges_is_timed_out_and_the_other_is_collected()
    {
        var coop = await StartAgentAsync(cooperative: true);
        var deaf = await StartAgentAsync(cooperative: false);
        await WaitForIterationsAsync(coop, 0);
        await WaitForIterationsAsync(deaf, 0);

        var result = await CoordinatedGc.RunRoundAsync(Region, [new GcTarget(coop.Slot, coop.Pid), new GcTarget(deaf.Slot, deaf.Pid)], TimeSpan.FromSeconds(5))
            .WaitAsync(HangGuard);

        var (c, d) = (result.Agents[0], result.Agents[1]);
        Assert.That(c.Outcome, Is.EqualTo(GcAgentOutcome.Collected), $"{c}");
        Assert.That(c.Gen2After, Is.GreaterThan(c.Gen2Before), $"{c}");
        Assert.That(d.Outcome, Is.EqualTo(GcAgentOutcome.TimedOut), $"{d}");
        Assert.That(d.Error, Does.Contain("did not acknowledge"));
        Assert.That((d.BytesFreed, d.Efficiency), Is.EqualTo((0L, 0.0)));
        Assert.That(GcRegionRecords.TryReadAck(Region, GcPauseLayout.AckKey(deaf.Slot), out _), Is.False, "the deaf agent never wrote an ack");
        await WaitForIterationsAsync(coop, (await coop.IterAsync()).Iterations); // resumed
        Assert.That((await coop.IterAsync()).PausesServed, Is.EqualTo(1));
    }

    [Test]
    public async Task An_agent_that_dies_before_acknowledging_is_reported_failed_without_waiting_out_the_ack_timeout()
    {
        var coop = await StartAgentAsync(cooperative: true);
        var deaf = await StartAgentAsync(cooperative: false);
        await WaitForIterationsAsync(coop, 0);
        var round = CoordinatedGc.RunRoundAsync(Region, [new GcTarget(coop.Slot, coop.Pid), new GcTarget(deaf.Slot, deaf.Pid)], TimeSpan.FromMinutes(10));
        WaitForAck(coop.Slot, ack => ack.Phase == GcAckPhase.Paused);
        deaf.Kill();

        var result = await round.WaitAsync(HangGuard); // a 10-minute ack timeout: only the liveness check ends it
        Assert.That(result.Agents[0].Outcome, Is.EqualTo(GcAgentOutcome.Collected), $"{result.Agents[0]}");
        Assert.That(result.Agents[1].Outcome, Is.EqualTo(GcAgentOutcome.Failed), $"{result.Agents[1]}");
        Assert.That(result.Agents[1].Error, Does.Contain("not registered by a live process"));
    }

    [Test]
    public async Task A_cancelled_round_still_resumes_the_agents()
    {
        var coop = await StartAgentAsync(cooperative: true);
        var deaf = await StartAgentAsync(cooperative: false);
        await WaitForIterationsAsync(coop, 0);
        using var cts = new CancellationTokenSource();
        var round = CoordinatedGc.RunRoundAsync(Region, [new GcTarget(coop.Slot, coop.Pid), new GcTarget(deaf.Slot, deaf.Pid)], TimeSpan.FromMinutes(10), cts.Token);
        var paused = WaitForAck(coop.Slot, ack => ack.Phase == GcAckPhase.Paused);
        await cts.CancelAsync();

        Assert.That(async () => await round.WaitAsync(HangGuard), Throws.InstanceOf<OperationCanceledException>());
        var released = WaitForAck(coop.Slot, ack => ack.Phase == GcAckPhase.Released);
        Assert.That((released.Epoch, released.Reason), Is.EqualTo((paused.Epoch, GcReleaseReason.Resumed)));
        Assert.That(GcRegionRecords.TryReadRequest(Region, out var request, out _), Is.True);
        Assert.That(request.State, Is.EqualTo(GcRequestState.Resumed));
    }

    [Test]
    public async Task A_request_that_is_never_resumed_releases_the_agent_when_its_budget_runs_out()
    {
        var coop = await StartAgentAsync(cooperative: true);
        await WaitForIterationsAsync(coop, 0);
        long epoch = WriteRequest(Region, TimeSpan.FromMilliseconds(500)); // a live coordinator (this test) that never resumes

        var released = WaitForAck(coop.Slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Released);
        Assert.That(released.Reason, Is.EqualTo(GcReleaseReason.BudgetExpired));
        Assert.That(released.PausedTicks, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(500).Ticks), "paused for at least the budget");
        await WaitForIterationsAsync(coop, (await coop.IterAsync()).Iterations);
        Assert.That((await coop.IterAsync()).PausesServed, Is.EqualTo(1), "the same request is not served twice");
    }

    [Test]
    public async Task A_request_whose_coordinator_died_releases_the_agent()
    {
        var coop = await StartAgentAsync(cooperative: true);
        await WaitForIterationsAsync(coop, 0);
        var coordinator = OpenRegion(); // another registration, standing for a coordinator process
        long epoch = WriteRequest(coordinator, TimeSpan.FromMinutes(10));
        WaitForAck(coop.Slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Paused);
        coordinator.Dispose(); // its registration ends, as a process death would end it

        var released = WaitForAck(coop.Slot, ack => ack.Epoch == epoch && ack.Phase == GcAckPhase.Released);
        Assert.That(released.Reason, Is.EqualTo(GcReleaseReason.CoordinatorDied));

        // The next coordinator takes the stale request over.
        var result = await CoordinatedGc.RunRoundAsync(Region, [new GcTarget(coop.Slot, coop.Pid)], TimeSpan.FromSeconds(30)).WaitAsync(HangGuard);
        Assert.That(result.Epoch, Is.GreaterThan(epoch));
        Assert.That(result.Agents[0].Outcome, Is.EqualTo(GcAgentOutcome.Collected), $"{result.Agents[0]}");
    }
}
