namespace Unjucks.Agents.Processes;

/// <summary>An agent process did not come up: it exited or did not register within the startup timeout.</summary>
internal sealed class AgentStartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentStartupException()
        : this("An agent process did not start.")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    public AgentStartupException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public AgentStartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one agent.</summary>
    /// <param name="agentIndex">The agent that did not come up.</param>
    /// <param name="exitCode">Its exit code, or null when it was still running (and was killed).</param>
    /// <param name="standardError">The end of its standard error.</param>
    /// <param name="reason">What happened.</param>
    public AgentStartupException(int agentIndex, int? exitCode, string standardError, string reason)
        : base($"Agent {agentIndex} {reason}{(exitCode is { } c ? $" (exit code {c})" : string.Empty)}. Its standard error ends with: {(standardError.Length == 0 ? "(nothing)" : standardError)}")
    {
        AgentIndex = agentIndex;
        ExitCode = exitCode;
        StandardError = standardError;
    }

    /// <summary>The agent that did not come up (-1 when unknown).</summary>
    public int AgentIndex { get; } = -1;

    /// <summary>Its exit code, or null when it was killed while still running.</summary>
    public int? ExitCode { get; }

    /// <summary>The end of its standard error (up to 4 KiB).</summary>
    public string StandardError { get; } = string.Empty;
}
