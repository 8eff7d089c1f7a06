using System.Buffers.Binary;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Memory-aware tasks on real agent processes: reservations against AgentSessionOptions.MemoryBudgetBytes
/// bound how many run at once, in submission order; a task larger than the budget is refused at once.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SessionMemoryBudgetTests : SessionTestBase
{
    private const long MiB = 1 << 20;

    [Test]
    public async Task Forty_100_MiB_tasks_in_a_256_MiB_budget_run_two_at_a_time_in_submission_order()
    {
        var ct = Guard();
        var options = Options(4);
        options.MemoryBudgetBytes = 256 * MiB;
        await using var session = await AgentSession.StartAsync(options, ct);
        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < 40; i++)
        {
            handles.Add(await session.SubmitAsync(OverlapOp(40), new AgentTaskOptions { EstimatedMemoryBytes = 100 * MiB }, ct));
        }

        var runs = new List<(long Start, long End)>();
        foreach (var h in handles)
        {
            string[] parts = Text(await h.Result.WaitAsync(ct)).Split(' ');
            runs.Add((long.Parse(parts[0]), long.Parse(parts[1])));
        }

        var summary = await session.CompleteAsync(ct);
        // Most tasks running at one instant: the concurrency peaks at some task's start, so count what runs there.
        int maxOverlap = runs.Max(r => runs.Count(o => o.Start <= r.Start && r.Start < o.End));
        Assert.Multiple(() =>
        {
            Assert.That(summary.Completed, Is.EqualTo(40));
            Assert.That(maxOverlap, Is.InRange(1, 2), "at most two 100 MiB tasks fit 256 MiB at once");
            // First in, first out: when task j starts, every earlier task was admitted, and at most one of them can
            // still hold its reservation, so at least j - 1 of them have ended.
            for (int j = 0; j < runs.Count; j++)
            {
                int endedBefore = runs.Take(j).Count(r => r.End <= runs[j].Start);
                Assert.That(endedBefore, Is.GreaterThanOrEqualTo(j - 1), $"task {j} started with only {endedBefore} of the {j} earlier tasks ended");
            }

            Assert.That(summary.MemoryBudgetBytes, Is.EqualTo(256 * MiB));
            Assert.That(summary.MemoryReservedPeak, Is.EqualTo(200 * MiB));
            Assert.That(session.MemoryReserved, Is.Zero);
            Assert.That(session.TasksWaitingForMemory, Is.Zero);
        });
    }

    [Test]
    public async Task A_task_larger_than_the_whole_budget_is_refused_at_once_naming_both_sizes()
    {
        var ct = Guard();
        var options = Options(1);
        options.MemoryBudgetBytes = 256 * MiB;
        await using var session = await AgentSession.StartAsync(options, ct);
        var refused = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await session.SubmitAsync(Op('E', "x"), new AgentTaskOptions { EstimatedMemoryBytes = 1024 * MiB }, ct));
        Assert.That(refused!.Message, Does.Contain("1,073,741,824").And.Contain("268,435,456"));
        Assert.That(() => session.SubmitAsync(Op('E', "x"), new AgentTaskOptions { EstimatedMemoryBytes = -1 }, ct),
            Throws.ArgumentException);
        Assert.That(session.InFlight, Is.Zero, "refused tasks were never submitted");
        var ok = await session.SubmitAsync(Op('E', "fits"), new AgentTaskOptions { EstimatedMemoryBytes = 256 * MiB }, ct);
        Assert.That(Text(await ok.Result.WaitAsync(ct)), Is.EqualTo("fits"), "a task of exactly the budget runs");
    }

    [Test]
    public async Task Zero_means_the_default_budget_of_128_MiB()
    {
        var ct = Guard();
        var options = Options(1);
        options.MemoryBudgetBytes = 0;
        await using var session = await AgentSession.StartAsync(options, ct);
        Assert.That(() => session.SubmitAsync(Op('E', "x"), new AgentTaskOptions { EstimatedMemoryBytes = 129 * MiB }, ct),
            Throws.ArgumentException.With.Message.Contains("134,217,728"));
        var summary = await session.CompleteAsync(ct);
        Assert.That(summary.MemoryBudgetBytes, Is.EqualTo(AgentSessionOptions.DefaultMemoryBudgetBytes));
    }

    private static byte[] OverlapOp(int milliseconds)
    {
        var p = new byte[5];
        p[0] = (byte)'O';
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(1), milliseconds);
        return p;
    }
}
