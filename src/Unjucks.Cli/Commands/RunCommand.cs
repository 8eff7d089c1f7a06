using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Unjucks.Agents;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Views;
using Unjucks.Templates;

namespace Unjucks.Cli.Commands;

/// <summary><c>run</c>: the main job, rendering a template tree with N agents under a live dashboard.</summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var agents = CommonOptions.AgentCount();
        var templates = CommonOptions.TemplateDirectories(() => context.Services.CurrentDirectory);
        var output = new Option<string?>("--out", "-o")
        {
            Description = "Output directory (created); default: a new folder under the system temporary directory.",
            HelpName = "DIR",
        };
        var mode = CommonOptions.Mode();
        var variables = CommonOptions.VariablesFile(() => context.Services.CurrentDirectory);
        var repeat = CommonOptions.Repeat();
        var templateTimeout = CommonOptions.TemplateTimeout();
        var maxOutput = CommonOptions.MaxOutput();
        var adaptive = CommonOptions.Adaptive("--agents");
        var memoryBudget = CommonOptions.MemoryBudget();
        var noDashboard = new Option<bool>("--no-dashboard")
        {
            Description = "Print plain progress lines even on a terminal.",
        };

        var command = new Command("run", "Render templates with N agents (default: the bundled samples, 4 agents, into a temporary folder).")
        {
            agents, templates, output, mode, variables, repeat, templateTimeout, maxOutput, adaptive, memoryBudget, noDashboard,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            context,
            parse.GetValue(agents),
            parse.GetValue(templates) ?? [],
            parse.GetValue(output),
            parse.GetValue(mode),
            parse.GetValue(variables),
            CommonOptions.ResolveRepeat(parse.GetValue(repeat), (parse.GetValue(templates) ?? []).Length),
            parse.GetValue(templateTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            parse.GetValue(maxOutput) is { } mib ? (long)mib << 20 : null,
            parse.GetValue(adaptive)?.ToConcurrency(parse.GetValue(agents)),
            parse.GetValue(memoryBudget) is { } budget ? (long)budget << 20 : null,
            parse.GetValue(noDashboard),
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(
        CliContext context,
        int agents,
        string[] templates,
        string? output,
        RenderMode mode,
        string? variables,
        int repeat,
        TimeSpan? templateTimeout,
        long? maxOutputBytes,
        AgentConcurrency? concurrency,
        long? memoryBudgetBytes,
        bool noDashboard,
        CancellationToken cancellationToken)
    {
        var engine = context.Services.CreateJobEngine();
        var outputDirectory = output is null
            ? Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture,
                $"unjucks-perf-run-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}"))
            : context.FullPath(output);
        OutputFolder.Prepare(outputDirectory, output ?? outputDirectory);

        var request = new JobRequest(
            agents,
            templates.Select(context.FullPath).ToArray(),
            outputDirectory,
            mode,
            variables is null ? null : context.FullPath(variables),
            repeat,
            templateTimeout,
            maxOutputBytes,
            concurrency,
            memoryBudgetBytes);
        var what = request.UsesBundledSamples ? "the bundled samples" : string.Join(", ", request.TemplateDirectories);
        var rounds = repeat == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" {repeat} times (round-NN subfolders)");
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Rendering {what}{rounds} with {(concurrency is null ? $"{agents} agent(s)" : concurrency.ToString())} as {mode.ToString().ToLowerInvariant()} into {outputDirectory}"));

        var live = context.Services.OutputIsTerminal && !noDashboard;
        var summary = await JobView.RunAsync(context, engine, request, "unjucks-perf run", live, cancellationToken).ConfigureAwait(false);
        context.Console.Write(SummaryView.Render(summary));
        context.Out.WriteLine(summary.Success
            ? $"Outputs are in {summary.OutputDirectory}"
            : string.Create(CultureInfo.InvariantCulture,
                $"{summary.Failures.Count} template(s) failed; the other outputs are in {summary.OutputDirectory}"));
        return summary.Success ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
