using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Agents as threads of the test process (<see cref="AgentSessionOptions.InProcessHandler"/>): the same
/// coordinator and exactly-once as processes; a handler that ignores cancellation is abandoned, not waited for.</summary>
public sealed class InProcessSessionTests : SessionTestBase
{
    [Test]
    [Repeat(3)]
    public async Task Five_thousand_tasks_with_dependencies_run_exactly_once_on_threads()
    {
        var ct = Guard();
        var runs = new ConcurrentDictionary<long, int>();
        var options = new AgentSessionOptions
        {
            Agents = 3,
            Directory = Dir,
            InProcessHandler = (task, _) =>
            {
                runs.AddOrUpdate(task.Id, 1, (_, n) => n + 1);
                long sum = BinaryPrimitives.ReadInt64LittleEndian(task.Payload.Span);
                foreach (var d in task.DependencyResults)
                {
                    sum += BinaryPrimitives.ReadInt64LittleEndian(d.Span);
                }

                var result = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(result, sum);
                return ValueTask.FromResult<ReadOnlyMemory<byte>>(result);
            },
        };
        const int count = 5000;
        var handles = new AgentTaskHandle[count];
        var expected = new long[count];
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            for (int i = 0; i < count; i++)
            {
                var payload = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(payload, i);
                // Task i depends on i-1 and i/2 (when distinct and earlier): a chain with fan-out.
                var deps = new List<AgentTaskHandle>();
                expected[i] = i;
                if (i > 0)
                {
                    deps.Add(handles[i - 1]);
                    expected[i] += expected[i - 1];
                }

                if (i / 2 != i - 1 && i / 2 < i)
                {
                    deps.Add(handles[i / 2]);
                    expected[i] += expected[i / 2];
                }

                handles[i] = await session.SubmitAsync(payload, deps, ct);
            }

            var summary = await session.CompleteAsync(ct);
            Assert.That((summary.Completed, summary.Failed), Is.EqualTo(((long)count, 0L)));
            Assert.That(summary.TasksPerAgent.Sum(), Is.EqualTo(count));
            Assert.That(session.AgentProcessIds, Is.All.EqualTo(Environment.ProcessId));
        }

        Assert.That(runs.Count, Is.EqualTo(count));
        Assert.That(runs.Values, Is.All.EqualTo(1), "each task ran once");
        for (int i = 0; i < count; i++)
        {
            Assert.That(BinaryPrimitives.ReadInt64LittleEndian((await handles[i].Result).Span), Is.EqualTo(expected[i]), $"task {i}");
        }

        AssertNothingLeft();
    }

    [Test]
    public async Task A_handler_that_ignores_cancellation_past_its_lease_is_abandoned_and_the_others_finish()
    {
        var ct = Guard();
        using var release = new ManualResetEventSlim();
        var options = new AgentSessionOptions
        {
            Agents = 2,
            Directory = Dir,
            LeaseTimeout = TimeSpan.FromMilliseconds(300),
            MaxAttempts = 1,
            InProcessHandler = (task, _) =>
            {
                if (task.Payload.Span[0] == (byte)'H')
                {
                    release.Wait(TimeSpan.FromSeconds(60)); // hangs, ignoring the token
                }

                return ValueTask.FromResult(task.Payload);
            },
        };
        await using (var session = await AgentSession.StartAsync(options, ct))
        {
            var hung = await session.SubmitAsync("H"u8.ToArray(), cancellationToken: ct);
            var ok = new List<AgentTaskHandle>();
            for (int i = 0; i < 50; i++)
            {
                ok.Add(await session.SubmitAsync("ok"u8.ToArray(), cancellationToken: ct));
            }

            var failure = await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await hung.Result.WaitAsync(ct));
            Assert.That(failure!.ExceptionType, Is.EqualTo(AgentTaskFailedException.LeaseTimeout));
            var summary = await session.CompleteAsync(ct);
            Assert.That((summary.Completed, summary.Failed), Is.EqualTo((50L, 1L)));
            foreach (var h in ok)
            {
                Assert.That(Text(await h.Result), Is.EqualTo("ok"));
            }
        }

        release.Set(); // the abandoned thread ends now; its late result is refused by the table.
        AssertNothingLeft();
    }

    [Test]
    public async Task Both_a_process_and_an_in_process_handler_is_refused()
    {
        var options = new AgentSessionOptions
        {
            Directory = Dir,
            AgentProcess = AgentProgram(),
            InProcessHandler = (task, _) => ValueTask.FromResult(task.Payload),
        };
        await Assert.ThrowsAsync<ArgumentException>(async () => await AgentSession.StartAsync(options));
    }
}
