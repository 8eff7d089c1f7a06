using System.Text.Json;

namespace Unjucks.Templates.Tests;

/// <summary>
/// The per-template seam the agent-process engine uses: each template rendered by one of several
/// independent renderers (as if in different processes), dependency results passed through JSON.
/// </summary>
public sealed class SeamTests
{
    [Test]
    public async Task Rendering_template_by_template_across_renderers_matches_the_job()
    {
        using var dir = new TempDir();
        var samples = SampleTree.ExtractTo(dir.Sub("samples"));
        var globals = TemplateValues.LoadFile(samples.VariablesFile);
        var job = await RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [samples.TemplatesDirectory], OutputDirectory = dir.Sub("job"), Variables = globals });
        Assert.That(job.Failures, Is.Empty, () => job.Describe());

        var discovery = await TemplateDiscovery.DiscoverAsync([samples.TemplatesDirectory]);
        var plan = TemplatePlan.Create(discovery.Templates, discovery.Failures);
        var renderers = new[] { new TemplateRenderer(), new TemplateRenderer(), new TemplateRenderer() };
        var writers = renderers.Select(_ => new OutputWriter(dir.Sub("seam"))).ToArray();
        var shipped = new Dictionary<string, string>(StringComparer.Ordinal); // id -> RenderedTemplate as JSON
        var pending = plan.Runnable.ToList();
        int agent = 0;
        while (pending.Count > 0)
        {
            var ready = pending.Where(t => t.FrontMatter.DependsOn.All(shipped.ContainsKey)).ToList();
            Assert.That(ready, Is.Not.Empty, "the plan's runnable set must be acyclic");
            foreach (var t in ready)
            {
                var deps = t.FrontMatter.DependsOn.ToDictionary(d => d, d => FromJson(shipped[d]), StringComparer.Ordinal);
                var rendered = renderers[agent % renderers.Length].RenderOne(t, deps, globals);
                writers[agent % writers.Length].Write(rendered);
                shipped[t.Id] = JsonSerializer.Serialize(rendered);
                agent++;
                pending.Remove(t);
            }
        }

        Assert.That(SampleTreeTests.HashTree(dir.Sub("seam")), Is.EquivalentTo(SampleTreeTests.HashTree(dir.Sub("job"))));
    }

    private static RenderedTemplate FromJson(string json)
    {
        var r = JsonSerializer.Deserialize<RenderedTemplate>(json)!;
        return r with { Variables = (Dictionary<string, object?>)TemplateValues.Normalize(r.Variables)! };
    }
}
