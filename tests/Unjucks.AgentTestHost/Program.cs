// Agent process of the session benchmarks (bench/Unjucks.Benchmarks/Sessions): started by an AgentSession, its
// handler returns its payload (echo).
using Unjucks.Agents;

if (AgentHost.IsAgentInvocation(args))
{
    return await AgentHost.RunAsync(args, static (task, _) => ValueTask.FromResult(task.Payload));
}

Console.Error.WriteLine("Unjucks.AgentTestHost: started without a session's arguments; it is an agent of the session benchmarks, started by them.");
return AgentHost.ExitBadArguments;
