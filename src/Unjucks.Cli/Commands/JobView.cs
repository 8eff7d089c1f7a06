using Spectre.Console;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;

namespace Unjucks.Cli.Commands;

/// <summary>
/// Runs one job through the engine while showing it: the live dashboard on a terminal, one plain line per second
/// otherwise. The final state is always shown once, however fast the job ended.
/// </summary>
internal static class JobView
{
    private static readonly TimeSpan LiveInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(1);

    /// <param name="context">Where to show it.</param>
    /// <param name="engine">The engine that runs the job.</param>
    /// <param name="request">The job.</param>
    /// <param name="title">Heading of the dashboard, prefix of plain lines.</param>
    /// <param name="live">Live dashboard (terminal) or plain lines.</param>
    /// <param name="keepDashboard">Leave the final dashboard on screen (run) or clear it (scale, which prints its own line per run).</param>
    /// <param name="cancellationToken">Cancels the job.</param>
    public static async Task<JobSummary> RunAsync(
        CliContext context, IJobEngine engine, JobRequest request, string title, bool live, CancellationToken cancellationToken,
        bool keepDashboard = true)
    {
        var latest = new LatestSnapshot();
        var job = engine.RunAsync(request, latest, cancellationToken);
        if (live)
        {
            await context.Console.Live(DashboardView.Render(title, null))
                .AutoClear(!keepDashboard)
                .StartAsync(async display =>
                {
                    while (!job.IsCompleted)
                    {
                        display.UpdateTarget(DashboardView.Render(title, latest.Current));
                        // The delay is not cancelled: cancellation reaches the engine, and the job task ends.
                        await Task.WhenAny(job, Task.Delay(LiveInterval, CancellationToken.None)).ConfigureAwait(false);
                    }

                    display.UpdateTarget(DashboardView.Render(title, latest.Current));
                }).ConfigureAwait(false);
        }
        else
        {
            var printed = 0L;
            while (!job.IsCompleted)
            {
                await Task.WhenAny(job, Task.Delay(PlainInterval, CancellationToken.None)).ConfigureAwait(false);
                printed = PrintIfNew(context, title, latest, printed);
            }

            PrintIfNew(context, title, latest, printed);
        }

        return await job.ConfigureAwait(false);
    }

    private static long PrintIfNew(CliContext context, string title, LatestSnapshot latest, long printed)
    {
        var version = latest.Version;
        if (version != printed && latest.Current is { } snapshot)
        {
            context.Out.WriteLine(ProgressLine.Format(title, snapshot));
        }

        return version;
    }
}
