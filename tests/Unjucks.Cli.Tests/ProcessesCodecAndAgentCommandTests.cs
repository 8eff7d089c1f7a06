using Unjucks.Cli.Adapters;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>What crosses the process boundary in processes mode, and the hidden agent subcommand's argument checks.</summary>
[TestFixture]
public sealed class ProcessesCodecAndAgentCommandTests
{
    [TestCase(0, 0, "a")]
    [TestCase(9999, 220, "components/forms/field-group")]
    [TestCase(int.MaxValue, int.MaxValue, "x/ü/日本")]
    public void PayloadRoundTrips(int round, int index, string id)
    {
        var payload = ProcessesTaskCodec.EncodePayload(round, index, id);

        Assert.That(payload, Has.Length.EqualTo(ProcessesTaskCodec.PayloadBytes));
        Assert.That(ProcessesTaskCodec.DecodePayload(payload), Is.EqualTo((round, index, ProcessesTaskCodec.IdHash(id))));
        Assert.That(ProcessesTaskCodec.IdHash(id), Is.Not.EqualTo(ProcessesTaskCodec.IdHash(id + "x")));
    }

    [Test]
    public void APayloadOfAnotherSizeIsRefusedWithWhatItIs()
    {
        Assert.That(() => ProcessesTaskCodec.DecodePayload(new byte[15]),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contains("got 15"));
    }

    [TestCase(0, 0, 0, 0)]
    [TestCase(1021, 39, 12, 120)]
    [TestCase(3, 131_071, 262_143, 262_143)]
    public void ResultRoundTripsInMicroseconds(int agent, int parseUs, int renderUs, int writeUs)
    {
        var result = ProcessesTaskCodec.EncodeResult(agent, TimeSpan.FromMicroseconds(parseUs), TimeSpan.FromMicroseconds(renderUs), TimeSpan.FromMicroseconds(writeUs));

        Assert.That(result, Is.GreaterThanOrEqualTo(0), "never the engine's reserved failure mark (long.MinValue)");
        Assert.That(ProcessesTaskCodec.DecodeResult(result), Is.EqualTo((agent, TimeSpan.FromMicroseconds(parseUs), TimeSpan.FromMicroseconds(renderUs), TimeSpan.FromMicroseconds(writeUs))));
    }

    [Test]
    public void ResultFieldsSaturateInsteadOfSpillingIntoEachOther()
    {
        var result = ProcessesTaskCodec.EncodeResult(5, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));

        Assert.That(result, Is.GreaterThanOrEqualTo(0));
        Assert.That(ProcessesTaskCodec.DecodeResult(result), Is.EqualTo((5, TimeSpan.FromMicroseconds(131_071), TimeSpan.FromMicroseconds(262_143), TimeSpan.FromMicroseconds(262_143))));
        Assert.That(() => ProcessesTaskCodec.EncodeResult(1024, default, default, default), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void TemplateErrorsComeBackWithKindLineAndMessage()
    {
        var error = new TemplateError(TemplateErrorKind.Syntax, "t/a", "Liquid syntax error in the body at line 5, column 3: a | b.", 5, 3);
        var engineRecord = nameof(TemplateTaskException) + ": " + new TemplateTaskException(error).Message;

        Assert.That(ProcessesTaskFailure.Decode("t/a", engineRecord), Is.EqualTo(error));
        Assert.That(ProcessesTaskFailure.Decode("t/b", nameof(TemplateTaskException) + ": " + new TemplateTaskException(error with { Line = null, Column = null }).Message),
            Is.EqualTo(error with { TemplateId = "t/b", Line = null, Column = null }));
    }

    [Test]
    public void OtherAgentFailuresBecomeRenderErrorsCarryingTheAgentsText()
    {
        var decoded = ProcessesTaskFailure.Decode("t/a", "IOException: disk full");

        Assert.That(decoded.Kind, Is.EqualTo(TemplateErrorKind.Render));
        Assert.That(decoded.Message, Does.Contain("IOException: disk full"));
    }

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
    public async Task TheAgentSubcommandIsNotInTheHelp()
    {
        var run = await CliRun.InvokeAsync(new FakeServices(), "--help");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("run").And.Contain("scale"));
        Assert.That(run.Out.Split('\n').Where(l => l.TrimStart().StartsWith("agent", StringComparison.Ordinal)), Is.Empty, run.ToString());
    }

    [Test]
    public async Task TheAgentSubcommandWithoutLaunchOptionsExits2AndSaysWhy()
    {
        using var work = new TempDirectory();

        var run = await CliRun.InvokeAsync(new FakeServices(), "agent", "--templates", work.Path, "--out", work.Path);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--region").And.Contain("started by 'run --mode processes'"), run.ToString());
    }

    [Test]
    public void TheLauncherStartsThisBuildsToolWithTheLaunchFirstAndTheTemplatesLast()
    {
        var info = ProcessesLauncher.Create(new Unjucks.Agents.Processes.AgentLaunch("r1", "/dev/shm/d", "s1", 3), ["--out", "/o", "--templates", "/t1", "/t2"]);
        var arguments = info.ArgumentList.ToList();

        var agentAt = arguments.IndexOf("agent");
        Assert.That(agentAt, Is.GreaterThanOrEqualTo(0), string.Join(' ', arguments));
        Assert.That(arguments.Skip(agentAt + 1), Is.EqualTo(new[] { "--region", "r1", "--dir", "/dev/shm/d", "--session", "s1", "--agent", "3", "--out", "/o", "--templates", "/t1", "/t2" }));
        // Under the test host the tool runs as 'dotnet <path>/unjucks-perf.dll'.
        Assert.That(arguments.Take(agentAt).Concat([info.FileName]).Any(a => a.EndsWith("unjucks-perf.dll", StringComparison.Ordinal) || Path.GetFileName(a) == "unjucks-perf"),
            Is.True, info.FileName + " " + string.Join(' ', arguments));
    }
}
