// A hosted coordinator and its hosted agents, one program. Run:
//
//     dotnet run --project samples/hosted -- [--Agents:Agents=2] [--Sample:Names=12]
//
// The coordinator greets every name on some agent and prints the greetings in order; each agent's handler gets a
// singleton (Greeter) and a scoped service (Counter, new for every task) from DI, and logs through ILogger (the
// coordinator's logger receives those lines). Ctrl+C or SIGTERM stops the coordinator, its agents and the session.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Unjucks.Agents;
using Unjucks.Agents.Hosting;
using Unjucks.Samples.Hosted;

var builder = Host.CreateApplicationBuilder(args);
if (AgentHost.IsAgentInvocation(args))
{
    builder.Services.AddSingleton<Greeter>();
    builder.Services.AddScoped<Counter>();
    builder.Services.AddAgentHandler<GreetHandler>();
    return await builder.Build().RunAgentHostAsync();
}

builder.Services.AddAgentSession(builder.Configuration.GetSection("Agents"), o => o.MaxAttempts = 3);
builder.Services.AddHostedService<GreetingJob>();
await builder.Build().RunAsync();
return Environment.ExitCode;
