using Unjucks.Agents.Gc;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>Real child processes (tests/Unjucks.GcTestAgent); the GC count is the child's own GC.CollectionCount(2).</summary>
[TestFixture]
[NonParallelizable]
public class GcInducerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30); // hang guard, never asserted.

    [Test]
    [Repeat(3)]
    public async Task Induced_gc_raises_the_childs_gen2_count()
    {
        using var child = await GcTestAgentProcess.StartAsync();
        var (before, _) = await child.Gen2Async();
        var induction = await GcInducer.InduceFullGcAsync(child.Pid, Timeout);
        var (after, _) = await child.Gen2Async();
        Assert.That(after, Is.GreaterThanOrEqualTo(before + 1), $"gen-2 count before {before}, after {after}");
        Assert.That(induction.Pid, Is.EqualTo(child.Pid));
        Assert.That(induction.Total, Is.GreaterThanOrEqualTo(induction.SessionStart));

        var second = await GcInducer.InduceFullGcAsync(child.Pid, Timeout);
        var (third, _) = await child.Gen2Async();
        Assert.That(third, Is.GreaterThanOrEqualTo(after + 1), $"a second induction: {after} -> {third}");
        Assert.That(second.Pid, Is.EqualTo(child.Pid));
        await child.ExitAsync();
    }

    [Test]
    public async Task An_exited_process_gives_a_typed_exception()
    {
        int pid;
        using (var child = await GcTestAgentProcess.StartAsync())
        {
            pid = child.Pid;
            await child.ExitAsync();
        }

        var e = await Assert.ThrowsAsync<GcInductionException>(() => GcInducer.InduceFullGcAsync(pid, Timeout));
        Assert.That(e!.Pid, Is.EqualTo(pid));
        Assert.That(e.Message, Does.Contain(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task A_target_killed_during_the_session_gives_a_typed_exception_not_a_hang()
    {
        using var child = await GcTestAgentProcess.StartAsync();
        var induce = GcInducer.InduceAsync(child.Pid, Timeout, keepOpen: TimeSpan.FromSeconds(5), CancellationToken.None);
        await Task.Delay(500);
        child.Kill();
        var e = await Assert.ThrowsAsync<GcInductionException>(async () => await induce);
        Assert.That(e!.Pid, Is.EqualTo(child.Pid));
    }

    [Test]
    public async Task Caller_cancellation_is_an_OperationCanceledException()
    {
        using var child = await GcTestAgentProcess.StartAsync();
        using var cts = new CancellationTokenSource();
        var induce = GcInducer.InduceAsync(child.Pid, Timeout, keepOpen: TimeSpan.FromSeconds(10), cts.Token);
        await Task.Delay(300);
        await cts.CancelAsync();
        Assert.That(async () => await induce, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Bad_arguments_are_rejected()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => GcInducer.InduceFullGcAsync(0, Timeout));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => GcInducer.InduceFullGcAsync(Environment.ProcessId, TimeSpan.Zero));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => GcInducer.InduceFullGcAsync(Environment.ProcessId, System.Threading.Timeout.InfiniteTimeSpan));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RuntimeCounters.ReadAsync(-3, Timeout));
    }

    [Test]
    public async Task Runtime_counters_report_heap_working_set_and_gen2()
    {
        using var child = await GcTestAgentProcess.StartAsync();
        var snapshot = await RuntimeCounters.ReadAsync(child.Pid, Timeout);
        TestContext.Out.WriteLine(string.Join(", ", snapshot.All.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.That(snapshot.Pid, Is.EqualTo(child.Pid));
        Assert.That(snapshot.GcHeapSizeMB, Is.GreaterThan(0), "gc-heap-size");
        Assert.That(snapshot.WorkingSetMB, Is.GreaterThan(0), "working-set");
        Assert.That(snapshot.Gen2GcCount, Is.GreaterThanOrEqualTo(0), "gen-2-gc-count");
        Assert.That(snapshot.All.Keys, Is.SupersetOf(RuntimeCounters.Required));
        await child.ExitAsync();
    }

    [Test]
    public async Task Runtime_counters_of_a_target_killed_mid_read_give_a_typed_exception()
    {
        using var child = await GcTestAgentProcess.StartAsync();
        // SIGSTOP would be a hang; a kill right after the session starts ends the stream before the first interval.
        var read = RuntimeCounters.ReadAsync(child.Pid, Timeout);
        await Task.Delay(200);
        child.Kill();
        try
        {
            var snapshot = await read;
            Assert.That(snapshot.Pid, Is.EqualTo(child.Pid), "the first interval arrived before the kill");
        }
        catch (GcInductionException e)
        {
            Assert.That(e.Pid, Is.EqualTo(child.Pid)); // the expected outcome: typed, no hang, no other exception type.
        }
    }
}
