// Agent process for the Unjucks.Agents.Processes tests and benchmarks.
//   Unjucks.AgentTestHost <AgentLaunch arguments> [--mode f|throw|hang|silent|crash] [--work-us N]
// Modes:
//   f       result = TestTasks.ResultOf(id) after about N µs of busy work (default 0);
//   throw   as f, but throws for ids with id % 10 == 3 (message "boom <id>");
//   hang    as f for its first 3 tasks; the 4th never returns (a hung handler, for the lease time-out);
//   silent  writes "silent agent: never registering" to stderr and sleeps (never registers);
//   crash   writes "crash agent: exiting" to stderr and exits with code 3 before registering.
// Payloads, when given, are added to the result: result = ResultOf(id) + sum of payload bytes.
// Started by an AgentSession (the session benchmarks): an agent whose handler returns its payload (echo).
using System.Diagnostics;
using System.Globalization;
using Unjucks.Agents;
using Unjucks.Agents.Processes;

if (AgentHost.IsAgentInvocation(args))
{
    return await AgentHost.RunAsync(args, static (task, _) => ValueTask.FromResult(task.Payload));
}

AgentLaunch launch = AgentLaunch.Parse(args, out IReadOnlyList<string> rest);
string mode = "f";
int workUs = 0;
for (int i = 0; i + 1 < rest.Count; i += 2)
{
    switch (rest[i])
    {
        case "--mode":
            mode = rest[i + 1];
            break;
        case "--work-us":
            workUs = int.Parse(rest[i + 1], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine("unknown option " + rest[i]);
            return 2;
    }
}

switch (mode)
{
    case "silent":
        Console.Error.WriteLine("silent agent: never registering");
        Console.Error.Flush();
        Thread.Sleep(TimeSpan.FromMinutes(2));
        return 0;
    case "crash":
        Console.Error.WriteLine("crash agent: exiting");
        Console.Error.Flush();
        return 3;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
await JobAgentHost.RunAsync(new AgentHostOptions(launch), new TestHandler(mode == "throw", workUs, hangAfter: mode == "hang" ? 3 : -1), cts.Token);
return 0;

/// <summary>The test handler (see the file header).</summary>
internal sealed class TestHandler(bool throwSome, int workUs, int hangAfter) : ITaskHandler
{
    private readonly long _workTicks = Stopwatch.Frequency * workUs / 1_000_000;
    private int _executed;

    public ValueTask<long> ExecuteAsync(TaskContext context, CancellationToken cancellationToken)
    {
        if (hangAfter >= 0 && Interlocked.Increment(ref _executed) > hangAfter)
        {
            Thread.Sleep(Timeout.Infinite); // hung: ignores cancellation, as a real stuck handler would
        }

        if (_workTicks > 0)
        {
            long until = Stopwatch.GetTimestamp() + _workTicks;
            while (Stopwatch.GetTimestamp() < until)
            {
            }
        }

        if (throwSome && context.TaskId % 10 == 3)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"boom {context.TaskId}"));
        }

        long sum = 0;
        foreach (byte b in context.Payload.Span)
        {
            sum += b;
        }

        return ValueTask.FromResult(ResultOf(context.TaskId) + sum);
    }

    /// <summary>The deterministic result of task <paramref name="id"/> (the tests check every one).</summary>
    public static long ResultOf(long id) => (id * 1_000_003) ^ 0x5DEECE66DL;
}
