namespace Unjucks.Templates.Tests;

/// <summary>No template can sink a run: one too deep, one endless, one too large, a dangling and a looping link
/// among 50 good templates. Each of the five is its own error with its reason; the 50 render; the job returns.</summary>
public sealed class HostileTreeTests
{
    [TestCase(RenderMode.Threads)]
    public async Task Five_hostile_files_fail_alone_with_their_reasons_and_fifty_good_ones_render(RenderMode mode)
    {
        using var dir = new TempDir();
        var t = dir.Sub("t");
        Directory.CreateDirectory(t);
        for (int i = 0; i < 50; i++)
        {
            File.WriteAllText(Path.Combine(t, $"good{i:00}.liquid"), $"---\nto: good/{i:00}.txt\n---\nline {{{{ {i} | plus: 1 }}}}\n");
        }

        File.WriteAllText(Path.Combine(t, "deep.liquid"), string.Concat(Enumerable.Repeat("{% if true %}", 3000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 3000)));
        File.WriteAllText(Path.Combine(t, "endless.liquid"), "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}");
        File.WriteAllText(Path.Combine(t, "huge.liquid"), "{% for i in (1..2000) %}{% for j in (1..1000) %}" + new string('x', 50) + "{% endfor %}{% endfor %}");
        File.CreateSymbolicLink(Path.Combine(t, "dangling.liquid"), Path.Combine(t, "nowhere.liquid"));
        File.CreateSymbolicLink(Path.Combine(t, "loop1.liquid"), Path.Combine(t, "loop2.liquid"));
        File.CreateSymbolicLink(Path.Combine(t, "loop2.liquid"), Path.Combine(t, "loop1.liquid"));

        var report = await RenderJob.RunAsync(new RenderJobOptions
        {
            TemplateDirectories = [t],
            OutputDirectory = dir.Sub("out"),
            Agents = 2,
            Mode = mode,
            Limits = new RenderLimits { Timeout = TimeSpan.FromSeconds(5) },
        }).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.That(report.Rendered, Is.EqualTo(50), report.Describe());
        var failures = report.Failures.ToDictionary(f => f.Id, f => f.Error!);
        Assert.That(failures.Keys, Is.EquivalentTo(new[] { "deep", "endless", "huge", "dangling", "loop1", "loop2" }), report.Describe());
        Assert.That(failures["deep"].Kind, Is.EqualTo(TemplateErrorKind.Limit));
        Assert.That(failures["deep"].Message, Does.Contain("3000 deep"));
        Assert.That(failures["endless"].Kind, Is.EqualTo(TemplateErrorKind.Limit));
        Assert.That(failures["huge"].Kind, Is.EqualTo(TemplateErrorKind.Limit));
        Assert.That(failures["huge"].Message, Does.Contain("64 MiB"));
        Assert.That(failures["dangling"].Kind, Is.EqualTo(TemplateErrorKind.Unreadable));
        Assert.That(failures["dangling"].Message, Does.Contain("does not exist"));
        Assert.That(failures["loop1"].Kind, Is.EqualTo(TemplateErrorKind.Unreadable));
        Assert.That(failures["loop1"].Message, Does.Contain("loop"));
        Assert.That(Directory.EnumerateFiles(dir.Sub("out"), "*", SearchOption.AllDirectories).Count(), Is.EqualTo(50), "the 50 outputs and nothing else (no temporary files)");
        Assert.That(report.Session!.AgentDeaths, Is.Zero, "no agent crashed");
    }

    [Test]
    public async Task A_file_that_is_not_utf8_is_its_own_error()
    {
        using var dir = new TempDir();
        var t = dir.Sub("t");
        Directory.CreateDirectory(t);
        File.WriteAllBytes(Path.Combine(t, "latin1.liquid"), [0x63, 0x61, 0x66, 0xE9, 0x0A]);
        File.WriteAllText(Path.Combine(t, "ok.liquid"), "fine\n");

        var report = await RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [t], OutputDirectory = dir.Sub("out"), Agents = 1 });

        Assert.That(report.Rendered, Is.EqualTo(1), report.Describe());
        var failure = report.Failures.Single();
        Assert.That((failure.Id, failure.Error!.Kind), Is.EqualTo(("latin1", TemplateErrorKind.Unreadable)));
        Assert.That(failure.Error.Message, Does.Contain("not valid UTF-8"));
    }
}
