using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Unjucks.Agents;
using Unjucks.Cli.Engine;
using Unjucks.Cli.Scaling;
using Unjucks.Cli.Views;
using Unjucks.Templates;

namespace Unjucks.Cli.Commands;

/// <summary>
/// <c>scale</c>: runs the same job at each agent count and writes the scaling table (<c>scaling.md</c>,
/// <c>scaling.json</c>) and plot (<c>scaling.png</c>).
/// </summary>
internal static class ScaleCommand
{
    public const string MarkdownFile = "scaling.md";
    public const string JsonFile = "scaling.json";
    public const string PlotFile = "scaling.png";

    /// <summary>Where the report goes by default, relative to the current directory.</summary>
    public const string DefaultReportDirectory = "scaling";

    public static Command Create(CliContext context)
    {
        var agents = CommonOptions.AgentList();
        var mode = CommonOptions.Mode();
        var output = new Option<string>("--out", "-o")
        {
            Description = $"Directory for {MarkdownFile}, {JsonFile} and {PlotFile} (created).",
            DefaultValueFactory = _ => DefaultReportDirectory,
            HelpName = "DIR",
        };
        var templates = CommonOptions.TemplateDirectories(() => context.Services.CurrentDirectory);
        var variables = CommonOptions.VariablesFile(() => context.Services.CurrentDirectory);
        var renderDirectory = new Option<string?>("--render-dir")
        {
            Description = "Where the rendered outputs go while measuring (deleted after each run); default: /dev/shm (tmpfs) when present, else the temporary directory.",
            HelpName = "DIR",
        };

        var rounds = CommonOptions.Rounds();
        var runs = CommonOptions.Runs();
        var adaptive = CommonOptions.Adaptive("the largest --agents value");
        var command = new Command("scale", "Run the same job at each agent count and report throughput, latency, memory and efficiency.")
        {
            agents, mode, output, templates, variables, renderDirectory, rounds, runs, adaptive,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            context,
            parse.GetResult(agents) is null ? CommonOptions.DefaultAgentList : parse.GetRequiredValue(agents),
            parse.GetValue(mode),
            parse.GetValue(output)!,
            parse.GetValue(templates) ?? [],
            parse.GetValue(variables),
            parse.GetValue(renderDirectory),
            CommonOptions.ResolveRepeat(parse.GetValue(rounds), (parse.GetValue(templates) ?? []).Length),
            parse.GetValue(runs),
            parse.GetValue(adaptive),
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(
        CliContext context,
        int[] agentCounts,
        RenderMode mode,
        string output,
        string[] templates,
        string? variables,
        string? renderDirectory,
        int repeat,
        int runsPerCount,
        AgentRange? adaptiveRange,
        CancellationToken cancellationToken)
    {
        var engine = context.Services.CreateJobEngine();
        var reportDirectory = context.FullPath(output);
        OutputFolder.Prepare(reportDirectory, output); // an unusable --out is exit 2 now, not after every measurement.
        var (renderRoot, isTmpfs) = ChooseRenderRoot(context, renderDirectory);
        var templateDirectories = templates.Select(context.FullPath).ToArray();
        var variablesFile = variables is null ? null : context.FullPath(variables);
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Scaling {mode.ToString().ToLowerInvariant()} over agents {string.Join(",", agentCounts)}, {runsPerCount} run(s) per count, {repeat} round(s) per run; outputs rendered into {renderRoot}{(isTmpfs ? " (tmpfs)" : string.Empty)}"));

        var loadAtStart = LoadAverage.OneMinute();
        var counts = new List<ScalingRuns>(agentCounts.Length);
        var concurrency = adaptiveRange?.ToConcurrency(agentCounts.Max());
        JobSummary? adaptiveRun = null;
        var live = context.Services.OutputIsTerminal;
        try
        {
            for (var i = 0; i < agentCounts.Length; i++)
            {
                var count = agentCounts[i];
                var summaries = new List<JobSummary>(runsPerCount);
                var loads = new List<double?>(runsPerCount);
                for (var run = 1; run <= runsPerCount; run++)
                {
                    var outputDirectory = Path.Combine(renderRoot, string.Create(CultureInfo.InvariantCulture, $"agents-{count}-run-{run}"));
                    Directory.CreateDirectory(outputDirectory);
                    var request = new JobRequest(count, templateDirectories, outputDirectory, mode, variablesFile, repeat);
                    var title = string.Create(CultureInfo.InvariantCulture, $"scale {i + 1}/{agentCounts.Length}: {count} agent(s)")
                        + (runsPerCount == 1 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", run {run}/{runsPerCount}"));
                    var summary = await JobView.RunAsync(context, engine, request, title, live, cancellationToken, keepDashboard: false).ConfigureAwait(false);
                    if (summary.Agents != count)
                    {
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"the engine ran {summary.Agents} agents when asked for {count}; the scaling table would be wrong."));
                    }

                    summaries.Add(summary);
                    loads.Add(LoadAverage.OneMinute());
                    TryDelete(outputDirectory);
                    context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{title}: {Format.Rate(summary.OperationsPerSecond)} ops/s, p95 {Format.Duration(summary.Latency.P95)}, {Format.Megabytes(summary.MemoryMegabytes)}, {summary.Failures.Count} failed, wall {Format.Duration(summary.WallTime)}"));
                }

                counts.Add(new ScalingRuns(count, summaries, loads));
            }

            if (concurrency is not null)
            {
                adaptiveRun = await RunAdaptiveAsync(context, engine, concurrency, renderRoot, templateDirectories, mode, variablesFile, repeat, live, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            TryDelete(renderRoot);
        }

        var report = ScalingReport.Build(counts, mode, templateDirectories, renderRoot, isTmpfs, DateTimeOffset.UtcNow, loadAtStart);
        if (adaptiveRun is not null)
        {
            report = report with { Adaptive = ScalingAdaptive.From(adaptiveRun, report.Rows) };
        }

        context.Console.Write(ScalingView.Render(report));

        var commandLine = "unjucks-perf scale --agents " + string.Join(",", agentCounts) + " --mode " + report.Mode
            + (templates.Length == 0 ? string.Empty : " --templates " + string.Join(" ", templates))
            + string.Create(CultureInfo.InvariantCulture, $" --rounds {repeat} --repeat {runsPerCount}")
            + (concurrency is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" --adaptive {concurrency.MinAgents}..{concurrency.MaxAgents}"));
        await File.WriteAllTextAsync(Path.Combine(reportDirectory, MarkdownFile), ScalingMarkdown.Render(report, commandLine, PlotFile), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(reportDirectory, JsonFile), ScalingJson.Render(report), cancellationToken).ConfigureAwait(false);
        ScalingPlot.Save(report, Path.Combine(reportDirectory, PlotFile));
        context.Out.WriteLine($"Wrote {MarkdownFile}, {JsonFile} and {PlotFile} to {reportDirectory}");

        var all = counts.SelectMany(c => c.Runs).Concat(adaptiveRun is null ? [] : [adaptiveRun]).ToList();
        var failed = all.Sum(r => r.Failures.Count);
        if (failed > 0)
        {
            var first = all.SelectMany(r => r.Failures).First();
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"unjucks-perf: {failed} template render(s) failed across the runs; the table counts only successful operations. First: {first.Template}: {first.Message}"));
            return ExitCodes.Failed;
        }

        return ExitCodes.Ok;
    }

    /// <summary>One run with the adaptive count after the fixed table; warns when it was too short for the knee search
    /// (about 8 windows) to mean anything.</summary>
    private static async Task<JobSummary> RunAdaptiveAsync(
        CliContext context,
        IJobEngine engine,
        AgentConcurrency concurrency,
        string renderRoot,
        string[] templateDirectories,
        RenderMode mode,
        string? variablesFile,
        int repeat,
        bool live,
        CancellationToken cancellationToken)
    {
        var outputDirectory = Path.Combine(renderRoot, "adaptive");
        Directory.CreateDirectory(outputDirectory);
        var request = new JobRequest(concurrency.MaxAgents, templateDirectories, outputDirectory, mode, variablesFile, repeat, Concurrency: concurrency);
        var title = string.Create(CultureInfo.InvariantCulture, $"scale adaptive: {concurrency.MinAgents}..{concurrency.MaxAgents} agents");
        var summary = await JobView.RunAsync(context, engine, request, title, live, cancellationToken, keepDashboard: false).ConfigureAwait(false);
        if (summary.Agents != concurrency.MaxAgents)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"the engine started {summary.Agents} agents for an adaptive range up to {concurrency.MaxAgents}; the report would be wrong."));
        }

        TryDelete(outputDirectory);
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{title}: {Format.Rate(summary.OperationsPerSecond)} ops/s, settled at {summary.ActiveAgents} agent(s) after {Math.Max(0, summary.ActiveAgentsHistory.Count - 1)} change(s), {summary.Failures.Count} failed, wall {Format.Duration(summary.WallTime)}"));
        var needed = concurrency.Window * 8;
        if (summary.WallTime < needed)
        {
            context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"unjucks-perf: the adaptive run took {Format.Duration(summary.WallTime)}, less than the 8 windows ({Format.Duration(needed)}) the knee search needs; where it settled says little. Give it more --rounds."));
        }

        return summary;
    }

    private static (string Root, bool IsTmpfs) ChooseRenderRoot(CliContext context, string? requested)
    {
        var unique = string.Create(CultureInfo.InvariantCulture, $"unjucks-perf-scale-{Environment.ProcessId}-{Guid.NewGuid():N}");
        if (requested is not null)
        {
            return (Path.Combine(context.FullPath(requested), unique), false);
        }

        const string shm = "/dev/shm";
        return Directory.Exists(shm)
            ? (Path.Combine(shm, unique), true)
            : (Path.Combine(Path.GetTempPath(), unique), false);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Leftover outputs of a measurement are not worth failing the report for.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: the report matters, the scratch folder does not.
        }
    }
}
