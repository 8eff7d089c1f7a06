using Microsoft.Extensions.Logging;

namespace Unjucks.Agents.Sessions.Transport;

/// <summary>The agent side's few messages: to the agent's logger when it has one, else one line on standard error
/// (which the coordinator reads and forwards to its own logger, tagged with the agent's index).</summary>
internal static class AgentLog
{
    internal static void Error(ILogger? logger, string message)
    {
        if (logger is null)
        {
            Console.Error.WriteLine(message);
        }
        else
        {
            logger.LogError("{Message}", message);
        }
    }
}
