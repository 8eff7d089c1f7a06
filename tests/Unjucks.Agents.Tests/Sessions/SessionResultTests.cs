using System.Text;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Results of any size, structured failures, dependencies and session data, across real agent processes.</summary>
public sealed class SessionResultTests : SessionTestBase
{
    [Test]
    public async Task Echo_round_trip_and_nothing_left_behind()
    {
        var ct = Guard();
        await using (var session = await AgentSession.StartAsync(Options(2), ct))
        {
            var h = await session.SubmitAsync(Op('E', "hello"), cancellationToken: ct);
            Assert.That(Text(await h.Result.WaitAsync(ct)), Is.EqualTo("hello"));
            var summary = await session.CompleteAsync(ct);
            Assert.That((summary.Completed, summary.Failed), Is.EqualTo((1L, 0L)));
        }

        AssertNothingLeft();
    }

    [Test]
    public async Task Twenty_thousand_results_of_0_B_to_1_MiB_and_one_of_16_MiB_arrive_exact_and_once()
    {
        var ct = Guard(300);
        const int count = 20_000;
        static int SizeOf(int i) => i switch
        {
            0 => 16 << 20,
            _ when i % 100 == 1 => 1 << 20,
            _ when i % 10 == 2 => 4096 + (i % 3) - 1, // 4095, 4096, 4097 around the inline limit
            _ when i % 10 == 3 => 0,
            _ => i % 700,
        };

        await using (var session = await AgentSession.StartAsync(Options(4), ct))
        {
            var handles = new AgentTaskHandle[count];
            for (int i = 0; i < count; i++)
            {
                handles[i] = await session.SubmitAsync(SizeOp(SizeOf(i), i), cancellationToken: ct);
            }

            var summary = await session.CompleteAsync(ct);
            Assert.That((summary.Completed, summary.Failed), Is.EqualTo(((long)count, 0L)));
            Assert.That(summary.TasksPerAgent.Sum(), Is.EqualTo(count), "every task ran exactly once (agents' own counters)");
            for (int i = 0; i < count; i++)
            {
                Assert.That(handles[i].Id, Is.EqualTo(i));
                var result = await handles[i].Result;
                if (!result.Span.SequenceEqual(Pattern(SizeOf(i), i)))
                {
                    Assert.Fail($"task {i}: result of {result.Length} bytes differs from the expected {SizeOf(i)} bytes");
                }
            }
        }

        AssertNothingLeft();
    }

    [Test]
    public async Task A_diamond_and_a_1000_long_chain_deliver_dependency_results_in_order()
    {
        var ct = Guard(300);
        await using var session = await AgentSession.StartAsync(Options(3), ct);
        var top = await session.SubmitAsync(Op('C', "a"), cancellationToken: ct);
        var left = await session.SubmitAsync(Op('C', "b"), [top], ct);
        var right = await session.SubmitAsync(Op('C', "c"), [top], ct);
        var bottom = await session.SubmitAsync(Op('C', "d"), [right, left], ct);
        Assert.That(Text(await bottom.Result.WaitAsync(ct)), Is.EqualTo(">a>c,>a>b>d"));

        var previous = await session.SubmitAsync(Op('E', "0"), cancellationToken: ct);
        for (int i = 1; i < 1000; i++)
        {
            previous = await session.SubmitAsync(Op('C', (i % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)), [previous], ct);
        }

        var expected = new StringBuilder("0");
        for (int i = 1; i < 1000; i++)
        {
            expected.Append('>').Append(i % 10);
        }

        Assert.That(Text(await previous.Result.WaitAsync(ct)), Is.EqualTo(expected.ToString()));
        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed), Is.EqualTo((1004L, 0L)));
    }

    [Test]
    public async Task A_throwing_handler_fails_its_task_with_type_and_whole_message_and_its_dependents_only()
    {
        var ct = Guard();
        string message = "bad template: " + new string('x', 20_000) + " (end)";
        await using var session = await AgentSession.StartAsync(Options(2), ct);
        var bad = await session.SubmitAsync(Op('T', message), cancellationToken: ct);
        var dependent = await session.SubmitAsync(Op('C', "never"), [bad], ct);
        var good = new List<AgentTaskHandle>();
        for (int i = 0; i < 50; i++)
        {
            good.Add(await session.SubmitAsync(Op('E', i.ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellationToken: ct));
        }

        var failure = (await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await bad.Result.WaitAsync(ct)))!;
        Assert.That(failure.ExceptionType, Is.EqualTo("System.InvalidOperationException"));
        Assert.That(failure.AgentMessage, Is.EqualTo(message));
        Assert.That(failure.Attempts, Is.EqualTo(1));
        Assert.That(failure.TaskId, Is.EqualTo(bad.Id));
        Assert.That(failure.AgentStackTrace, Does.Contain("Handle"));
        var dependentFailure = (await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await dependent.Result.WaitAsync(ct)))!;
        Assert.That(dependentFailure.ExceptionType, Is.EqualTo(AgentTaskFailedException.DependencyFailed));
        Assert.That(dependentFailure.AgentMessage, Does.Contain(bad.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        for (int i = 0; i < good.Count; i++)
        {
            Assert.That(Text(await good[i].Result.WaitAsync(ct)), Is.EqualTo(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var late = await session.SubmitAsync(Op('C', "late"), [bad], ct);
        Assert.That((await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await late.Result.WaitAsync(ct)))!.ExceptionType,
            Is.EqualTo(AgentTaskFailedException.DependencyFailed), "a dependency that already failed fails the new task at once");
        var summary = await session.CompleteAsync(ct);
        Assert.That((summary.Completed, summary.Failed), Is.EqualTo((50L, 3L)));
    }

    [Test]
    public async Task Every_agent_reads_one_MiB_of_session_data()
    {
        var ct = Guard();
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        long sum = data.Sum(b => (long)b);
        await using var session = await AgentSession.StartAsync(Options(3) is var o ? new AgentSessionOptions
        {
            Agents = o.Agents, Directory = o.Directory, AgentProcess = o.AgentProcess, SessionData = data,
        } : null!, ct);
        // Three readers that first sleep, submitted at once: least-loaded placement gives each agent one, and none
        // is idle beside unstarted work, so nothing is moved: each of the three agents reads the data.
        var readers = new List<AgentTaskHandle>();
        for (int i = 0; i < 3; i++)
        {
            var payload = SleepOp(300);
            payload[0] = (byte)'I';
            readers.Add(await session.SubmitAsync(payload, cancellationToken: ct));
        }

        var seen = new HashSet<int>();
        foreach (var h in readers)
        {
            var parts = Text(await h.Result.WaitAsync(ct)).Split(' ');
            Assert.That((parts[3], parts[4]), Is.EqualTo(((1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), sum.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            seen.Add(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.That(seen, Is.EquivalentTo(new[] { 0, 1, 2 }), "each of the three agents read the whole session data");
    }

    [Test]
    public async Task SubmitAsync_waits_while_the_window_is_full_and_a_waiting_submitter_is_released_by_DisposeAsync()
    {
        var ct = Guard();
        var session = await AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = 1,
            Directory = Dir,
            AgentProcess = AgentProgram(),
            MaxTasksInFlight = 2,
            StopTimeout = TimeSpan.FromSeconds(1),
        }, ct);
        var hung = new[]
        {
            await session.SubmitAsync(Op('H', 255), cancellationToken: ct), // hangs on every attempt
            await session.SubmitAsync(Op('H', 255), cancellationToken: ct),
        };
        ValueTask<AgentTaskHandle> third = session.SubmitAsync(Op('E', "late"), cancellationToken: ct);
        await Task.Delay(300, ct);
        Assert.That(third.IsCompleted, Is.False, "a third task was taken while two of MaxTasksInFlight = 2 were unfinished");
        await session.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await third.AsTask().WaitAsync(ct), "the waiting submitter must be released and told the session is gone");
        foreach (var h in hung)
        {
            var e = await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await h.Result.WaitAsync(ct));
            Assert.That(e!.ExceptionType, Is.EqualTo(AgentTaskFailedException.SessionStopped));
        }

        AssertNothingLeft();
    }

    [Test]
    public async Task A_dependency_from_another_session_is_an_ArgumentException_and_closed_sessions_refuse_tasks()
    {
        var ct = Guard();
        await using var first = await AgentSession.StartAsync(Options(1), ct);
        await using var second = await AgentSession.StartAsync(Options(1), ct);
        var foreign = await first.SubmitAsync(Op('E', "x"), cancellationToken: ct);
        await Assert.ThrowsAsync<ArgumentException>(async () => await second.SubmitAsync(Op('E'), [foreign], ct));
        await second.CompleteAsync(ct);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await second.SubmitAsync(Op('E'), cancellationToken: ct));
        await first.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await first.SubmitAsync(Op('E'), cancellationToken: ct));
    }

    [Test]
    public async Task Options_out_of_range_are_refused_with_the_option_named()
    {
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AgentSession.StartAsync(new AgentSessionOptions { Agents = 0, Directory = Dir })))!.ParamName, Is.EqualTo("Agents"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AgentSession.StartAsync(new AgentSessionOptions { Agents = 1, MaxAttempts = 0, Directory = Dir })))!.ParamName, Is.EqualTo("MaxAttempts"));
        Assert.That((await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AgentSession.StartAsync(new AgentSessionOptions { Agents = 1, LeaseTimeout = TimeSpan.Zero, Directory = Dir })))!.ParamName, Is.EqualTo("LeaseTimeout"));
        AssertNothingLeft();
    }

    [Test]
    public async Task A_program_that_cannot_start_fails_StartAsync_and_leaves_nothing()
    {
        var options = new AgentSessionOptions { Agents = 2, Directory = Dir, AgentProcess = new System.Diagnostics.ProcessStartInfo("/nonexistent/agent") };
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => AgentSession.StartAsync(options));
        Assert.That(e!.Message, Does.Contain("/nonexistent/agent"));
        AssertNothingLeft();
    }
}
