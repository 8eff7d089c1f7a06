using Microsoft.Extensions.Logging;

namespace Unjucks.Agents.Sessions.Transport;

/// <summary>Reads the level of a line written by Microsoft.Extensions.Logging's console logger in an agent (its
/// simple formatter starts each entry with a four-letter level and ": "), so that the coordinator's logger receives
/// an agent's warnings as warnings.</summary>
internal static class AgentLogLine
{
    internal static bool TryParseLevel(string line, out LogLevel level, out string text)
    {
        level = LogLevel.None;
        text = line;
        if (line.Length < 6 || line[4] != ':' || line[5] != ' ')
        {
            return false;
        }

        level = line.AsSpan(0, 4) switch
        {
            "trce" => LogLevel.Trace,
            "dbug" => LogLevel.Debug,
            "info" => LogLevel.Information,
            "warn" => LogLevel.Warning,
            "fail" => LogLevel.Error,
            "crit" => LogLevel.Critical,
            _ => LogLevel.None,
        };
        if (level == LogLevel.None)
        {
            return false;
        }

        text = line[6..];
        return true;
    }
}
