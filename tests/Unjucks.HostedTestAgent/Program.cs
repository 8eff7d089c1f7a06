// Coordinator: `Unjucks.HostedTestAgent --Job:Mode=run|wait [--Job:Tasks=N] [--Agents:Agents=N] [--Agents:Directory=D]`.
//   run:  submits Job:Tasks tasks ("task <i>"), prints "result <i> <agent result>" for each, then stops the host.
//   wait: prints "ready <session file> <agent pid> ..." once every agent has run a task, then waits for SIGTERM.
// Agent (started by the session): a hosted app whose handler (EchoHandler) gets a singleton and a scoped service.
// With UNJUCKS_TEST_AGENT_TRACING=1 the agent traces "Unjucks.Agents" (OpenTelemetry SDK) and its results carry
// the trace id and parent span id of the activity the handler runs in.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Unjucks.Agents;
using Unjucks.Agents.Hosting;
using Unjucks.HostedTestAgent;

var builder = Host.CreateApplicationBuilder(args);
if (AgentHost.IsAgentInvocation(args))
{
    builder.Services.AddSingleton(new Greeting("hello"));
    builder.Services.AddScoped<TaskScope>();
    builder.Services.AddAgentHandler<EchoHandler>();
    builder.Services.AddHostedService<StopNotice>();
    if (Environment.GetEnvironmentVariable("UNJUCKS_TEST_AGENT_TRACING") == "1")
    {
        var spans = new List<Activity>();
        builder.Services.AddSingleton(Sdk.CreateTracerProviderBuilder().AddSource("Unjucks.Agents").AddInMemoryExporter(spans).Build());
    }

    return await builder.Build().RunAgentHostAsync();
}

builder.Services.AddAgentSession(builder.Configuration.GetSection("Agents"));
builder.Services.AddHostedService<Job>();
await builder.Build().RunAsync();
return Environment.ExitCode;
