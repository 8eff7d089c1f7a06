namespace Unjucks.Templates.Tests;

public sealed class NunjucksScannerTests
{
    private static TemplateException? ParseError(string body)
    {
        try
        {
            new TemplateRenderer().Parse(TemplateSource.FromText("t", body, syntax: TemplateSyntax.Nunjucks));
            return null;
        }
        catch (TemplateException e)
        {
            return e;
        }
    }

    [TestCase("{% set x = 1 %}", "{% set %}")]
    [TestCase("{% macro m() %}x{% endmacro %}", "{% macro %}")]
    [TestCase("{% extends \"base.njk\" %}", "{% extends %}")]
    [TestCase("{% block content %}x{% endblock %}", "{% block %}")]
    [TestCase("{% import \"m.njk\" as m %}", "{% import %}")]
    [TestCase("{% if a %}x{% elif b %}y{% endif %}", "{% elif %}")]
    [TestCase("{{ x | safe }}", "| safe")]
    [TestCase("{{ x | upper }}", "| upper")]
    [TestCase("{{ items | length }}", "| length")]
    [TestCase("{# comment #}", "{# ... #}")]
    [TestCase("{{ a if b else c }}", "{{ a if cond else b }}")]
    [TestCase("{% for k, v in obj %}{% endfor %}", "{% for key, value in map %}")]
    [TestCase("{% for i in xs %}{{ loop.index }}{% endfor %}", "loop.index")]
    [TestCase("{% if not x %}y{% endif %}", "not")]
    [TestCase("{{ a ~ b }}", "~ (concatenation)")]
    [TestCase("{{ super() }}", "super()")]
    public void Nunjucks_construct_is_reported_by_name_with_its_line(string construct, string reported)
    {
        var ex = ParseError("line 1\n" + construct + "\n");
        Assert.That(ex, Is.Not.Null, construct);
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.NunjucksConstruct), ex.Message);
            Assert.That(ex.Message, Does.Contain("[line 2] " + reported), ex.Message);
            Assert.That(ex.Error.Line, Is.EqualTo(2));
        });
    }

    [TestCase("{% for i in (1..3) %}{{ forloop.index }}{% endfor %}")]
    [TestCase("{% if x contains \"not set\" %}{{ 'a | safe' }}{% endif %}")]
    [TestCase("{% raw %}{% set x = 1 %}{{ y | safe }}{# c #}{% endraw %}")]
    [TestCase("{% comment %}{% set x = 1 %}{# c #}{% endcomment %}")]
    [TestCase("{% for i in xs %}{{ i }}{% else %}none{% endfor %}")]
    [TestCase("{{ x | downcase | default: 'y' }} {% assign z = x | size %}{% unless z %}u{% endunless %}")]
    [TestCase("{{ loops.index }} {{ a.loop.index }}")]
    public void Liquid_constructs_are_not_reported(string body)
    {
        var ex = ParseError(body);
        Assert.That(ex?.Kind, Is.Not.EqualTo(TemplateErrorKind.NunjucksConstruct), ex?.Message);
    }
}
