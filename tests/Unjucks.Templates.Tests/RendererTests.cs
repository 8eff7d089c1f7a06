using System.Text.Json;

namespace Unjucks.Templates.Tests;

public sealed class RendererTests
{
    private static readonly Dictionary<string, object?> NoGlobals = new();

    private static RenderedTemplate Render(TemplateRenderer renderer, string id, string text, IReadOnlyDictionary<string, RenderedTemplate>? deps = null, IReadOnlyDictionary<string, object?>? globals = null) =>
        renderer.RenderOne(TemplateSource.FromText(id, text), deps ?? new Dictionary<string, RenderedTemplate>(), globals ?? NoGlobals);

    [Test]
    public void RenderOne_exposes_dependencies_as_deps_and_as_a_list()
    {
        var renderer = new TemplateRenderer(strict: true);
        var a = Render(renderer, "lib/nav-bar", "---\nto: out/{{ name }}.txt\nvariables:\n  name: Nav\n---\nNAV");
        var b = Render(renderer, "page", "---\ndependsOn:\n  - lib/nav-bar\n---\n{{ deps.lib_nav_bar.output }}|{{ deps.lib_nav_bar.variables.name }}|{{ deps.lib_nav_bar.path }}|{% for d in dependencies %}{{ d.id }}{% endfor %}|{{ template.id }}->{{ template.output }}",
            new Dictionary<string, RenderedTemplate> { ["lib/nav-bar"] = a });
        Assert.Multiple(() =>
        {
            Assert.That(a.OutputPath, Is.EqualTo("out/Nav.txt"));
            Assert.That(b.Content, Is.EqualTo("NAV|Nav|out/Nav.txt|lib/nav-bar|page->page"));
            Assert.That(TemplateRenderer.DepsKey("lib/nav-bar.md"), Is.EqualTo("lib_nav_bar_md"));
        });
    }

    [Test]
    public void Front_matter_variables_override_globals()
    {
        var renderer = new TemplateRenderer();
        var r = Render(renderer, "t", "---\nvariables:\n  who: local\n---\n{{ who }} {{ other }}", globals: new Dictionary<string, object?> { ["who"] = "global", ["other"] = 7L });
        Assert.That(r.Content, Is.EqualTo("local 7"));
    }

    [Test]
    public void Variables_that_went_through_json_render_the_same()
    {
        var renderer = new TemplateRenderer(strict: true);
        var globals = new Dictionary<string, object?> { ["items"] = new List<object?> { new Dictionary<string, object?> { ["n"] = "x", ["v"] = 1.5 } }, ["flag"] = true };
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(globals))!;
        var roundTripped = (Dictionary<string, object?>)TemplateValues.Normalize(json)!;
        const string Text = "{% for i in items %}{{ i.n }}={{ i.v }}{% endfor %} {% if flag %}on{% endif %}";
        Assert.That(Render(renderer, "t", Text, globals: roundTripped).Content, Is.EqualTo(Render(renderer, "t2", Text, globals: globals).Content).And.EqualTo("x=1.5 on"));
    }

    [Test]
    public void Missing_dependency_result_is_an_argument_error()
    {
        var renderer = new TemplateRenderer();
        var ex = Assert.Throws<ArgumentException>(() => Render(renderer, "t", "---\ndependsOn: [a]\n---\nx"));
        Assert.That(ex!.Message, Does.Contain("'a'"));
    }

    [Test]
    public void Template_is_parsed_once()
    {
        var renderer = new TemplateRenderer();
        var source = TemplateSource.FromText("t", "{{ 1 | plus: 1 }}");
        var first = renderer.Parse(source);
        var second = renderer.Parse(source);
        var changed = renderer.Parse(TemplateSource.FromText("t", "{{ 2 }}"));
        Assert.Multiple(() =>
        {
            Assert.That(second, Is.SameAs(first));
            Assert.That(changed, Is.Not.SameAs(first), "a template with the same id but new text is parsed again");
            Assert.That(renderer.RenderOne(source, new Dictionary<string, RenderedTemplate>(), NoGlobals).Content, Is.EqualTo("2"));
        });
    }

    [Test]
    public void Syntax_error_line_counts_the_front_matter()
    {
        var renderer = new TemplateRenderer();
        var ex = Assert.Throws<TemplateException>(() => renderer.Parse(TemplateSource.FromText("t", "---\nto: x\n---\nok\n{% for x in y %}\n")));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.Syntax));
            Assert.That(ex.Error.Line, Is.GreaterThanOrEqualTo(5), ex.Message);
            Assert.That(ex.Message, Does.Contain("endfor"));
        });
    }

    [Test]
    public void Parse_error_is_cached_and_rethrown()
    {
        var renderer = new TemplateRenderer();
        var source = TemplateSource.FromText("t", "{% if %}");
        var first = Assert.Throws<TemplateException>(() => renderer.Parse(source));
        var second = Assert.Throws<TemplateException>(() => renderer.Parse(source));
        Assert.That(second, Is.SameAs(first));
    }

    [Test]
    public void Strict_mode_rejects_unknown_variables_and_members_lenient_mode_renders_empty()
    {
        var strict = new TemplateRenderer(strict: true);
        var lenient = new TemplateRenderer(strict: false);
        var globals = new Dictionary<string, object?> { ["d"] = new Dictionary<string, object?> { ["x"] = 1L } };
        const string Unknown = "a\n{{ nope }}";
        const string Member = "{{ d.missing }}";
        var unknown = Assert.Throws<TemplateException>(() => Render(strict, "t", Unknown, globals: globals));
        var member = Assert.Throws<TemplateException>(() => Render(strict, "m", Member, globals: globals));
        Assert.Multiple(() =>
        {
            Assert.That(unknown!.Kind, Is.EqualTo(TemplateErrorKind.UndefinedVariable));
            Assert.That(unknown.Error.Line, Is.EqualTo(2));
            Assert.That(unknown.Message, Does.Contain("'nope'"));
            Assert.That(member!.Kind, Is.EqualTo(TemplateErrorKind.UndefinedVariable));
            Assert.That(Render(lenient, "t", Unknown, globals: globals).Content, Is.EqualTo("a\n"));
            Assert.That(Render(lenient, "m", Member, globals: globals).Content, Is.EqualTo(""));
        });
    }

    [Test]
    public void Unknown_filter_is_an_error_even_without_strict_mode()
    {
        var ex = Assert.Throws<TemplateException>(() => Render(new TemplateRenderer(), "t", "{{ 'a' | no_such_filter }}"));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.Render));
            Assert.That(ex.Message, Does.Contain("no_such_filter"));
        });
    }

    [Test]
    public void Output_path_from_to_is_validated()
    {
        var renderer = new TemplateRenderer();
        var ex = Assert.Throws<TemplateException>(() => Render(renderer, "t", "---\nto: \"{{ dir }}/x\"\nvariables:\n  dir: ..\n---\nx"));
        Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.OutputPath));
    }

    [Test]
    public void Default_output_path_is_the_id()
    {
        Assert.That(Render(new TemplateRenderer(), "docs/readme.md", "x").OutputPath, Is.EqualTo("docs/readme.md"));
    }
}
