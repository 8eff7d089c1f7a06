using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Unjucks.Agents.Hosting;

/// <summary>Generic Host and dependency injection for agent sessions: the coordinator side
/// (<see cref="AddAgentSession(IServiceCollection, Action{AgentSessionOptions}?)"/>) and the agent side
/// (<see cref="AddAgentHandler{THandler}"/> with <see cref="RunAgentHostAsync"/>).</summary>
public static class AgentHostingExtensions
{
    /// <summary>The logger category of the coordinator's session (agents' forwarded lines and alerts).</summary>
    public const string SessionLoggerCategory = "Unjucks.Agents.AgentSession";

    /// <summary>The logger category of a hosted agent's own messages.</summary>
    public const string AgentLoggerCategory = "Unjucks.Agents.AgentHost";

    /// <summary>Registers an <see cref="AgentSession"/> started when the host starts and disposed (agents stopped,
    /// session files removed) when it stops, with <see cref="IOptions{AgentSessionOptions}"/> as its options. Unless
    /// the options set them, the session uses the host's <see cref="ILoggerFactory"/>, <c>IMeterFactory</c> and
    /// <see cref="TimeProvider"/>. Resolve <see cref="AgentSession"/> once the host has started, or take
    /// <see cref="HostedAgentSession"/> and await <see cref="HostedAgentSession.WhenStarted"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets options in code (after any bound from configuration).</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">A session was registered already.</exception>
    public static IServiceCollection AddAgentSession(this IServiceCollection services, Action<AgentSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(HostedAgentSession)))
        {
            throw new InvalidOperationException("AddAgentSession was called twice: a host runs one agent session.");
        }

        var optionsBuilder = services.AddOptions<AgentSessionOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        services.AddSingleton(new HostedAgentSession());
        services.AddSingleton(sp => sp.GetRequiredService<HostedAgentSession>().Session);
        services.AddHostedService<AgentSessionService>();
        return services;
    }

    /// <summary>Registers an agent session (see <see cref="AddAgentSession(IServiceCollection, Action{AgentSessionOptions}?)"/>)
    /// whose options are bound from <paramref name="configuration"/> (e.g. <c>builder.Configuration.GetSection("Agents")</c>
    /// with keys <c>Agents</c>, <c>MaxAttempts</c>, <c>StallTimeout</c> as "00:00:02", ...), then <paramref name="configure"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The section holding <see cref="AgentSessionOptions"/>' properties.</param>
    /// <param name="configure">Sets options in code, after the bound ones.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddAgentSession(this IServiceCollection services, IConfiguration configuration, Action<AgentSessionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgentSessionOptions>().Bind(configuration);
        return services.AddAgentSession(configure);
    }

    /// <summary>Makes this host an agent whose tasks run on <typeparamref name="THandler"/>, resolved from a new scope
    /// per task. Call it when <see cref="AgentHost.IsAgentInvocation"/> is true, then run the host with
    /// <see cref="RunAgentHostAsync"/>. It also makes SIGTERM the agent's only stop signal (SIGINT and SIGHUP, which a
    /// terminal sends to every process of its group, are left to the coordinator, which stops its agents), and writes
    /// console log entries on one line each, so that the coordinator's logger receives each entry whole, at its level.</summary>
    /// <typeparam name="THandler">The handler; registered as a scoped service unless it is registered already.</typeparam>
    /// <param name="services">The agent host's services.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="InvalidOperationException">Another handler type was registered already (an agent has one handler).</exception>
    public static IServiceCollection AddAgentHandler<THandler>(this IServiceCollection services)
        where THandler : class, IAgentTaskHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(AgentHandlerRegistration));
        if (existing?.ImplementationInstance is AgentHandlerRegistration registered)
        {
            return registered.HandlerType == typeof(THandler) ? services
                : throw new InvalidOperationException($"An agent runs one handler: {registered.HandlerType.Name} is registered already, so {typeof(THandler).Name} cannot be. Dispatch on the task's payload inside one handler.");
        }

        services.AddSingleton(new AgentHandlerRegistration(typeof(THandler)));
        services.TryAddScoped<THandler>();
        services.AddSingleton<IHostLifetime, AgentHostLifetime>();
        // Naming the simple formatter makes the console logger use SimpleConsoleFormatterOptions (with no name it
        // rebuilds them from the obsolete ConsoleLoggerOptions properties, which have no SingleLine).
        services.Configure<ConsoleLoggerOptions>(o => o.FormatterName ??= ConsoleFormatterNames.Simple);
        services.Configure<SimpleConsoleFormatterOptions>(o => o.SingleLine = true);
        return services;
    }

    /// <summary>Runs this host as an agent of the session that started the process: starts the host, runs tasks with
    /// the handler of <see cref="AddAgentHandler{THandler}"/> until the session stops the agent, the host stops
    /// (SIGTERM, <see cref="IHostApplicationLifetime.StopApplication"/>) or <paramref name="cancellationToken"/> is
    /// cancelled, then stops and disposes the host. A task running when the agent stops is not committed and runs
    /// again on another agent.</summary>
    /// <param name="host">A host built with <see cref="AddAgentHandler{THandler}"/>.</param>
    /// <param name="cancellationToken">Stops the agent.</param>
    /// <returns>The process exit code: <see cref="AgentHost.ExitStopped"/>, <see cref="AgentHost.ExitBadArguments"/>
    /// (the process was not started by a session) or <see cref="AgentHost.ExitCoordinatorGone"/>.</returns>
    /// <exception cref="InvalidOperationException">No handler was registered with <see cref="AddAgentHandler{THandler}"/>.</exception>
    public static async Task<int> RunAgentHostAsync(this IHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        try
        {
            var registration = host.Services.GetService<AgentHandlerRegistration>()
                ?? throw new InvalidOperationException("RunAgentHostAsync needs a handler: call builder.Services.AddAgentHandler<THandler>() before Build().");
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(AgentLoggerCategory);
            string[] args = Environment.GetCommandLineArgs(); // the session's arguments are at the end, whatever came first
            if (!AgentHost.IsAgentInvocation(args))
            {
                return await AgentHost.RunAsync(args, static (_, _) => default, logger, cancellationToken).ConfigureAwait(false); // says why, ExitBadArguments
            }

            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
            var scopes = host.Services.GetRequiredService<IServiceScopeFactory>();
            int code = await AgentHost.RunAsync(args, (task, token) => HandleInScopeAsync(scopes, registration.HandlerType, task, token), logger, stop.Token)
                .ConfigureAwait(false);
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false); // bounded by HostOptions.ShutdownTimeout
            return code;
        }
        finally
        {
            if (host is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                host.Dispose();
            }
        }
    }

    private static async ValueTask<ReadOnlyMemory<byte>> HandleInScopeAsync(IServiceScopeFactory scopes, Type handlerType, AgentTask task, CancellationToken token)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            var handler = (IAgentTaskHandler)scope.ServiceProvider.GetRequiredService(handlerType);
            return await handler.HandleAsync(task, token).ConfigureAwait(false);
        }
    }
}

/// <summary>Which handler <see cref="AgentHostingExtensions.AddAgentHandler{THandler}"/> registered.</summary>
internal sealed record AgentHandlerRegistration(Type HandlerType);
