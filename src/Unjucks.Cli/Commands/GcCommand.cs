using System.CommandLine;
using Spectre.Console;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;

namespace Unjucks.Cli.Commands;

/// <summary><c>gc</c>: a coordinated GC round on a running job, with the per-agent report.</summary>
internal static class GcCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string?>("NAME")
        {
            Description = "Region of the running job; may be left out when exactly one job runs.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for agents to report, 1 to 600.",
            DefaultValueFactory = _ => 10,
            HelpName = "SECONDS",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--timeout", 1, 600),
        };
        var command = new Command("gc", "Run a coordinated GC round on a running job and show what each agent freed.") { name, timeout };
        command.SetAction((parse, cancellationToken) =>
            ExecuteAsync(context, parse.GetValue(name), TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliContext context, string? name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var coordinator = context.Services.CreateGcCoordinator();
        name ??= PickRunningJob(context.Services.CreateRegionInspector());
        var report = await coordinator.RunRoundAsync(name, timeout, cancellationToken).ConfigureAwait(false);
        context.Console.Write(GcView.Render(report));
        context.Console.WriteLine();
        return report.Agents.All(a => a.Outcome == GcOutcome.Acknowledged) ? ExitCodes.Ok : ExitCodes.Failed;
    }

    internal static string PickRunningJob(IRegionInspector inspector)
    {
        // A job runs where agents are registered and alive: a region whose creator alone is alive has no one to collect.
        var regions = inspector.ListRegions();
        var running = regions.Where(r => r.Problem is null && r.AgentsAlive > 0).ToList();
        string idle = regions.Count == 0 ? "" : $" (no live agent in {string.Join(", ", regions.Select(r => r.Name))})";
        return running.Count switch
        {
            1 => running[0].Name,
            0 => throw new CliException($"no running job found{idle}; gc works on the shared regions of programs built on Unjucks.SharedMemory (a template job of 'unjucks-perf run' has none); start one, or name a region."),
            _ => throw new CliException($"{running.Count} jobs are running ({string.Join(", ", running.Select(r => r.Name))}); name one: 'unjucks-perf gc NAME'."),
        };
    }
}
