using System.Diagnostics;
using Unjucks.Agents;

namespace Unjucks.Templates;

/// <summary>What <see cref="RenderJob.RunAsync"/> renders and how.</summary>
public sealed class RenderJobOptions
{
    /// <summary>Template roots, in priority order (an id found in two roots comes from the first).</summary>
    public required IReadOnlyList<string> TemplateDirectories { get; init; }

    /// <summary>Where outputs go (created if missing).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Global variables (see <see cref="TemplateValues"/>); front matter variables override them.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; init; } = new Dictionary<string, object?>();

    /// <summary>K: directories scanned at once (seed default 8).</summary>
    public int DiscoveryConcurrency { get; init; } = TemplateDiscovery.DefaultMaxConcurrency;

    /// <summary>Templates rendered at once; 0 means <see cref="Environment.ProcessorCount"/>.</summary>
    public int RenderConcurrency { get; init; }

    /// <summary>Undefined variables are errors (see <see cref="TemplateRenderer.Strict"/>).</summary>
    public bool Strict { get; init; }

    /// <summary>Flush each output to the disk before its rename (see <see cref="OutputWriter.Durable"/>).</summary>
    public bool DurableWrites { get; init; }

    /// <summary>Where template tasks run (default <see cref="TaskScheduler.Default"/>).</summary>
    public TaskScheduler? Scheduler { get; init; }
}

/// <summary>
/// The in-process template job: discover, plan (drop what cannot run), render through
/// <see cref="DependencyGraph{TKey, TResult}"/> (a template starts as soon as its dependencies are rendered),
/// write atomically, report. One template's failure never stops the others.
/// </summary>
public static class RenderJob
{
    /// <summary>Runs the whole job.</summary>
    /// <param name="options">What to render.</param>
    /// <param name="cancellationToken">Cancels discovery (throws) or rendering (unstarted templates are reported Canceled).</param>
    /// <returns>The report; <see cref="JobReport.Failed"/> is non-zero when any template was not rendered.</returns>
    /// <exception cref="ArgumentException">Bad options (no directories, a reserved or unsupported global variable).</exception>
    /// <exception cref="DirectoryNotFoundException">A template directory does not exist.</exception>
    public static async Task<JobReport> RunAsync(RenderJobOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.TemplateDirectories.Count == 0)
        {
            throw new ArgumentException("no template directory given; pass at least one.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.RenderConcurrency);
        IReadOnlyDictionary<string, object?> globals;
        try
        {
            globals = (Dictionary<string, object?>)TemplateValues.Normalize(options.Variables)!;
            TemplateValues.CheckNotReserved(globals.Keys, "global variables");
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException(e.Message, nameof(options), e);
        }

        long started = Stopwatch.GetTimestamp();
        var discovery = await TemplateDiscovery.DiscoverAsync(options.TemplateDirectories, options.DiscoveryConcurrency, cancellationToken).ConfigureAwait(false);
        var plan = TemplatePlan.Create(discovery.Templates, discovery.Failures);
        var renderer = new TemplateRenderer(options.Strict);
        var writer = new OutputWriter(options.OutputDirectory, options.DurableWrites);

        var graph = new DependencyGraph<string, RenderedTemplate>(StringComparer.Ordinal);
        foreach (var template in plan.Runnable)
        {
            var t = template;
            graph.Add(t.Id, t.FrontMatter.DependsOn, (context, ct) =>
            {
                ct.ThrowIfCancellationRequested();
                var rendered = renderer.RenderOne(t, context.Dependencies, globals);
                var write = writer.Write(rendered);
                return ValueTask.FromResult(rendered with { Timings = rendered.Timings with { Write = write } });
            });
        }

        long renderStarted = Stopwatch.GetTimestamp();
        var result = await graph.RunAsync(options.RenderConcurrency, options.Scheduler, cancellationToken).ConfigureAwait(false);
        var renderElapsed = Stopwatch.GetElapsedTime(renderStarted);

        var outcomes = new List<TemplateOutcome>(plan.Failed);
        foreach (var t in plan.Runnable)
        {
            outcomes.Add(ToOutcome(t, result.Nodes[t.Id]));
        }

        outcomes.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id) is var c && c != 0 ? c : string.CompareOrdinal(a.SourcePath, b.SourcePath));
        return new JobReport(outcomes, discovery, renderElapsed, Stopwatch.GetElapsedTime(started), writer.Root, options.Strict,
            options.RenderConcurrency == 0 ? Environment.ProcessorCount : options.RenderConcurrency);
    }

    /// <summary>Turns a graph outcome into a report line (exposed for engines that run the same graph elsewhere).</summary>
    /// <param name="template">The template.</param>
    /// <param name="node">Its outcome in the dependency graph.</param>
    /// <returns>The report line.</returns>
    public static TemplateOutcome ToOutcome(TemplateSource template, NodeOutcome<RenderedTemplate> node)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(node);
        var baseTimings = new TemplateTimings(template.DiscoveryTime, default, default, default);
        switch (node.Status)
        {
            case NodeStatus.Succeeded:
                return new TemplateOutcome(template.Id, template.SourcePath, TemplateStatus.Rendered, null, node.Result!.OutputPath, node.Result.Timings, node.QueueTime);
            case NodeStatus.Failed:
                var error = node.Error is TemplateException te
                    ? te.Error
                    : new TemplateError(node.Error is OperationCanceledException ? TemplateErrorKind.Canceled : TemplateErrorKind.Render, template.Id,
                        $"rendering failed unexpectedly: {node.Error?.GetType().Name}: {node.Error?.Message}");
                var status = error.Kind == TemplateErrorKind.Canceled ? TemplateStatus.Canceled : TemplateStatus.Failed;
                return new TemplateOutcome(template.Id, template.SourcePath, status, error, null, baseTimings, node.QueueTime);
            case NodeStatus.DependencyFailed:
                var root = node.Error is TemplateException rootError ? rootError.Error : null;
                var message = root is null
                    ? $"not rendered: a template it depends on failed ({node.Error?.Message})."
                    : $"not rendered: it depends, directly or not, on '{root.TemplateId}', which failed ({root.Kind}). Fix '{root.TemplateId}' first.";
                return new TemplateOutcome(template.Id, template.SourcePath, TemplateStatus.DependencyFailed,
                    new TemplateError(TemplateErrorKind.DependencyFailed, template.Id, message), null, baseTimings, node.QueueTime);
            default:
                return new TemplateOutcome(template.Id, template.SourcePath, TemplateStatus.Canceled,
                    new TemplateError(TemplateErrorKind.Canceled, template.Id, "not rendered: the job was canceled first."), null, baseTimings, node.QueueTime);
        }
    }
}
