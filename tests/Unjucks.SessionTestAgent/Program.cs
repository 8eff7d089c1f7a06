// Agent program of the AgentSession tests. The payload's first byte picks what the handler does:
//   'E' echo the rest                     'S' int32 size, int32 seed: deterministic bytes of that size
//   'C' dependency results joined by ',' then '>' then the rest      'T' throw InvalidOperationException(rest)
//   'K' byte n: SIGKILL itself while attempt <= n, then echo          'H' byte n: hang (ignoring the token) while attempt <= n
//   'I' [int32 ms: sleep first] "agent attempt pid sessionDataLength sessionDataSum"   'A' the agent activity's trace id and parent span id
//   'P' print the rest to stdout and stderr, return empty             'L' int32 ms: sleep, then echo nothing
//   'W' int32 ms: sleep, then echo the rest       'O' int32 ms: sleep; return "<start> <end>" (Stopwatch timestamps, one clock for all processes)
//   'X' a cost that rises or falls with the tasks running at once (see ConcurrencyCostOp.cs)
// With the first argument "coordinator <dir> <agents> <tasks>" it is a coordinator of its own (for the test that kills one).
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Unjucks.Agents;

if (args.Length >= 4 && args[0] == "coordinator")
{
    return await Coordinator.RunAsync(args[1], int.Parse(args[2]), int.Parse(args[3]));
}

if (!AgentHost.IsAgentInvocation(args))
{
    Console.Error.WriteLine("usage: started by an AgentSession, or 'coordinator <dir> <agents> <tasks>'");
    return 2;
}

using var listener = new ActivityListener
{
    ShouldListenTo = s => s.Name == "Unjucks.Agents",
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
};
ActivitySource.AddActivityListener(listener);
return await AgentHost.RunAsync(args, Handlers.Handle);

internal static partial class Handlers
{
    public static async ValueTask<ReadOnlyMemory<byte>> Handle(AgentTask task, CancellationToken ct)
    {
        var p = task.Payload;
        if (p.Length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var rest = p[1..];
        switch ((char)p.Span[0])
        {
            case 'E':
                return rest.ToArray();
            case 'S':
                return Unjucks.SessionTestAgent.TestPattern.Of(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), BinaryPrimitives.ReadInt32LittleEndian(rest.Span[4..]));
            case 'C':
            {
                var sb = new StringBuilder();
                for (int i = 0; i < task.DependencyResults.Count; i++)
                {
                    sb.Append(i == 0 ? "" : ",").Append(Encoding.UTF8.GetString(task.DependencyResults[i].Span));
                }

                return Encoding.UTF8.GetBytes(sb.Append('>').Append(Encoding.UTF8.GetString(rest.Span)).ToString());
            }

            case 'T':
                throw new InvalidOperationException(Encoding.UTF8.GetString(rest.Span));
            case 'K':
                if (task.Attempt <= rest.Span[0])
                {
                    Kill(Environment.ProcessId, 9);
                }

                return rest[1..].ToArray();
            case 'H':
                if (task.Attempt <= rest.Span[0])
                {
                    Thread.Sleep(Timeout.Infinite);
                }

                return rest[1..].ToArray();
            case 'I':
            {
                if (rest.Length >= 4)
                {
                    await Task.Delay(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), ct);
                }

                long sum = 0;
                foreach (byte b in task.SessionData.Span)
                {
                    sum += b;
                }

                return Encoding.UTF8.GetBytes($"{task.AgentIndex} {task.Attempt} {Environment.ProcessId} {task.SessionData.Length} {sum}");
            }

            case 'A':
                return Encoding.UTF8.GetBytes($"{Activity.Current?.TraceId.ToHexString()} {Activity.Current?.ParentSpanId.ToHexString()}");
            case 'P':
                Console.Out.WriteLine(Encoding.UTF8.GetString(rest.Span));
                Console.Error.WriteLine(Encoding.UTF8.GetString(rest.Span));
                return ReadOnlyMemory<byte>.Empty;
            case 'L':
                await Task.Delay(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), ct);
                return ReadOnlyMemory<byte>.Empty;
            case 'O':
            {
                long start = Stopwatch.GetTimestamp();
                await Task.Delay(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), ct);
                return Encoding.UTF8.GetBytes($"{start} {Stopwatch.GetTimestamp()}");
            }

            case 'X':
                return ConcurrencyCostOp.Run(task, rest);
            case 'G':
                // After an optional wait (so that a batch spreads over the agents), the index of this process's last
                // full blocking GC (0: none yet): a coordinated GC round is one.
                if (rest.Length >= 4)
                {
                    await Task.Delay(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), ct);
                }

                return Encoding.UTF8.GetBytes($"{task.AgentIndex} {GC.GetGCMemoryInfo(GCKind.FullBlocking).Index}");
            case 'W':
                await Task.Delay(BinaryPrimitives.ReadInt32LittleEndian(rest.Span), ct);
                return rest[4..].ToArray();
            default:
                throw new ArgumentException($"Unknown test op '{(char)p.Span[0]}'.");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}

internal static class Coordinator
{
    public static async Task<int> RunAsync(string directory, int agents, int tasks)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!);
        psi.ArgumentList.Add(typeof(Coordinator).Assembly.Location);
        await using var session = await AgentSession.StartAsync(new AgentSessionOptions { Agents = agents, Directory = directory, AgentProcess = psi });
        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < tasks; i++)
        {
            byte[] payload = new byte[5];
            payload[0] = (byte)'L';
            BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(1), 60_000);
            handles.Add(await session.SubmitAsync(payload));
        }

        while (session.AgentProcessIds.Any(pid => pid == 0))
        {
            await Task.Delay(10);
        }

        Console.Out.WriteLine("pids " + string.Join(' ', session.AgentProcessIds));
        Console.Out.Flush();
        await Task.Delay(Timeout.Infinite);
        return 0;
    }
}
