using System.CommandLine;
using Spectre.Console;
using Spectre.Console.Rendering;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;

namespace Unjucks.Cli.Commands;

/// <summary><c>inspect</c>: lists regions, shows one in detail (once or live), or removes dead ones.</summary>
internal static class InspectCommand
{
    private static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    public static Command Create(CliContext context)
    {
        var name = new Argument<string?>("NAME")
        {
            Description = "Region to show; without it, every region is listed.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var watch = new Option<bool>("--watch", "-w") { Description = "Refresh every second until Ctrl+C." };
        var cleanup = new Option<bool>("--cleanup") { Description = "Remove regions whose creator and agents are all dead (only NAME when given), and say what was removed." };
        var command = new Command("inspect", "Show shared regions: agents, heartbeats, queue depths, lock owners, state slots, change sequence.")
        {
            name, watch, cleanup,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(watch) && result.GetValue(cleanup))
            {
                result.AddError("--watch and --cleanup cannot be combined: clean up once, then watch.");
            }
        });
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            context, parse.GetValue(name), parse.GetValue(watch), parse.GetValue(cleanup), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext context, string? name, bool watch, bool cleanup, CancellationToken cancellationToken)
    {
        var inspector = context.Services.CreateRegionInspector();
        if (cleanup)
        {
            context.Console.Write(RegionView.RenderRemoved(inspector.CleanupDeadRegions(name)));
            context.Console.WriteLine();
            return ExitCodes.Ok;
        }

        if (!watch)
        {
            context.Console.Write(Render(inspector, name));
            context.Console.WriteLine();
            return ExitCodes.Ok;
        }

        try
        {
            if (context.Services.OutputIsTerminal)
            {
                await context.Console.Live(Render(inspector, name)).StartAsync(async display =>
                {
                    while (true)
                    {
                        await Task.Delay(WatchInterval, cancellationToken).ConfigureAwait(false);
                        display.UpdateTarget(Render(inspector, name));
                    }
                }).ConfigureAwait(false);
            }
            else
            {
                while (true)
                {
                    context.Out.WriteLine($"--- {DateTimeOffset.UtcNow:HH:mm:ss} UTC");
                    context.Console.Write(Render(inspector, name));
                    context.Console.WriteLine();
                    await Task.Delay(WatchInterval, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how a watch ends.
        }

        return ExitCodes.Ok;
    }

    private static IRenderable Render(IRegionInspector inspector, string? name)
    {
        if (name is null)
        {
            return RegionView.RenderList(inspector.ListRegions());
        }

        var snapshot = inspector.Snapshot(name)
            ?? throw new CliException($"no region named '{name}'; 'unjucks-perf inspect' lists the regions there are.");
        return RegionView.RenderSnapshot(snapshot);
    }
}
