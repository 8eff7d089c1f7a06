using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>
/// No template can sink a run of the tool: a 3,000-deep template, an endless loop, a 100 MB output, a dangling and a
/// looping symlink among 50 good templates. Through the command line, agents as processes and as threads: exit 1,
/// exactly those five reported with their reasons, the 50 rendered, no agent lost, nothing else in --out.
/// </summary>
[TestFixture]
public sealed class HostileTreeRunTests
{
    [TestCase(RenderMode.Processes)]
    [TestCase(RenderMode.Threads)]
    public async Task FiveHostileFilesAreReportedAndFiftyGoodOnesRender(RenderMode mode)
    {
        using var work = new TempDirectory();
        var tree = Path.Combine(work.Path, "tpl");
        Directory.CreateDirectory(tree);
        for (int i = 0; i < 50; i++)
        {
            File.WriteAllText(Path.Combine(tree, $"good{i:00}.liquid"), $"---\nto: good/{i:00}.txt\n---\nline {{{{ {i} | plus: 1 }}}}\n");
        }

        File.WriteAllText(Path.Combine(tree, "deep.liquid"), string.Concat(Enumerable.Repeat("{% if true %}", 3000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 3000)));
        File.WriteAllText(Path.Combine(tree, "endless.liquid"), "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}");
        File.WriteAllText(Path.Combine(tree, "huge.liquid"), "{% for i in (1..2000) %}{% for j in (1..1000) %}" + new string('x', 50) + "{% endfor %}{% endfor %}"); // 100 MB
        File.CreateSymbolicLink(Path.Combine(tree, "dangling.liquid"), Path.Combine(tree, "nowhere.liquid"));
        File.CreateSymbolicLink(Path.Combine(tree, "loop.liquid"), Path.Combine(tree, "loop.liquid")); // points at itself

        var run = await CliRun.InvokeAsync(new RealEngineServices(work.Path), CancellationToken.None,
            "run", "--agents", "2", "--mode", mode.ToString().ToLowerInvariant(), "--templates", "tpl", "--out", "out", "--template-timeout", "3");

        var output = Path.Combine(work.Path, "out");
        var table = Flatten(run.Out);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Out, Does.Contain("55 total, 50 rendered, 5 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("5 template(s) failed; the other outputs are in " + output), run.ToString());
            Assert.That(table, Does.Contain("deep.liquid Limit: the body nests blocks 3000 deep"), run.ToString());
            Assert.That(table, Does.Contain("endless.liquid Limit: the body was stopped: it ran more than 10,000,000 loop steps"), run.ToString());
            Assert.That(table, Does.Contain("huge.liquid Limit: the body was stopped: its output passed the 64 MiB limit"), run.ToString());
            Assert.That(table, Does.Contain("dangling.liquid Unreadable:").And.Contain("it is a link to a file that does not exist"), run.ToString());
            Assert.That(table, Does.Contain("loop.liquid Unreadable:").And.Contain("its links loop"), run.ToString());
            Assert.That(run.Out + run.Error, Does.Not.Contain("died"), "no agent was lost");
            Assert.That(Tree.Files(output), Is.EqualTo(Enumerable.Range(0, 50).Select(i => $"good/{i:00}.txt")), "the 50 outputs and nothing else (no temporary or lock file)");
            Assert.That(File.ReadAllText(Path.Combine(output, "good", "49.txt")), Is.EqualTo("line 50\n"));
        });
    }

    /// <summary>The output without table borders and line breaks, runs of white space as one: a wrapped cell reads as one text.</summary>
    private static string Flatten(string output) =>
        string.Join(' ', output.Replace('│', ' ').Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
}
