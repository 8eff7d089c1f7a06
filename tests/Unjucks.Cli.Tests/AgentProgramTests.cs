using Unjucks.Cli.Adapters;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

[TestFixture]
/// <summary>How a processes-mode job starts its agents (this build's tool again), and the temporary-file names a killed agent may leave.</summary>
public sealed class AgentProgramTests
{
    [TestCase(".a.txt.0123456789abcdef0123456789abcdef.tmp", true)]
    [TestCase(".index.md.ffffffffffffffffffffffffffffffff.tmp", true)]
    [TestCase("a.txt.0123456789abcdef0123456789abcdef.tmp", false)]
    [TestCase(".a.txt.0123456789ABCDEF0123456789abcdef.tmp", false)]
    [TestCase(".a.txt.0123456789abcdef0123456789abcde.tmp", false)]
    [TestCase(".a.tmp", false)]
    [TestCase("notes.tmp", false)]
    public void TemporaryFileNamesAreRecognised(string name, bool expected) =>
        Assert.That(OutputWriter.IsTemporaryFileName(name), Is.EqualTo(expected));

    [Test]
    public async Task NoAgentSubcommandIsInTheHelp()
    {
        var run = await CliRun.InvokeAsync(new FakeServices(), "--help");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("run").And.Contain("scale"));
        Assert.That(run.Out.Split('\n').Where(l => l.TrimStart().StartsWith("agent", StringComparison.Ordinal)), Is.Empty, run.ToString());
    }

    [Test]
    public void TheAgentProgramIsThisBuildsToolWithNoArgumentsOfItsOwn()
    {
        var info = AgentProgram.StartInfo();
        var arguments = info.ArgumentList.ToList();

        // Under the test host the tool runs as 'dotnet <path>/unjucks-perf.dll'; the session appends its own arguments.
        Assert.That(arguments.Concat([info.FileName]).Any(a => a.EndsWith("unjucks-perf.dll", StringComparison.Ordinal) || Path.GetFileName(a) == "unjucks-perf"),
            Is.True, info.FileName + " " + string.Join(' ', arguments));
        Assert.That(arguments.Count, Is.LessThanOrEqualTo(1), string.Join(' ', arguments));
    }
}
