namespace Unjucks.Templates;

/// <summary>Which language a template file was written for (by extension).</summary>
public enum TemplateSyntax
{
    /// <summary><c>*.liquid</c>: rendered by Fluid.</summary>
    Liquid,
    /// <summary><c>*.njk</c>: also rendered by Fluid as Liquid; Nunjucks-only constructs are reported.</summary>
    Nunjucks,
}

/// <summary>
/// One discovered template: its id, where it came from, its front matter and its body.
/// Immutable; safe to share between threads.
/// </summary>
public sealed class TemplateSource
{
    /// <summary>Extensions that discovery picks up.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".liquid", ".njk"];

    private TemplateSource(string id, string sourcePath, TemplateSyntax syntax, FrontMatter frontMatter, string body, int bodyStartLine, TimeSpan discoveryTime, string text)
    {
        Text = text;
        Id = id;
        SourcePath = sourcePath;
        Syntax = syntax;
        FrontMatter = frontMatter;
        Body = body;
        BodyStartLine = bodyStartLine;
        DiscoveryTime = discoveryTime;
    }

    /// <summary>
    /// The template's id: its path relative to the discovery root, without the extension, with '/'
    /// separators (<c>components/button</c> for <c>components/button.liquid</c>).
    /// </summary>
    public string Id { get; }

    /// <summary>The whole file as read (front matter and body): what a render job sends its agents.</summary>
    internal string Text { get; }

    /// <summary>The full path of the template file ("" for templates made from text).</summary>
    public string SourcePath { get; }

    /// <summary>Liquid or Nunjucks, from the file extension.</summary>
    public TemplateSyntax Syntax { get; }

    /// <summary>The parsed front matter (<see cref="FrontMatter.Empty"/> when the file has none).</summary>
    public FrontMatter FrontMatter { get; }

    /// <summary>The template text after the front matter.</summary>
    public string Body { get; }

    /// <summary>The 1-based line of the file on which <see cref="Body"/> starts (error positions use file lines).</summary>
    public int BodyStartLine { get; }

    /// <summary>Time spent reading the file and parsing its front matter.</summary>
    public TimeSpan DiscoveryTime { get; }

    /// <summary>
    /// Makes a template from its text (front matter and body); used by discovery, by engines that ship
    /// template text to other processes, and by tests.
    /// </summary>
    /// <param name="id">The template id (see <see cref="Id"/>).</param>
    /// <param name="text">The whole file text.</param>
    /// <param name="sourcePath">Where it came from, for messages ("" if nowhere).</param>
    /// <param name="syntax">Liquid or Nunjucks.</param>
    /// <param name="discoveryTime">Time spent reading it, for the report.</param>
    /// <returns>The template.</returns>
    /// <exception cref="ArgumentException">The id is empty, has backslashes, or empty/dot segments.</exception>
    /// <exception cref="TemplateException">Kind <see cref="TemplateErrorKind.FrontMatter"/>: the front matter is invalid.</exception>
    public static TemplateSource FromText(string id, string text, string sourcePath = "", TemplateSyntax syntax = TemplateSyntax.Liquid, TimeSpan discoveryTime = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        ValidateId(id);
        var (frontMatter, body, bodyStart) = FrontMatterParser.Split(id, text);
        return new TemplateSource(id, sourcePath, syntax, frontMatter, body, bodyStart, discoveryTime, text);
    }

    /// <summary>The id of the file at <paramref name="relativePath"/> (separators normalised, extension removed).</summary>
    /// <param name="relativePath">A path relative to a discovery root.</param>
    /// <returns>The id, e.g. <c>components/button</c>.</returns>
    public static string IdFromRelativePath(string relativePath)
    {
        var p = relativePath.Replace(Path.DirectorySeparatorChar, '/');
        foreach (var ext in Extensions)
        {
            if (p.EndsWith(ext, StringComparison.Ordinal))
            {
                return p[..^ext.Length];
            }
        }

        return p;
    }

    /// <summary>The syntax implied by a file name's extension.</summary>
    /// <param name="path">A file name or path.</param>
    /// <returns>Nunjucks for <c>.njk</c>, Liquid otherwise.</returns>
    public static TemplateSyntax SyntaxOf(string path) =>
        path.EndsWith(".njk", StringComparison.Ordinal) ? TemplateSyntax.Nunjucks : TemplateSyntax.Liquid;

    private static void ValidateId(string id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Contains('\\') || id.Split('/').Any(s => s.Length == 0 || s == "." || s == ".."))
        {
            throw new ArgumentException($"'{id}' is not a template id; ids are relative paths with '/' separators and no empty, '.' or '..' segments, e.g. 'components/button'.", nameof(id));
        }
    }
}
