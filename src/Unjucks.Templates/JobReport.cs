using System.Globalization;
using System.Text;

namespace Unjucks.Templates;

/// <summary>The result of a template job: every template's outcome, counts, and where the time went.</summary>
public sealed class JobReport
{
    /// <summary>Builds a report (engines other than <see cref="RenderJob"/> build theirs the same way).</summary>
    /// <param name="templates">One outcome per template file.</param>
    /// <param name="discovery">The discovery result (directory timings).</param>
    /// <param name="renderElapsed">Wall time of the render phase.</param>
    /// <param name="elapsed">Wall time of the whole job.</param>
    /// <param name="outputDirectory">Where outputs were written.</param>
    /// <param name="strict">Whether strict mode was on.</param>
    /// <param name="renderConcurrency">The render concurrency used.</param>
    public JobReport(IReadOnlyList<TemplateOutcome> templates, DiscoveryResult discovery, TimeSpan renderElapsed, TimeSpan elapsed, string outputDirectory, bool strict, int renderConcurrency)
    {
        ArgumentNullException.ThrowIfNull(templates);
        ArgumentNullException.ThrowIfNull(discovery);
        Templates = templates;
        Directories = discovery.Directories;
        DiscoveryElapsed = discovery.Elapsed;
        DiscoveryConcurrency = discovery.MaxConcurrency;
        RenderElapsed = renderElapsed;
        Elapsed = elapsed;
        OutputDirectory = outputDirectory;
        Strict = strict;
        RenderConcurrency = renderConcurrency;
        Rendered = templates.Count(t => t.Status == TemplateStatus.Rendered);
        Failures = templates.Where(t => t.Status != TemplateStatus.Rendered).ToList();
        TotalTimings = new TemplateTimings(
            Sum(templates, t => t.Timings.Discovery),
            Sum(templates, t => t.Timings.Parse),
            Sum(templates, t => t.Timings.Render),
            Sum(templates, t => t.Timings.Write));
    }

    /// <summary>Every template file's outcome, ordered by id.</summary>
    public IReadOnlyList<TemplateOutcome> Templates { get; }

    /// <summary>How the agents ran.</summary>
    public RenderMode Mode { get; init; }

    /// <summary>Rounds of the tree rendered (each template appears once per round in <see cref="Templates"/>).</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>The agent session's own figures (latency, queue time, overhead, deaths); null when nothing was rendered.</summary>
    public Unjucks.Agents.AgentSessionSummary? Session { get; init; }

    /// <summary>The outcomes that are not <see cref="TemplateStatus.Rendered"/>, ordered by id.</summary>
    public IReadOnlyList<TemplateOutcome> Failures { get; }

    /// <summary>Template files found (rendered or not).</summary>
    public int Total => Templates.Count;

    /// <summary>Templates rendered and written.</summary>
    public int Rendered { get; }

    /// <summary>Templates not rendered (failed, dependency failed or canceled).</summary>
    public int Failed => Failures.Count;

    /// <summary>Per-directory discovery timings.</summary>
    public IReadOnlyList<DirectoryTiming> Directories { get; }

    /// <summary>Wall time of discovery.</summary>
    public TimeSpan DiscoveryElapsed { get; }

    /// <summary>Wall time of parsing, rendering and writing (the dependency graph run).</summary>
    public TimeSpan RenderElapsed { get; }

    /// <summary>Wall time of the whole job.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Per-phase time summed over all templates (CPU-ish time, not wall time).</summary>
    public TemplateTimings TotalTimings { get; }

    /// <summary>The output directory (full path).</summary>
    public string OutputDirectory { get; }

    /// <summary>Whether strict mode was on.</summary>
    public bool Strict { get; }

    /// <summary>K used for discovery.</summary>
    public int DiscoveryConcurrency { get; }

    /// <summary>Templates rendered at once.</summary>
    public int RenderConcurrency { get; }

    /// <summary>A plain-text summary: counts, phase totals, then one line per failure.</summary>
    /// <returns>The summary.</returns>
    public string Describe()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"{Rendered}/{Total} templates rendered, {Failed} not rendered, in {Elapsed.TotalMilliseconds:F1} ms (discovery {DiscoveryElapsed.TotalMilliseconds:F1} ms over {Directories.Count} directories, K={DiscoveryConcurrency}; render {RenderElapsed.TotalMilliseconds:F1} ms, concurrency {RenderConcurrency}{(Strict ? ", strict" : "")}).");
        sb.AppendLine(inv, $"Summed per phase: discovery {TotalTimings.Discovery.TotalMilliseconds:F1} ms, parse {TotalTimings.Parse.TotalMilliseconds:F1} ms, render {TotalTimings.Render.TotalMilliseconds:F1} ms, write {TotalTimings.Write.TotalMilliseconds:F1} ms.");
        sb.AppendLine(inv, $"Output: {OutputDirectory}");
        foreach (var f in Failures)
        {
            sb.AppendLine(inv, $"  {f.Status}: {f.Error}");
        }

        return sb.ToString();
    }

    private static TimeSpan Sum(IEnumerable<TemplateOutcome> items, Func<TemplateOutcome, TimeSpan> pick) =>
        new(items.Sum(t => pick(t).Ticks));
}
