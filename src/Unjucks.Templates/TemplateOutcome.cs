namespace Unjucks.Templates;

/// <summary>How one template ended.</summary>
public enum TemplateStatus
{
    /// <summary>Rendered and written.</summary>
    Rendered,
    /// <summary>Its own error (front matter, syntax, Nunjucks construct, undefined variable, output path, missing dependency, cycle...).</summary>
    Failed,
    /// <summary>Not rendered because a template it depends on failed.</summary>
    DependencyFailed,
    /// <summary>Not rendered because the job was canceled.</summary>
    Canceled,
}

/// <summary>One template's line in the job report.</summary>
/// <param name="Id">The template id.</param>
/// <param name="SourcePath">The template file.</param>
/// <param name="Status">How it ended.</param>
/// <param name="Error">Why it was not rendered (null when rendered).</param>
/// <param name="OutputPath">Where it was written, relative to the output directory (null when not rendered).</param>
/// <param name="Timings">Per-phase timings (only the phases it reached).</param>
/// <param name="QueueTime">Time between its dependencies finishing and its start (from the dependency graph).</param>
public sealed record TemplateOutcome(string Id, string SourcePath, TemplateStatus Status, TemplateError? Error, string? OutputPath, TemplateTimings Timings, TimeSpan QueueTime);
