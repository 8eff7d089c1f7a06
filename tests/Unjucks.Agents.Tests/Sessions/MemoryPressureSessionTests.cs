using System.Globalization;
using System.Text;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Measured memory and coordinated GC on real agent processes: with a budget the agents' PSS is read and, at 0.8
/// of the budget, every live agent does a full blocking collection between two tasks; without one nothing is measured.</summary>
public class MemoryPressureSessionTests : SessionTestBase
{
    /// <summary>The test agent's 'L' op: waits <paramref name="milliseconds"/>.</summary>
    private static byte[] DelayOp(int milliseconds) => [(byte)'L', .. BitConverter.GetBytes(milliseconds)];

    [Test]
    public async Task Agents_over_the_budget_are_measured_and_each_collects_in_a_coordinated_round()
    {
        var ct = Guard(120);
        var options = Options(agents: 2);
        options.MemoryBudgetBytes = 16L << 20; // a .NET agent's PSS alone is more than 0.8 of this.
        AgentSessionSummary summary;
        var collected = new Dictionary<int, long>();
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            // Keep the agents busy until the first round has started (at most 2,000 short tasks).
            for (int i = 0; i < 2000 && session.GcRounds == 0; i++)
            {
                await (await session.SubmitAsync(DelayOp(20), cancellationToken: ct)).Result;
            }

            Assert.That(session.GcRounds, Is.GreaterThanOrEqualTo(1), "a round started");
            Assert.That(session.MemoryMeasured, Is.GreaterThan(options.MemoryBudgetBytes * 8 / 10));

            // Every agent collects between two tasks: each one's last full blocking GC index becomes non-zero. Batches
            // of tasks that each wait 30 ms spread over both agents.
            for (int batch = 0; batch < 100 && (collected.Count < 2 || collected.Values.Any(v => v == 0)); batch++)
            {
                var handles = new List<AgentTaskHandle>();
                for (int i = 0; i < 8; i++)
                {
                    handles.Add(await session.SubmitAsync(new byte[] { (byte)'G', 30, 0, 0, 0 }, cancellationToken: ct));
                }

                foreach (var handle in handles)
                {
                    string[] result = Encoding.UTF8.GetString((await handle.Result).Span).Split(' ');
                    collected[int.Parse(result[0], CultureInfo.InvariantCulture)] = long.Parse(result[1], CultureInfo.InvariantCulture);
                }
            }

            summary = await session.CompleteAsync(ct);
        }

        Assert.Multiple(() =>
        {
            Assert.That(collected.Keys, Is.EquivalentTo(new[] { 0, 1 }), "both agents answered");
            Assert.That(collected.Values, Is.All.GreaterThan(0), "both agents did a full blocking collection");
            Assert.That(summary.GcRounds, Is.GreaterThanOrEqualTo(1));
            Assert.That(summary.MemoryMeasuredPeak, Is.GreaterThan(options.MemoryBudgetBytes!.Value * 8 / 10));
            Assert.That(summary.Failed, Is.Zero);
        });
        AssertNothingLeft();
    }

    [Test]
    public async Task Without_a_budget_nothing_is_measured_and_no_round_starts()
    {
        var ct = Guard(60);
        AgentSessionSummary summary;
        await using (var session = await AgentSession.StartAsync(Options(agents: 1), ct))
        {
            for (int i = 0; i < 60; i++)
            {
                await (await session.SubmitAsync(DelayOp(20), cancellationToken: ct)).Result;
            }

            Assert.That(session.MemoryMeasured, Is.Zero);
            summary = await session.CompleteAsync(ct);
        }

        Assert.That(summary.GcRounds, Is.Zero);
        Assert.That(summary.MemoryMeasuredPeak, Is.Zero);
        AssertNothingLeft();
    }
}
