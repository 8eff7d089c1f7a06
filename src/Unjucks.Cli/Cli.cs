using System.CommandLine;
using Unjucks.Cli.Commands;

namespace Unjucks.Cli;

/// <summary>
/// The <c>unjucks-perf</c> command line, callable without a process: parse, run the command, return the exit code.
/// Exit codes: 0 success, 1 the command failed (templates failed, region not found, engine not wired), 2 bad
/// arguments or inputs (usage or the reason printed on stderr), 130 cancelled; run as the tool, 129/130/143 when
/// SIGHUP/SIGINT/SIGTERM stopped it.
/// </summary>
public static class Cli
{
    /// <summary>The real surroundings: console, current directory, child processes; the engine seams as wired in this build.</summary>
    public static ICliServices CreateDefaultServices() => new DefaultServices();

    /// <summary>Runs the tool with <paramref name="args"/> and returns its exit code. Never throws for a command's failure.</summary>
    /// <param name="args">Command-line arguments, without the program name.</param>
    /// <param name="services">Engine seams and surroundings.</param>
    /// <param name="output">Standard output: views, tables, results.</param>
    /// <param name="error">Standard error: usage on bad arguments, failures.</param>
    /// <param name="cancellationToken">Ctrl+C: cancels the running command.</param>
    public static Task<int> InvokeAsync(
        string[] args, ICliServices services, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        InvokeAsync(args, services, output, error, cancellationToken, stoppedBy: null);

    /// <summary>As the public overload, for the tool's own Main: a command cancelled by a signal ends with
    /// "stopped by SIGTERM" and 128 + its number.</summary>
    internal static async Task<int> InvokeAsync(string[] args, ICliServices services, TextWriter output, TextWriter error, ShutdownSignals signals)
    {
        ArgumentNullException.ThrowIfNull(signals);
        int code = await InvokeAsync(args, services, output, error, signals.Token, () => signals.Received).ConfigureAwait(false);
        // However the command ended once a signal came (a command that caught the cancellation and returned), the
        // exit code says which signal stopped it.
        return signals.Received is null ? code : signals.ExitCode;
    }

    private static async Task<int> InvokeAsync(
        string[] args, ICliServices services, TextWriter output, TextWriter error, CancellationToken cancellationToken, Func<string?>? stoppedBy)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        try
        {
            var context = new CliContext(services, output, error);
            var parse = BuildRoot(context).Parse(args);
            if (parse.Errors.Count > 0)
            {
                // System.CommandLine's parse-error action prints the errors and the failing command's help; send
                // both to stderr and answer 2, the usage exit code.
                await parse.InvokeAsync(Configuration(error, error), cancellationToken).ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            return await parse.InvokeAsync(Configuration(output, error), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var signal = stoppedBy?.Invoke();
            await error.WriteLineAsync(signal is null
                ? "unjucks-perf: cancelled."
                : $"unjucks-perf: stopped by {signal}; agents stopped, session files and partial outputs removed.").ConfigureAwait(false);
            return ExitCodes.Cancelled;
        }
        catch (CliException e)
        {
            await error.WriteLineAsync($"unjucks-perf: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
        catch (NotSupportedException e)
        {
            await error.WriteLineAsync($"unjucks-perf: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"unjucks-perf: {e.GetType().Name}: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    }

    internal static RootCommand BuildRoot(CliContext context) =>
        new("unjucks-perf: run template-rendering agents on one machine, watch them, measure how they scale.")
        {
            RunCommand.Create(context),
            ScaleCommand.Create(context),
            InspectCommand.Create(context),
            GcCommand.Create(context),
            BenchCommand.Create(context),
        };

    private static InvocationConfiguration Configuration(TextWriter output, TextWriter error) => new()
    {
        Output = output,
        Error = error,
        // The caller owns Ctrl+C (Program hooks it into the token); exceptions are reported above, one line each.
        ProcessTerminationTimeout = null,
        EnableDefaultExceptionHandler = false,
    };
}
