using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Hosting.Tests;

/// <summary>The registrations, in this process: options bound from configuration, the session's life with the
/// host's, and the mistakes a user can make (two sessions, two handlers, no handler, not started by a session).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostIntegrationTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task OptionsBoundFromConfigurationRunTheSessionAndStoppingTheHostRemovesItsFiles(CancellationToken ct)
    {
        using var folder = SessionFolder.Create();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agents:Agents"] = "2",
            ["Agents:Directory"] = folder.Path,
            ["Agents:MaxAttempts"] = "5",
            ["Agents:StallTimeout"] = "00:00:07",
        });
        builder.Services.AddAgentSession(builder.Configuration.GetSection("Agents"), o => o.AgentProcess = ChildProcess.StartInfo("Unjucks.HostedTestAgent", []));
        using IHost host = builder.Build();

        Assert.That(() => host.Services.GetRequiredService<AgentSession>(), Throws.InstanceOf<InvalidOperationException>()
            .With.Message.Contains("starts with the host"), "the session cannot be used before the host starts it");
        Task<AgentSession> whenStarted = host.Services.GetRequiredService<HostedAgentSession>().WhenStarted;
        Assert.That(whenStarted.IsCompleted, Is.False);

        await host.StartAsync(ct);
        AgentSession session = host.Services.GetRequiredService<AgentSession>();
        AgentSessionOptions bound = host.Services.GetRequiredService<IOptions<AgentSessionOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(whenStarted.Result, Is.SameAs(session));
            Assert.That((bound.Agents, bound.MaxAttempts, bound.StallTimeout, bound.Directory), Is.EqualTo((2, 5, TimeSpan.FromSeconds(7), folder.Path)));
            Assert.That(session.AgentProcessIds, Has.Count.EqualTo(2), "two agent processes, as configured");
            Assert.That(session.FilePath, Does.StartWith(folder.Path + "/"));
        });

        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < 8; i++)
        {
            handles.Add(await session.SubmitAsync(Encoding.UTF8.GetBytes($"task {i}"), cancellationToken: ct));
        }

        for (int i = 0; i < handles.Count; i++)
        {
            string result = Encoding.UTF8.GetString((await handles[i].Result.WaitAsync(ct)).Span);
            Assert.That(result, Does.StartWith($"hello task {i} pid="));
        }

        IReadOnlyList<int> agents = session.AgentProcessIds;
        await host.StopAsync(ct);
        Assert.Multiple(async () =>
        {
            Assert.That(folder.Leftovers(), Is.Empty, "stopping the host disposed the session and removed its files");
            Assert.That(await folder.WaitForNoAgentsAsync(TimeSpan.FromSeconds(20)), Is.Empty);
            Assert.That(agents.Where(Signals.IsRunning), Is.Empty);
        });
    }

    [Test]
    public void AHostRunsOneSession()
    {
        var services = new ServiceCollection();
        services.AddAgentSession();
        Assert.That(() => services.AddAgentSession(), Throws.InvalidOperationException.With.Message.Contains("twice"));
    }

    [Test]
    public void AnAgentRunsOneHandlerType()
    {
        var services = new ServiceCollection();
        services.AddAgentHandler<FirstHandler>();
        Assert.That(() => services.AddAgentHandler<FirstHandler>(), Throws.Nothing, "the same handler twice is the same registration");
        Assert.That(() => services.AddAgentHandler<SecondHandler>(), Throws.InvalidOperationException
            .With.Message.Contains(nameof(FirstHandler)).And.Message.Contains(nameof(SecondHandler)));
        Assert.That(services.Count(d => d.ServiceType == typeof(FirstHandler)), Is.EqualTo(1));
        Assert.That(services.Single(d => d.ServiceType == typeof(FirstHandler)).Lifetime, Is.EqualTo(ServiceLifetime.Scoped), "a new handler per task");
    }

    [Test]
    public void RunAgentHostAsyncWithoutAHandlerSaysWhatToCall()
    {
        var host = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true }).Build();
        Assert.That(async () => await host.RunAgentHostAsync(), Throws.InvalidOperationException.With.Message.Contains("AddAgentHandler"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RunAgentHostAsyncInAProcessNoSessionStartedReturnsTheBadArgumentsCode(CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAgentHandler<FirstHandler>();
        int code = await builder.Build().RunAgentHostAsync(ct);
        Assert.That(code, Is.EqualTo(AgentHost.ExitBadArguments));
    }

    private sealed class FirstHandler : IAgentTaskHandler
    {
        public ValueTask<ReadOnlyMemory<byte>> HandleAsync(AgentTask task, CancellationToken cancellationToken) => ValueTask.FromResult(task.Payload);
    }

    private sealed class SecondHandler : IAgentTaskHandler
    {
        public ValueTask<ReadOnlyMemory<byte>> HandleAsync(AgentTask task, CancellationToken cancellationToken) => ValueTask.FromResult(task.Payload);
    }
}
