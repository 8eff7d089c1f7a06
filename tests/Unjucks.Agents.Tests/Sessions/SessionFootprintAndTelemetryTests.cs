using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Bounded shared memory, the Meter and ActivitySource, and agents' output lines as log lines.</summary>
[NonParallelizable] // the listeners are process-wide.
public sealed class SessionFootprintAndTelemetryTests : SessionTestBase
{
    [Test]
    public async Task A_million_task_session_uses_the_same_dev_shm_bytes_as_a_thousand_task_one()
    {
        long small = await MaxFootprint(1_000);
        long large = await MaxFootprint(1_000_000);
        TestContext.Out.WriteLine($"/dev/shm bytes at most: {small:N0} for 1,000 tasks, {large:N0} for 1,000,000");
        Assert.That(large, Is.EqualTo(small), "the session's files grew with the task count");
        Assert.That(small, Is.GreaterThan(0));
        AssertNothingLeft();
    }

    private async Task<long> MaxFootprint(int tasks)
    {
        var ct = Guard(600);
        long max = 0;
        await using var session = await AgentSession.StartAsync(Options(2), ct);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                max = Math.Max(max, Bytes());
                await Task.Delay(20);
            }
        });
        var last = default(AgentTaskHandle);
        for (int i = 0; i < tasks; i++)
        {
            last = await session.SubmitAsync(ReadOnlyMemory<byte>.Empty, cancellationToken: ct);
        }

        var summary = await session.CompleteAsync(ct);
        max = Math.Max(max, Bytes());
        await sampling.CancelAsync();
        await sampler;
        Assert.That((summary.Completed, summary.Failed, summary.TasksPerAgent.Sum()), Is.EqualTo(((long)tasks, 0L, (long)tasks)));
        Assert.That(last!.Id, Is.EqualTo(tasks - 1));
        return max;
    }

    private long Bytes() => new DirectoryInfo(Dir).EnumerateFiles().Sum(f =>
    {
        try
        {
            return f.Length;
        }
        catch (FileNotFoundException)
        {
            return 0L;
        }
    });

    [Test]
    public async Task The_meter_and_activities_are_published_and_the_agents_activity_is_a_child_of_the_submitters()
    {
        var ct = Guard();
        var seen = new ConcurrentDictionary<string, double>();
        using var meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Unjucks.Agents")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meters.SetMeasurementEventCallback<long>((i, v, _, _) => seen.AddOrUpdate(i.Name, v, (_, old) => old + v));
        meters.SetMeasurementEventCallback<double>((i, v, _, _) => seen.AddOrUpdate(i.Name, v, (_, old) => old + v));
        meters.SetMeasurementEventCallback<int>((i, v, _, _) => seen.AddOrUpdate(i.Name, v, (_, old) => old + v));
        meters.Start();
        var producers = new ConcurrentDictionary<string, Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Unjucks.Agents" || s.Name == "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = a =>
            {
                if (a.OperationName == "unjucks.agents.task")
                {
                    producers[a.SpanId.ToHexString()] = a;
                }
            },
        };
        ActivitySource.AddActivityListener(activities);
        using var testSource = new ActivitySource("test");

        await using var session = await AgentSession.StartAsync(Options(2), ct);
        using (var parent = testSource.StartActivity("submitter"))
        {
            Assert.That(parent, Is.Not.Null);
            var h = await session.SubmitAsync(Op('A'), cancellationToken: ct);
            Assert.That(Activity.Current, Is.SameAs(parent), "SubmitAsync leaves the caller's current activity alone");
            string[] ids = Text(await h.Result.WaitAsync(ct)).Split(' ');
            Assert.That(ids[0], Is.EqualTo(parent!.TraceId.ToHexString()), "the agent's activity is in the submitter's trace");
            Assert.That(producers.Keys, Does.Contain(ids[1]), "the agent's activity's parent is the task's activity");
            Assert.That(producers[ids[1]].ParentSpanId, Is.EqualTo(parent.SpanId), "the task's activity is a child of the submitter's");
        }

        var failed = await session.SubmitAsync(Op('T', "x"), cancellationToken: ct);
        await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await failed.Result.WaitAsync(ct));
        await session.CompleteAsync(ct);
        meters.RecordObservableInstruments();
        Assert.That(seen.GetValueOrDefault("unjucks.agents.tasks.completed"), Is.EqualTo(1));
        Assert.That(seen.GetValueOrDefault("unjucks.agents.tasks.failed"), Is.EqualTo(1));
        Assert.That(seen.Keys, Is.SupersetOf(new[]
        {
            "unjucks.agents.task.queue_time", "unjucks.agents.task.pickup_latency", "unjucks.agents.task.duration",
            "unjucks.agents.tasks.in_flight", "unjucks.agents.coordination.overhead", "unjucks.agents.agents.alive",
            "unjucks.agents.memory.reserved", "unjucks.agents.tasks.waiting_for_memory",
        }));
    }

    [Test]
    public async Task Agents_output_and_error_lines_reach_the_logger_tagged_with_the_agent_index()
    {
        var ct = Guard();
        var logger = new ListLogger();
        var options = Options(2);
        await using (var session = await AgentSession.StartAsync(new AgentSessionOptions { Agents = 2, Directory = Dir, AgentProcess = options.AgentProcess, Logger = logger }, ct))
        {
            var h = await session.SubmitAsync(Op('P', "hello from a task"), cancellationToken: ct);
            await h.Result.WaitAsync(ct);
            await session.CompleteAsync(ct);
        }

        // Disposal waited for the agents' exit, which ends their output streams: every line has arrived.
        var lines = logger.Lines.Where(l => l.Message.Contains("hello from a task", StringComparison.Ordinal)).ToList();
        Assert.That(lines, Has.Count.EqualTo(2), string.Join("\n", logger.Lines));
        Assert.That(lines.Select(l => l.Level), Is.EquivalentTo(new[] { LogLevel.Information, LogLevel.Warning }));
        Assert.That(lines, Has.All.Matches<(LogLevel Level, string Message)>(l => l.Message.StartsWith("[agent ", StringComparison.Ordinal)));
    }

    [Test]
    public async Task Agent_processes_are_named_unjucks_agent_so_tools_tell_them_from_the_coordinator()
    {
        var ct = Guard();
        await using var session = await AgentSession.StartAsync(Options(2), ct);
        await (await session.SubmitAsync(Op('E', "x"), cancellationToken: ct)).Result.WaitAsync(ct);
        Assert.That(session.AgentProcessIds.Select(pid => File.ReadAllText($"/proc/{pid}/comm").TrimEnd('\n')), Is.All.EqualTo("unjucks-agent"));
        Assert.That(File.ReadAllText("/proc/self/comm").TrimEnd('\n'), Is.Not.EqualTo("unjucks-agent"), "the coordinator keeps its own name");
    }

    [TestCase("warn: Category[3] something odd", LogLevel.Warning, "Category[3] something odd")]
    [TestCase("fail: C[0] broke", LogLevel.Error, "C[0] broke")]
    [TestCase("crit: C[0] down", LogLevel.Critical, "C[0] down")]
    [TestCase("info: C[0] fine", LogLevel.Information, "C[0] fine")]
    [TestCase("dbug: C[0] detail", LogLevel.Debug, "C[0] detail")]
    [TestCase("trce: C[0] more", LogLevel.Trace, "C[0] more")]
    public void A_console_logger_line_from_an_agent_keeps_its_level(string line, LogLevel level, string text)
    {
        Assert.That(Unjucks.Agents.Sessions.Transport.AgentLogLine.TryParseLevel(line, out var parsed, out var rest), Is.True);
        Assert.That((parsed, rest), Is.EqualTo((level, text)));
    }

    [TestCase("")]
    [TestCase("warn")]
    [TestCase("warn:")]
    [TestCase("warning: not the console logger")]
    [TestCase("note: four letters but no level")]
    [TestCase("plain output")]
    public void Other_agent_lines_are_not_given_a_level(string line)
    {
        Assert.That(Unjucks.Agents.Sessions.Transport.AgentLogLine.TryParseLevel(line, out _, out var rest), Is.False);
        Assert.That(rest, Is.EqualTo(line));
    }

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue((logLevel, formatter(state, exception)));
    }
}
