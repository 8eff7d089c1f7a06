namespace Unjucks.Templates;

/// <summary>Where one template's time went; the scale report sums these per phase.</summary>
/// <param name="Discovery">Reading the file and parsing its front matter.</param>
/// <param name="Parse">Scanning for Nunjucks constructs and parsing with Fluid (paid once per template).</param>
/// <param name="Render">Rendering <c>to:</c> and the body.</param>
/// <param name="Write">Writing the output atomically (zero until written).</param>
public readonly record struct TemplateTimings(TimeSpan Discovery, TimeSpan Parse, TimeSpan Render, TimeSpan Write)
{
    /// <summary>The sum of the four phases.</summary>
    public TimeSpan Total => Discovery + Parse + Render + Write;
}

/// <summary>
/// The result of rendering one template: what a dependent template receives and what gets written.
/// Plain data (strings and portable variables, see <see cref="TemplateValues"/>), so an engine can move it
/// between processes.
/// </summary>
/// <param name="Id">The template id.</param>
/// <param name="OutputPath">The output path relative to the output directory, '/'-separated, validated.</param>
/// <param name="Content">The rendered text (written as UTF-8 without a byte order mark).</param>
/// <param name="Variables">The template's front matter variables (exposed to dependents as <c>deps.&lt;key&gt;.variables</c>).</param>
/// <param name="Timings">Per-phase timings.</param>
public sealed record RenderedTemplate(string Id, string OutputPath, string Content, IReadOnlyDictionary<string, object?> Variables, TemplateTimings Timings);
