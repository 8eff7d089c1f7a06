using System.Security.Cryptography;

namespace Unjucks.Templates.Tests;

public sealed class SampleTreeTests
{
    private static async Task<(JobReport Report, Dictionary<string, string> Hashes)> RenderSamples(TempDir dir, string outName, int renderConcurrency, bool strict)
    {
        var samples = SampleTree.ExtractTo(dir.Sub("samples"));
        var report = await RenderJob.RunAsync(new RenderJobOptions
        {
            TemplateDirectories = [samples.TemplatesDirectory],
            OutputDirectory = dir.Sub(outName),
            Variables = TemplateValues.LoadFile(samples.VariablesFile),
            Agents = renderConcurrency,
            Strict = strict,
        });
        return (report, HashTree(dir.Sub(outName)));
    }

    internal static Dictionary<string, string> HashTree(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);

    [Test]
    public void Embedded_tree_has_at_least_200_templates_in_several_directories()
    {
        var templates = SampleTree.Files.Where(f => f.StartsWith("templates/", StringComparison.Ordinal)).ToList();
        var dirs = templates.Select(f => f.Split('/')[1]).Distinct().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(templates, Has.Count.GreaterThanOrEqualTo(200));
            Assert.That(dirs, Is.SupersetOf(new[] { "components", "pages", "api", "models", "tests", "docs" }));
            Assert.That(SampleTree.Files, Does.Contain("vars.json"));
            Assert.That(SampleTree.Files.Any(f => f.StartsWith("broken", StringComparison.Ordinal)), Is.False, "broken samples must not be embedded");
        });
    }

    [Test]
    public async Task Sample_tree_renders_completely_in_strict_mode_and_twice_gives_identical_bytes()
    {
        using var dir = new TempDir();
        var (first, firstHashes) = await RenderSamples(dir, "out1", renderConcurrency: 4, strict: true);
        var (second, secondHashes) = await RenderSamples(dir, "out2", renderConcurrency: 1, strict: true);

        Assert.Multiple(() =>
        {
            Assert.That(first.Failures, Is.Empty, () => first.Describe());
            Assert.That(second.Failures, Is.Empty, () => second.Describe());
            Assert.That(first.Rendered, Is.EqualTo(SampleTree.Files.Count(f => f.StartsWith("templates/", StringComparison.Ordinal))));
            Assert.That(firstHashes, Has.Count.EqualTo(first.Rendered), "one output per template");
            Assert.That(secondHashes, Is.EquivalentTo(firstHashes), "byte-identical outputs across runs");
        });
    }

    [Test]
    public async Task Fan_in_template_sees_every_dependency_output()
    {
        using var dir = new TempDir();
        var (report, _) = await RenderSamples(dir, "out", renderConcurrency: 2, strict: false);
        Assert.That(report.Failures, Is.Empty, () => report.Describe());
        var index = await File.ReadAllTextAsync(Path.Combine(dir.Sub("out"), "docs", "index.md"));
        var models = await File.ReadAllTextAsync(Path.Combine(dir.Sub("out"), "docs", "models.md"));
        var gettingStarted = await File.ReadAllTextAsync(Path.Combine(dir.Sub("out"), "docs", "getting-started.md"));
        Assert.Multiple(() =>
        {
            Assert.That(models.Split('\n').Count(l => l.StartsWith("| ", StringComparison.Ordinal) && l.Contains("src/Models/", StringComparison.Ordinal)), Is.EqualTo(40), models);
            Assert.That(index, Does.Contain(gettingStarted.Trim()), "index embeds the getting-started output");
            Assert.That(index, Does.Contain($"| {new FileInfo(Path.Combine(dir.Sub("out"), "docs", "models.md")).Length} bytes |"), index);
        });
    }
}
