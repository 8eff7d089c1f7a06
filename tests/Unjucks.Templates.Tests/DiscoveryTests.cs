namespace Unjucks.Templates.Tests;

public sealed class DiscoveryTests
{
    [Test]
    [Repeat(3)]
    public async Task K1_and_K8_find_the_same_templates_and_never_exceed_K()
    {
        using var dir = new TempDir();
        var samples = SampleTree.ExtractTo(dir.Sub("samples"));
        var one = await TemplateDiscovery.DiscoverAsync([samples.TemplatesDirectory], maxConcurrency: 1);
        var eight = await TemplateDiscovery.DiscoverAsync([samples.TemplatesDirectory], maxConcurrency: 8);
        var expected = SampleTree.Files.Where(f => f.StartsWith("templates/", StringComparison.Ordinal))
            .Select(f => TemplateSource.IdFromRelativePath(f["templates/".Length..])).Order(StringComparer.Ordinal).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(one.Templates.Select(t => t.Id), Is.EqualTo(expected));
            Assert.That(eight.Templates.Select(t => t.Id), Is.EqualTo(expected));
            Assert.That(eight.Templates.Select(t => t.Body), Is.EqualTo(one.Templates.Select(t => t.Body)));
            Assert.That(one.Failures, Is.Empty);
            Assert.That(one.MaxObservedInFlight, Is.EqualTo(1));
            Assert.That(eight.MaxObservedInFlight, Is.InRange(1, 8));
            Assert.That(eight.Directories.Sum(d => d.TemplateCount), Is.EqualTo(expected.Count), "every template counted in exactly one directory");
            Assert.That(eight.Directories.Select(d => d.Directory), Is.SupersetOf(new[] { ".", "components", "components/base", "docs", "models" }));
        });
    }

    [Test]
    public async Task Several_roots_first_root_wins_a_duplicate_id()
    {
        using var dir = new TempDir();
        TempDir.Write(dir.Sub("r1"), "a/x.liquid", "one");
        TempDir.Write(dir.Sub("r2"), "a/x.njk", "two");
        TempDir.Write(dir.Sub("r2"), "b.njk", "b");
        TempDir.Write(dir.Sub("r2"), "notes.txt", "ignored");
        var result = await TemplateDiscovery.DiscoverAsync([dir.Sub("r1"), dir.Sub("r2")], maxConcurrency: 2);
        Assert.Multiple(() =>
        {
            Assert.That(result.Templates.Select(t => (t.Id, t.Body, t.Syntax)), Is.EqualTo(new[] { ("a/x", "one", TemplateSyntax.Liquid), ("b", "b", TemplateSyntax.Nunjucks) }));
            Assert.That(result.Failures.Select(f => (f.Error.Kind, f.Error.TemplateId)), Is.EqualTo(new[] { (TemplateErrorKind.DuplicateId, "a/x") }));
        });
    }

    [Test]
    public async Task Missing_root_and_bad_K_are_typed_errors()
    {
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => TemplateDiscovery.DiscoverAsync(["/definitely/not/here"]));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => TemplateDiscovery.DiscoverAsync(["."], maxConcurrency: 0));
    }

    [Test]
    public async Task Broken_front_matter_is_a_discovery_failure_with_a_line()
    {
        using var dir = new TempDir();
        TempDir.Write(dir.Sub("r"), "typo.liquid", "---\nto: x\ndependOn: [a]\n---\nbody");
        TempDir.Write(dir.Sub("r"), "unclosed.liquid", "---\nto: x\nbody");
        TempDir.Write(dir.Sub("r"), "reserved.liquid", "---\nvariables:\n  deps: 1\n---\nbody");
        TempDir.Write(dir.Sub("r"), "good.liquid", "---\nto: \"out/{{ n }}.txt\"\ndependsOn:\n  - typo\nvariables:\n  n: 3\n  list: [1, two, true]\n---\nbody");
        var result = await TemplateDiscovery.DiscoverAsync([dir.Sub("r")]);
        var failures = result.Failures.ToDictionary(f => f.Error.TemplateId, f => f.Error);
        var good = result.Templates.Single();
        Assert.Multiple(() =>
        {
            Assert.That(failures.Keys, Is.EquivalentTo(new[] { "typo", "unclosed", "reserved" }));
            Assert.That(failures.Values.Select(e => e.Kind), Is.All.EqualTo(TemplateErrorKind.FrontMatter));
            Assert.That(failures["typo"].Line, Is.EqualTo(3), failures["typo"].ToString());
            Assert.That(failures["reserved"].Message, Does.Contain("'deps'"));
            Assert.That(good.FrontMatter.To, Is.EqualTo("out/{{ n }}.txt"));
            Assert.That(good.FrontMatter.DependsOn, Is.EqualTo(new[] { "typo" }));
            Assert.That(good.FrontMatter.Variables["n"], Is.EqualTo(3L));
            Assert.That(good.FrontMatter.Variables["list"], Is.EqualTo(new object?[] { 1L, "two", true }));
            Assert.That(good.BodyStartLine, Is.EqualTo(9));
        });
    }

    [Test]
    public async Task Canceled_discovery_throws_operation_canceled()
    {
        using var dir = new TempDir();
        TempDir.Write(dir.Path, "a.liquid", "a");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        Assert.That(async () => await TemplateDiscovery.DiscoverAsync([dir.Path], cancellationToken: cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }
}
