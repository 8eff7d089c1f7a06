using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Unjucks.Agents.Sessions.Transport;

namespace Unjucks.Agents;

/// <summary>The agent side of an <see cref="AgentSession"/>: call it from your program's <c>Main</c> when the
/// session started the process as an agent.</summary>
public static class AgentHost
{
    /// <summary>Exit code: the session stopped the agent (or the handler's token was cancelled).</summary>
    public const int ExitStopped = 0;

    /// <summary>Exit code: the arguments do not name a session (the process was not started by one).</summary>
    public const int ExitBadArguments = 2;

    /// <summary>Exit code: the session's coordinator is gone.</summary>
    public const int ExitCoordinatorGone = 3;

    /// <summary>True in a process a session started as an agent (its arguments end with the session's own).</summary>
    /// <param name="args">The program's arguments.</param>
    public static bool IsAgentInvocation(string[] args) => TryParse(args, out _, out _, out _);

    /// <summary>Runs tasks with <paramref name="handler"/> until the session stops; returns the process exit code.</summary>
    /// <remarks>While it runs, the process ignores SIGINT and SIGHUP: a terminal sends them (Ctrl+C, a closed
    /// window) to every process of its foreground group, agents included, and the coordinator, which receives them
    /// too, is the one that decides: it stops its agents, which then finish or hand back their task instead of dying
    /// half-way through it. An agent whose coordinator is gone exits on its own. SIGTERM and SIGKILL still end it.
    /// The process is renamed <c>unjucks-agent</c> (what ps, top and <c>dotnet-counters ps</c> show; its command
    /// line is unchanged), so that <c>dotnet-counters monitor -n</c> with the coordinator's name finds only the
    /// coordinator.</remarks>
    /// <param name="args">The program's arguments (the session's are found at their end).</param>
    /// <param name="handler">Runs one task; an exception fails that task only.</param>
    /// <param name="cancellationToken">Stops the agent (its running task is not committed and runs again elsewhere).</param>
    /// <returns><see cref="ExitStopped"/>, <see cref="ExitBadArguments"/> or <see cref="ExitCoordinatorGone"/>.</returns>
    public static Task<int> RunAsync(string[] args, AgentTaskHandler handler, CancellationToken cancellationToken = default) =>
        RunAsync(args, handler, logger: null, cancellationToken);

    /// <summary>Runs tasks with <paramref name="handler"/> until the session stops, writing the agent's own messages
    /// (a session file it cannot open, damaged shared memory) to <paramref name="logger"/>; see
    /// <see cref="RunAsync(string[], AgentTaskHandler, CancellationToken)"/>.</summary>
    /// <param name="args">The program's arguments (the session's are found at their end).</param>
    /// <param name="handler">Runs one task; an exception fails that task only.</param>
    /// <param name="logger">The agent's logger; null: one line on standard error. Either way the coordinator
    /// receives what the agent writes to its standard output and error, tagged with the agent's index.</param>
    /// <param name="cancellationToken">Stops the agent (its running task is not committed and runs again elsewhere).</param>
    /// <returns><see cref="ExitStopped"/>, <see cref="ExitBadArguments"/> or <see cref="ExitCoordinatorGone"/>.</returns>
    public static Task<int> RunAsync(string[] args, AgentTaskHandler handler, ILogger? logger, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(handler);
        if (!TryParse(args, out string path, out int index, out int generation))
        {
            AgentLog.Error(logger, $"Not started by an agent session: the arguments do not end with '{AgentProcesses.AgentFlag} <file> <index> <generation>'.");
            return Task.FromResult(ExitBadArguments);
        }

        ProcessName.TrySet(ProcessName.Agent);
        return RunIgnoringTerminalSignalsAsync(path, index, generation, handler, logger, cancellationToken);
    }

    private static async Task<int> RunIgnoringTerminalSignalsAsync(string path, int index, int generation, AgentTaskHandler handler, ILogger? logger, CancellationToken cancellationToken)
    {
        // Setting Cancel suppresses the default action (termination) for these two signals while registered.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, static context => context.Cancel = true);
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, static context => context.Cancel = true);
        return await AgentRuntime.RunAsync(path, index, generation, handler, logger, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParse(string[] args, out string path, out int index, out int generation)
    {
        path = "";
        index = generation = -1;
        if (args is null || args.Length < 4 || args[^4] != AgentProcesses.AgentFlag)
        {
            return false;
        }

        path = args[^3];
        return path.EndsWith(Sessions.SessionFiles.SegmentExtension, StringComparison.Ordinal)
            && int.TryParse(args[^2], NumberStyles.None, CultureInfo.InvariantCulture, out index)
            && int.TryParse(args[^1], NumberStyles.None, CultureInfo.InvariantCulture, out generation);
    }
}
