namespace Unjucks.Cli;

/// <summary>
/// A failure the tool reports as one line on stderr (no stack trace) with a given exit code, e.g. "no region
/// named 'x'". Usage errors are not reported this way: they are parse errors, exit code 2.
/// </summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The tool's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Everything worked.</summary>
    public const int Ok = 0;

    /// <summary>The command ran but something failed: templates failed, a region was not found, the engine is not wired.</summary>
    public const int Failed = 1;

    /// <summary>Bad arguments: usage was printed on stderr.</summary>
    public const int Usage = 2;

    /// <summary>Cancelled with Ctrl+C (128 + SIGINT).</summary>
    public const int Cancelled = 130;
}
