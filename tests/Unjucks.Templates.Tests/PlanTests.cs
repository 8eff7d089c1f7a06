namespace Unjucks.Templates.Tests;

public sealed class PlanTests
{
    private static TemplateSource T(string id, params string[] deps) =>
        TemplateSource.FromText(id, deps.Length == 0 ? "x" : "---\ndependsOn: [" + string.Join(", ", deps) + "]\n---\nx");

    private static Dictionary<string, TemplateOutcome> Failed(TemplatePlan plan) => plan.Failed.ToDictionary(f => f.Id);

    [Test]
    public void Missing_dependency_fails_the_template_and_its_dependents_only()
    {
        var plan = TemplatePlan.Create([T("a"), T("b", "a"), T("c", "ghost"), T("d", "c"), T("e", "d")], []);
        var failed = Failed(plan);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Runnable.Select(t => t.Id), Is.EqualTo(new[] { "a", "b" }));
            Assert.That(failed["c"].Error!.Kind, Is.EqualTo(TemplateErrorKind.MissingDependency));
            Assert.That(failed["c"].Error!.Message, Does.Contain("'ghost'"));
            Assert.That(failed["d"].Status, Is.EqualTo(TemplateStatus.DependencyFailed));
            Assert.That(failed["e"].Status, Is.EqualTo(TemplateStatus.DependencyFailed));
            Assert.That(failed["e"].Error!.Message, Does.Contain("'d'").And.Contain("'c'"), "names the direct dependency and the root cause");
        });
    }

    [Test]
    public void Every_member_of_a_cycle_names_a_cycle_through_itself()
    {
        var plan = TemplatePlan.Create([T("x"), T("a", "b"), T("b", "c"), T("c", "a", "x"), T("p", "q"), T("q", "p"), T("after", "b")], []);
        var failed = Failed(plan);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Runnable.Select(t => t.Id), Is.EqualTo(new[] { "x" }));
            Assert.That(failed["a"].Error!.Message, Does.Contain("a -> b -> c -> a"));
            Assert.That(failed["b"].Error!.Message, Does.Contain("b -> c -> a -> b"));
            Assert.That(failed["c"].Error!.Message, Does.Contain("c -> a -> b -> c"));
            Assert.That(failed["p"].Error!.Message, Does.Contain("p -> q -> p"));
            Assert.That(failed["q"].Error!.Kind, Is.EqualTo(TemplateErrorKind.DependencyCycle));
            Assert.That(failed["after"].Status, Is.EqualTo(TemplateStatus.DependencyFailed));
        });
    }

    [Test]
    public void Self_dependency_is_a_front_matter_error()
    {
        var ex = Assert.Throws<TemplateException>(() => T("a", "a"));
        Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.FrontMatter));
    }

    [Test]
    public void Dependents_of_a_template_with_broken_front_matter_fail_as_dependents()
    {
        var failure = new DiscoveryFailure(new TemplateError(TemplateErrorKind.FrontMatter, "bad", "broken"), "/x/bad.liquid");
        var plan = TemplatePlan.Create([T("uses-bad", "bad"), T("ok")], [failure]);
        var failed = Failed(plan);
        Assert.Multiple(() =>
        {
            Assert.That(plan.Runnable.Select(t => t.Id), Is.EqualTo(new[] { "ok" }));
            Assert.That(failed["bad"].Error!.Kind, Is.EqualTo(TemplateErrorKind.FrontMatter));
            Assert.That(failed["uses-bad"].Status, Is.EqualTo(TemplateStatus.DependencyFailed));
        });
    }

    [Test]
    public async Task Long_chain_renders_in_dependency_order()
    {
        using var dir = new TempDir();
        const int Length = 30;
        for (int i = 0; i < Length; i++)
        {
            var deps = i == 0 ? "" : $"dependsOn:\n  - chain/n{i - 1:D2}\n";
            var body = i == 0 ? "0" : $"{{{{ deps.chain_n{i - 1:D2}.output }}}},{i}";
            TempDir.Write(dir.Sub("t"), $"chain/n{i:D2}.liquid", $"---\nto: n{i:D2}.txt\n{deps}---\n{body}");
        }

        // Plus fan-in: one template depending on every link, independent of order of submission.
        TempDir.Write(dir.Sub("t"), "all.liquid", "---\nto: all.txt\ndependsOn:\n" + string.Concat(Enumerable.Range(0, Length).Select(i => $"  - chain/n{i:D2}\n")) + "---\n{% for d in dependencies %}{{ d.id }};{% endfor %}");
        var report = await RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [dir.Sub("t")], OutputDirectory = dir.Sub("out"), Agents = 4, Strict = true });
        Assert.That(report.Failures, Is.Empty, () => report.Describe());
        var last = await File.ReadAllTextAsync(Path.Combine(dir.Sub("out"), $"n{Length - 1:D2}.txt"));
        var all = await File.ReadAllTextAsync(Path.Combine(dir.Sub("out"), "all.txt"));
        Assert.Multiple(() =>
        {
            Assert.That(last, Is.EqualTo(string.Join(",", Enumerable.Range(0, Length))));
            Assert.That(all, Is.EqualTo(string.Concat(Enumerable.Range(0, Length).Select(i => $"chain/n{i:D2};"))));
        });
    }
}
