// A tiny build farm on agent processes: "compile" every module on some agent, then "link" the objects in order,
// and "package" the linked image together with the docs (a diamond). Each result is bytes; the linker receives
// its dependencies' results in the order it named them. Run:
//
//     dotnet run --project samples/agents -- [agents] [modules]
//
// The same program is the coordinator (started by you) and every agent (started by the session, which adds its
// own arguments: AgentHost.IsAgentInvocation tells the two apart).
using System.Security.Cryptography;
using System.Text;
using Unjucks.Agents;

if (AgentHost.IsAgentInvocation(args))
{
    return await AgentHost.RunAsync(args, BuildStep.RunAsync);
}

int agents = args.Length > 0 ? int.Parse(args[0]) : Math.Min(4, Environment.ProcessorCount);
int modules = args.Length > 1 ? int.Parse(args[1]) : 100;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

// Session data: read by every agent through AgentTask.SessionData (no extra command-line arguments).
byte[] toolchain = Encoding.UTF8.GetBytes("toolchain=sample-cc 1.0");
await using AgentSession session = await AgentSession.StartAsync(
    new AgentSessionOptions { Agents = agents, SessionData = toolchain }, cancel.Token);

var objects = new List<AgentTaskHandle>(modules);
for (int i = 0; i < modules; i++)
{
    // SubmitAsync waits when MaxTasksInFlight tasks are already out (back-pressure), so memory stays bounded.
    objects.Add(await session.SubmitAsync(BuildStep.Compile($"module{i:D3}"), cancellationToken: cancel.Token));
}

AgentTaskHandle docs = await session.SubmitAsync(BuildStep.Compile("docs"), cancellationToken: cancel.Token);
AgentTaskHandle image = await session.SubmitAsync(BuildStep.Link(), objects, cancel.Token);
AgentTaskHandle package = await session.SubmitAsync(BuildStep.Package(), [image, docs], cancel.Token);

AgentSessionSummary summary = await session.CompleteAsync(cancel.Token);
try
{
    string result = Encoding.UTF8.GetString((await package.Result).Span);
    string expected = BuildStep.Expected(toolchain, modules);
    Console.WriteLine(result);
    Console.WriteLine(
        $"{summary.Completed} tasks on {agents} agents in {summary.Elapsed.TotalMilliseconds:F0} ms " +
        $"(latency p50 {summary.LatencyP50.TotalMilliseconds:F1} ms, agents starting included; {summary.AgentRestarts} restarts, {summary.Failed} failed)");
    if (result != expected)
    {
        Console.Error.WriteLine($"wrong result: expected {expected}");
        return 1;
    }

    return 0;
}
catch (AgentTaskFailedException e)
{
    // A failed task names its own exception type and message, or AgentDied / LeaseTimeout / DependencyFailed.
    Console.Error.WriteLine($"task {e.TaskId} failed after {e.Attempts} attempt(s): {e.ExceptionType}: {e.AgentMessage}");
    return 1;
}

/// <summary>The build steps: what a payload means and what its result is.</summary>
internal static class BuildStep
{
    public static byte[] Compile(string module) => Encoding.UTF8.GetBytes("compile " + module);

    public static byte[] Link() => Encoding.UTF8.GetBytes("link");

    public static byte[] Package() => Encoding.UTF8.GetBytes("package");

    /// <summary>The agent's handler: runs one step; an exception fails that task only.</summary>
    public static ValueTask<ReadOnlyMemory<byte>> RunAsync(AgentTask task, CancellationToken cancellationToken)
    {
        string step = Encoding.UTF8.GetString(task.Payload.Span);
        byte[] result = step switch
        {
            "link" => Hash("image", task.DependencyResults),
            "package" => Encoding.UTF8.GetBytes(
                $"package {Convert.ToHexString(task.DependencyResults[0].Span)[..16]} + docs {Convert.ToHexString(task.DependencyResults[1].Span)[..16]}"),
            _ when step.StartsWith("compile ", StringComparison.Ordinal) => Hash(step, [task.SessionData]),
            _ => throw new ArgumentException($"unknown build step '{step}'"),
        };
        return ValueTask.FromResult<ReadOnlyMemory<byte>>(result);
    }

    /// <summary>What the package must be, computed here without agents, to check the session's answer.</summary>
    public static string Expected(byte[] toolchain, int modules)
    {
        var objects = new List<ReadOnlyMemory<byte>>();
        for (int i = 0; i < modules; i++)
        {
            objects.Add(Hash($"compile module{i:D3}", [toolchain]));
        }

        byte[] image = Hash("image", objects);
        byte[] docs = Hash("compile docs", [toolchain]);
        return $"package {Convert.ToHexString(image)[..16]} + docs {Convert.ToHexString(docs)[..16]}";
    }

    private static byte[] Hash(string name, IReadOnlyList<ReadOnlyMemory<byte>> inputs)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(name));
        foreach (ReadOnlyMemory<byte> input in inputs)
        {
            hash.AppendData(input.Span);
        }

        return hash.GetHashAndReset();
    }
}
