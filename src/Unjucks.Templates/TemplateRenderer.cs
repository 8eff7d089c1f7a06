using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Fluid;

namespace Unjucks.Templates;

/// <summary>A template whose body (and <c>to:</c>) Fluid has parsed; produced once per template by <see cref="TemplateRenderer.Parse"/>.</summary>
public sealed class ParsedTemplate
{
    internal ParsedTemplate(TemplateSource source, IFluidTemplate body, IFluidTemplate? to, TimeSpan parseTime)
    {
        Source = source;
        Body = body;
        To = to;
        ParseTime = parseTime;
    }

    /// <summary>The template it came from.</summary>
    public TemplateSource Source { get; }

    /// <summary>Time spent scanning and parsing.</summary>
    public TimeSpan ParseTime { get; }

    internal IFluidTemplate Body { get; }

    internal IFluidTemplate? To { get; }
}

/// <summary>
/// Renders one template at a time with Fluid: the seam a task engine calls per template, in this process or
/// in an agent process. It holds the Fluid parser and options and a per-id cache of parsed templates, so a
/// template is parsed once however often it is rendered. Thread-safe; share one per job (or per process).
/// <para>
/// Variables a template sees, later ones shadowing earlier ones: the global variables; the template's
/// front matter <c>variables</c>; <c>template</c> (<c>id</c>, <c>output</c>);
/// <c>deps</c>, a map from <see cref="DepsKey"/> of each dependency to <c>{ id, output, path, variables }</c>;
/// and <c>dependencies</c>, the same objects as a list in <c>dependsOn</c> order.
/// </para>
/// </summary>
public sealed partial class TemplateRenderer
{
    private readonly FluidParser _parser = new();
    private readonly TemplateOptions _options;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);

    /// <summary>Creates a renderer.</summary>
    /// <param name="strict">Strict mode: reading an undefined variable, or a missing member of a defined one, is an error.</param>
    /// <param name="limits">What one render may take (default <see cref="RenderLimits.Default"/>).</param>
    public TemplateRenderer(bool strict = false, RenderLimits? limits = null)
    {
        Strict = strict;
        Limits = limits ?? RenderLimits.Default;
        Limits.Validate();
        _options = new TemplateOptions
        {
            StrictVariables = strict,
            // Always: an unknown filter would otherwise be skipped silently, i.e. mis-rendered.
            StrictFilters = true,
            // Same bytes on every machine: numbers and dates do not follow the host's culture.
            CultureInfo = CultureInfo.InvariantCulture,
            // Fluid counts loop iterations against it (and reports reaching it as "maximum level of recursion").
            MaxSteps = Limits.MaxLoopSteps,
        };
    }

    /// <summary>What one render may take.</summary>
    public RenderLimits Limits { get; }

    /// <summary>Whether undefined variables are errors.</summary>
    public bool Strict { get; }

    /// <summary>
    /// The key under which dependency <paramref name="id"/> appears in <c>deps</c>: every character other
    /// than an ASCII letter, digit or underscore becomes '_' (<c>components/nav-bar</c> →
    /// <c>components_nav_bar</c>).
    /// </summary>
    /// <param name="id">A template id.</param>
    /// <returns>The key.</returns>
    public static string DepsKey(string id) =>
        string.Create(id.Length, id, static (span, s) =>
        {
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_';
            }
        });

    /// <summary>
    /// Parses <paramref name="source"/> (cached by id: the second call returns the first result, or throws
    /// the first error). Nunjucks-only constructs are looked for first and reported as such.
    /// </summary>
    /// <param name="source">The template.</param>
    /// <returns>The parsed template.</returns>
    /// <exception cref="TemplateException">Kinds <see cref="TemplateErrorKind.NunjucksConstruct"/> or <see cref="TemplateErrorKind.Syntax"/>.</exception>
    public ParsedTemplate Parse(TemplateSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        while (true)
        {
            var entry = _cache.GetOrAdd(source.Id, static (_, arg) => arg.Self.NewEntry(arg.Source), (Self: this, Source: source));
            if (ReferenceEquals(entry.Source, source)
                || (entry.Source.Body == source.Body && entry.Source.FrontMatter.To == source.FrontMatter.To && entry.Source.BodyStartLine == source.BodyStartLine))
            {
                return entry.Parsed.Value; // Lazy: parsed once; a parse error is cached and rethrown.
            }

            // Same id, different text (a reloaded template): replace the entry and parse again.
            _cache.TryUpdate(source.Id, NewEntry(source), entry);
        }
    }

    private CacheEntry NewEntry(TemplateSource source) =>
        new(source, new Lazy<ParsedTemplate>(() => ParseUncached(source), LazyThreadSafetyMode.ExecutionAndPublication));

    /// <summary>
    /// Renders one template: parses it if needed, renders <c>to:</c> then the body. Pure apart from the
    /// parse cache: no file is read or written.
    /// </summary>
    /// <param name="template">The template.</param>
    /// <param name="dependencies">The rendered results of (at least) every id in the template's <c>dependsOn</c>.</param>
    /// <param name="globals">Global variables (portable values, see <see cref="TemplateValues"/>).</param>
    /// <returns>The rendered template, not yet written.</returns>
    /// <exception cref="ArgumentException"><paramref name="dependencies"/> lacks a dependency.</exception>
    /// <exception cref="TemplateException">Kinds <see cref="TemplateErrorKind.NunjucksConstruct"/>,
    /// <see cref="TemplateErrorKind.Syntax"/>, <see cref="TemplateErrorKind.UndefinedVariable"/>,
    /// <see cref="TemplateErrorKind.Render"/> or <see cref="TemplateErrorKind.OutputPath"/>.</exception>
    public RenderedTemplate RenderOne(TemplateSource template, IReadOnlyDictionary<string, RenderedTemplate> dependencies, IReadOnlyDictionary<string, object?> globals)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(dependencies);
        ArgumentNullException.ThrowIfNull(globals);
        var parsed = Parse(template);
        long start = Stopwatch.GetTimestamp();

        long deadline = start + (long)(Limits.Timeout.TotalSeconds * Stopwatch.Frequency);
        var context = new TemplateContext(_options);
        foreach (var (name, value) in globals)
        {
            context.SetValue(name, value);
        }

        foreach (var (name, value) in template.FrontMatter.Variables)
        {
            context.SetValue(name, value);
        }

        var depsMap = new Dictionary<string, object?>(StringComparer.Ordinal);
        var depsList = new List<object?>(template.FrontMatter.DependsOn.Count);
        foreach (var id in template.FrontMatter.DependsOn)
        {
            if (!dependencies.TryGetValue(id, out var dep))
            {
                throw new ArgumentException($"template '{template.Id}' depends on '{id}', but no rendered result for it was passed; render dependencies first.", nameof(dependencies));
            }

            var entry = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["id"] = dep.Id,
                ["output"] = dep.Content,
                ["path"] = dep.OutputPath,
                ["variables"] = dep.Variables,
            };
            depsMap[DepsKey(id)] = entry;
            depsList.Add(entry);
        }

        var templateInfo = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            // No source path here: it differs between machines, and outputs must not.
            ["id"] = template.Id,
            ["output"] = template.Id,
        };
        context.SetValue("deps", depsMap);
        context.SetValue("dependencies", depsList);
        context.SetValue("template", templateInfo);

        string output = parsed.To is null
            ? template.Id
            : RenderFluid(parsed, parsed.To, context, deadline, isTo: true).Trim();
        output = OutputPaths.Normalize(template.Id, output);
        templateInfo["output"] = output;
        context.SetValue("template", templateInfo);

        var content = RenderFluid(parsed, parsed.Body, context, deadline, isTo: false);
        var timings = new TemplateTimings(template.DiscoveryTime, parsed.ParseTime, Stopwatch.GetElapsedTime(start), TimeSpan.Zero);
        return new RenderedTemplate(template.Id, output, content, template.FrontMatter.Variables, timings);
    }

    private string RenderFluid(ParsedTemplate parsed, IFluidTemplate fluid, TemplateContext context, long deadline, bool isTo)
    {
        var source = parsed.Source;
        var where = isTo ? "front matter 'to'" : "body";
        try
        {
            using var writer = new BoundedTextWriter(Limits.MaxOutputBytes, deadline);
            var pending = fluid.RenderAsync(writer, NullEncoder.Default, context); // no escaping, as Render(context); completes synchronously (no async tags here)
            if (!pending.IsCompletedSuccessfully)
            {
                pending.AsTask().GetAwaiter().GetResult();
            }

            return writer.ToString();
        }
        catch (RenderLimitException e)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.Limit, source.Id, $"the {where} was stopped: {e.Message}"), e);
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("The maximum level of recursion", StringComparison.Ordinal))
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.Limit, source.Id,
                $"the {where} was stopped: it ran more than {Limits.MaxLoopSteps:N0} loop steps, or recursed too deep; look for an endless or huge loop."), e);
        }
        catch (FluidException e) when (UndefinedVariable().Match(e.Message) is { Success: true } m)
        {
            var name = m.Groups[1].Value;
            if (name.StartsWith("Fluid.", StringComparison.Ordinal))
            {
                // Fluid names the AST node instead of the member here; say what happened instead.
                throw new TemplateException(new TemplateError(TemplateErrorKind.UndefinedVariable, source.Id,
                    $"strict mode: the {where} reads a member that is missing or null on a defined object (e.g. deps.<key>.<field>); define it, or render without strict mode."), e);
            }

            var (line, column) = isTo ? (null, null) : FindFirstUse(source, name);
            throw new TemplateException(new TemplateError(TemplateErrorKind.UndefinedVariable, source.Id,
                $"strict mode: the {where} uses the undefined variable '{name}'{(line is null ? "" : " (first use)")}; define it in the global variables or the front matter 'variables', or render without strict mode.",
                line, column), e);
        }
        catch (Exception e) when (e is FluidException or InvalidOperationException or ArgumentException or FormatException or InvalidCastException)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.Render, source.Id, $"rendering the {where} failed: {e.Message}"), e);
        }
    }

    private ParsedTemplate ParseUncached(TemplateSource source)
    {
        long start = Stopwatch.GetTimestamp();
        var constructs = NunjucksScanner.Scan(source.Body, source.BodyStartLine, name => _options.Filters.TryGetValue(name, out _));
        if (constructs.Count > 0)
        {
            var list = string.Join("; ", constructs.Select(c => $"[line {c.Line}] {c.Construct}: {c.Advice}"));
            var first = constructs[0];
            throw new TemplateException(new TemplateError(TemplateErrorKind.NunjucksConstruct, source.Id,
                $"Nunjucks-only construct{(constructs.Count > 1 ? "s" : "")} that Liquid lacks: {list}.", first.Line, first.Column));
        }

        CheckNesting(source, source.Body, "body");
        if (source.FrontMatter.To is { } toSource)
        {
            CheckNesting(source, toSource, "front matter 'to'");
        }

        var body = ParseFluid(source, source.Body, source.BodyStartLine, "body");
        var to = source.FrontMatter.To is { } toText ? ParseFluid(source, toText, null, "front matter 'to'") : null;
        return new ParsedTemplate(source, body, to, Stopwatch.GetElapsedTime(start));
    }

    private static void CheckNesting(TemplateSource source, string text, string what)
    {
        int depth = NestingDepth.Of(text);
        if (depth > RenderLimits.MaxNestingDepth)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.Limit, source.Id,
                $"the {what} nests blocks {depth} deep; the limit is {RenderLimits.MaxNestingDepth} (deeper nesting would overflow the renderer's stack). Flatten it."));
        }
    }

    private IFluidTemplate ParseFluid(TemplateSource source, string text, int? firstLine, string what)
    {
        if (_parser.TryParse(text, out var template, out var error))
        {
            return template;
        }

        // Fluid reports "message at (line:column)\nSource:\n..." with body-relative positions.
        var firstErrorLine = (error ?? "unknown parse error").Split('\n')[0].Trim();
        int? line = null;
        int? column = null;
        if (Position().Match(firstErrorLine) is { Success: true } m)
        {
            firstErrorLine = firstErrorLine[..m.Index].TrimEnd();
            if (firstLine is int fl)
            {
                line = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + fl - 1;
                column = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        var position = line is null ? "" : $" at line {line}, column {column}";
        throw new TemplateException(new TemplateError(TemplateErrorKind.Syntax, source.Id,
            $"Liquid syntax error in the {what}{position}: {firstErrorLine}.", line, column));
    }

    /// <summary>The file position of the first tag that mentions <paramref name="name"/>; a hint for the message.</summary>
    private static (int? Line, int? Column) FindFirstUse(TemplateSource source, string name)
    {
        var word = new Regex(@"(?<![\w.'""])" + Regex.Escape(name) + @"(?![\w])", RegexOptions.CultureInvariant);
        foreach (Match tag in Tag().Matches(source.Body))
        {
            if (word.IsMatch(tag.Value))
            {
                int line = source.BodyStartLine;
                int lineStart = 0;
                for (int i = 0; i < tag.Index; i++)
                {
                    if (source.Body[i] == '\n')
                    {
                        line++;
                        lineStart = i + 1;
                    }
                }

                return (line, tag.Index - lineStart + 1);
            }
        }

        return (null, null);
    }

    private sealed record CacheEntry(TemplateSource Source, Lazy<ParsedTemplate> Parsed);

    [GeneratedRegex(@"^Undefined variable '(.*)'$")]
    private static partial Regex UndefinedVariable();

    [GeneratedRegex(@"\sat \((\d+):(\d+)\)$")]
    private static partial Regex Position();

    [GeneratedRegex(@"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline)]
    private static partial Regex Tag();
}
