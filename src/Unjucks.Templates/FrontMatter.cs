using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Unjucks.Templates;

/// <summary>
/// The YAML block between two <c>---</c> lines at the top of a template file.
/// Fields: <c>to</c> (output path, itself a Liquid template), <c>dependsOn</c> (template ids) and
/// <c>variables</c> (a map). Unknown fields are an error, so that a typo does not pass silently.
/// </summary>
public sealed class FrontMatter
{
    /// <summary>No front matter: default output path, no dependencies, no variables.</summary>
    public static FrontMatter Empty { get; } = new(null, [], new Dictionary<string, object?>(StringComparer.Ordinal));

    /// <summary>Creates front matter from its fields.</summary>
    /// <param name="to">The output path template, or null for the default.</param>
    /// <param name="dependsOn">Ids of the templates this one needs.</param>
    /// <param name="variables">Template variables (normalised, see <see cref="TemplateValues"/>).</param>
    public FrontMatter(string? to, IReadOnlyList<string> dependsOn, IReadOnlyDictionary<string, object?> variables)
    {
        To = to;
        DependsOn = dependsOn;
        Variables = variables;
    }

    /// <summary>
    /// The output path relative to the output directory, as a Liquid template rendered with the same
    /// variables as the body; null means "the template's relative path without its .liquid/.njk extension".
    /// </summary>
    public string? To { get; }

    /// <summary>Ids of the templates that must render first; their outputs are exposed as <c>deps</c>.</summary>
    public IReadOnlyList<string> DependsOn { get; }

    /// <summary>The template's variables; they override global variables of the same name.</summary>
    public IReadOnlyDictionary<string, object?> Variables { get; }
}

/// <summary>Splits a template file into front matter and body and parses the front matter with YamlDotNet.</summary>
internal static class FrontMatterParser
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithAttemptingUnquotedStringTypeDeserialization()
        .Build();

    /// <summary>Front matter as YamlDotNet sees it.</summary>
    internal sealed class Raw
    {
        public string? To { get; set; }

        public List<string?>? DependsOn { get; set; }

        public Dictionary<string, object?>? Variables { get; set; }
    }

    /// <summary>
    /// Splits <paramref name="text"/>; returns the front matter, the body and the 1-based file line on which
    /// the body starts.
    /// </summary>
    /// <exception cref="TemplateException">Kind <see cref="TemplateErrorKind.FrontMatter"/>.</exception>
    public static (FrontMatter FrontMatter, string Body, int BodyStartLine) Split(string id, string text)
    {
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        int firstEnd = LineEnd(text, 0, out var firstNext);
        if (!IsFence(text.AsSpan(0, firstEnd)))
        {
            return (FrontMatter.Empty, text, 1);
        }

        int line = 2;
        int pos = firstNext;
        while (pos < text.Length)
        {
            int end = LineEnd(text, pos, out var next);
            if (IsFence(text.AsSpan(pos, end - pos)))
            {
                var yaml = text[firstNext..pos];
                return (ParseYaml(id, yaml), text[next..], line + 1);
            }

            pos = next;
            line++;
        }

        throw new TemplateException(new TemplateError(TemplateErrorKind.FrontMatter, id,
            "the front matter opened by '---' on line 1 is never closed; add a line with only '---' after it.", 1, 1));
    }

    private static bool IsFence(ReadOnlySpan<char> line) => line.TrimEnd().SequenceEqual("---");

    private static int LineEnd(string text, int start, out int next)
    {
        int nl = text.IndexOf('\n', start);
        if (nl < 0)
        {
            next = text.Length;
            return text.Length;
        }

        next = nl + 1;
        return nl > start && text[nl - 1] == '\r' ? nl - 1 : nl;
    }

    private static FrontMatter ParseYaml(string id, string yaml)
    {
        Raw? raw;
        try
        {
            raw = Yaml.Deserialize<Raw?>(yaml);
        }
        catch (YamlException e)
        {
            // Line 1 of the YAML is line 2 of the file (after the opening fence).
            var inner = e.InnerException is { } ie && ie.Message != e.Message ? $" ({ie.Message})" : "";
            throw new TemplateException(new TemplateError(TemplateErrorKind.FrontMatter, id,
                $"front matter: {e.Message}{inner}. Fields are 'to' (string), 'dependsOn' (list of template ids) and 'variables' (map).",
                (int)e.Start.Line + 1, (int)e.Start.Column), e);
        }

        if (raw is null)
        {
            return FrontMatter.Empty;
        }

        var deps = new List<string>();
        foreach (var dep in raw.DependsOn ?? [])
        {
            var d = dep?.Trim();
            if (string.IsNullOrEmpty(d))
            {
                throw Error(id, "front matter: 'dependsOn' has an empty entry; list template ids such as 'components/button'.");
            }

            if (d == id)
            {
                throw Error(id, $"front matter: the template depends on itself ('{d}'); remove it from 'dependsOn'.");
            }

            if (deps.Contains(d))
            {
                throw Error(id, $"front matter: 'dependsOn' lists '{d}' twice; list each dependency once.");
            }

            deps.Add(d);
        }

        Dictionary<string, object?> vars;
        try
        {
            vars = raw.Variables is null
                ? new Dictionary<string, object?>(StringComparer.Ordinal)
                : (Dictionary<string, object?>)TemplateValues.Normalize(raw.Variables)!;
            TemplateValues.CheckNotReserved(vars.Keys, "front matter 'variables'");
        }
        catch (InvalidDataException e)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.FrontMatter, id, e.Message), e);
        }

        return new FrontMatter(string.IsNullOrWhiteSpace(raw.To) ? null : raw.To.Trim(), deps, vars);
    }

    private static TemplateException Error(string id, string message) =>
        new(new TemplateError(TemplateErrorKind.FrontMatter, id, message));
}
