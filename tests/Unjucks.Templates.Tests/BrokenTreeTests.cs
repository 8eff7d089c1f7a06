namespace Unjucks.Templates.Tests;

/// <summary>Runs samples/broken (copied next to the tests): every failure kind beside templates that must render.</summary>
public sealed class BrokenTreeTests
{
    private static readonly string BrokenRoot = Path.Combine(AppContext.BaseDirectory, "broken");

    private static readonly Dictionary<string, object?> Globals = new() { ["project"] = new Dictionary<string, object?> { ["name"] = "Acme" } };

    private static Task<JobReport> Run(string output, bool strict) => RenderJob.RunAsync(new RenderJobOptions
    {
        TemplateDirectories = [BrokenRoot],
        OutputDirectory = output,
        Variables = Globals,
        Strict = strict,
        Agents = 3,
    });

    private static TemplateOutcome Outcome(JobReport report, string id) =>
        report.Templates.Single(t => t.Id == id);

    [Test]
    public async Task Each_failure_is_reported_per_template_and_the_rest_render()
    {
        using var dir = new TempDir();
        var report = await Run(dir.Sub("out"), strict: false);
        var expected = new Dictionary<string, (TemplateStatus Status, TemplateErrorKind? Kind)>
        {
            ["ok/base"] = (TemplateStatus.Rendered, null),
            ["ok/child"] = (TemplateStatus.Rendered, null),
            ["ok/plain"] = (TemplateStatus.Rendered, null),
            ["strict"] = (TemplateStatus.Rendered, null),
            ["syntax"] = (TemplateStatus.Failed, TemplateErrorKind.Syntax),
            ["after-syntax"] = (TemplateStatus.DependencyFailed, TemplateErrorKind.DependencyFailed),
            ["nunjucks"] = (TemplateStatus.Failed, TemplateErrorKind.NunjucksConstruct),
            ["paths/up"] = (TemplateStatus.Failed, TemplateErrorKind.OutputPath),
            ["paths/absolute"] = (TemplateStatus.Failed, TemplateErrorKind.OutputPath),
            ["paths/middle"] = (TemplateStatus.Failed, TemplateErrorKind.OutputPath),
            ["missing"] = (TemplateStatus.Failed, TemplateErrorKind.MissingDependency),
            ["cycle/a"] = (TemplateStatus.Failed, TemplateErrorKind.DependencyCycle),
            ["cycle/b"] = (TemplateStatus.Failed, TemplateErrorKind.DependencyCycle),
            ["cycle/c"] = (TemplateStatus.Failed, TemplateErrorKind.DependencyCycle),
            ["cycle/outside"] = (TemplateStatus.DependencyFailed, TemplateErrorKind.DependencyFailed),
        };

        var actual = report.Templates.ToDictionary(t => t.Id, t => (t.Status, t.Error?.Kind));
        Assert.That(actual, Is.EquivalentTo(expected), report.Describe());

        var files = SampleTreeTests.HashTree(dir.Sub("out")).Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(report.Rendered, Is.EqualTo(4));
            Assert.That(report.Failed, Is.EqualTo(11));
            Assert.That(files, Is.EqualTo(new[] { "ok/base.txt", "ok/child.txt", "ok/plain.txt", "strict.txt" }));
            Assert.That(Directory.EnumerateFileSystemEntries(dir.Path), Is.EquivalentTo(new[] { dir.Sub("out") }), "nothing written beside the output directory");
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "ok", "child.txt")), Is.EqualTo("child saw [Hello from base] and greeting=Hello\n"));
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "ok", "plain.txt")), Is.EqualTo("123\n"));
        });
    }

    [Test]
    public async Task Errors_carry_lines_constructs_and_the_cycle()
    {
        using var dir = new TempDir();
        var report = await Run(dir.Sub("out"), strict: false);
        var syntax = Outcome(report, "syntax").Error!;
        var nunjucks = Outcome(report, "nunjucks").Error!;
        var cycleA = Outcome(report, "cycle/a").Error!;
        var outside = Outcome(report, "cycle/outside").Error!;
        var after = Outcome(report, "after-syntax").Error!;
        Assert.Multiple(() =>
        {
            Assert.That(syntax.Line, Is.EqualTo(6), syntax.ToString());
            Assert.That(syntax.Column, Is.Not.Null, syntax.ToString());
            Assert.That(syntax.Message, Does.Contain("line 6").And.Contain("'if'"));
            Assert.That(nunjucks.Line, Is.EqualTo(5), nunjucks.ToString());
            Assert.That(nunjucks.Message, Does.Contain("[line 5] {% set %}").And.Contain("[line 6] | safe").And.Contain("[line 7] {# ... #}"));
            Assert.That(cycleA.Message, Does.Contain("cycle/a -> cycle/b -> cycle/c -> cycle/a"));
            Assert.That(outside.Message, Does.Contain("'cycle/a'"));
            Assert.That(after.Message, Does.Contain("'syntax'"));
            Assert.That(Outcome(report, "missing").Error!.Message, Does.Contain("'nope/nothing'"));
            Assert.That(Outcome(report, "paths/middle").Error!.Message, Does.Contain("a/../../x"));
        });
    }

    [Test]
    public async Task Strict_mode_reports_the_unknown_variable_with_its_line()
    {
        using var dir = new TempDir();
        var report = await Run(dir.Sub("out"), strict: true);
        var strict = Outcome(report, "strict");
        Assert.Multiple(() =>
        {
            Assert.That(strict.Status, Is.EqualTo(TemplateStatus.Failed));
            Assert.That(strict.Error!.Kind, Is.EqualTo(TemplateErrorKind.UndefinedVariable));
            Assert.That(strict.Error.Message, Does.Contain("'not_defined_anywhere'"));
            Assert.That(strict.Error.Line, Is.EqualTo(5));
            Assert.That(Outcome(report, "ok/child").Status, Is.EqualTo(TemplateStatus.Rendered), "independent templates still render");
            Assert.That(report.Rendered, Is.EqualTo(3));
        });
    }
}
