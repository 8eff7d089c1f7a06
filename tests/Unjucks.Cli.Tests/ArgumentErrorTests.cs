namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class ArgumentErrorTests
{
    [TestCase(new string[0], "Required command was not provided", TestName = "no command")]
    [TestCase(new[] { "frobnicate" }, "frobnicate", TestName = "unknown command")]
    [TestCase(new[] { "run", "--bogus" }, "--bogus", TestName = "unknown option")]
    [TestCase(new[] { "run", "--agents", "0" }, "got 0", TestName = "agents zero")]
    [TestCase(new[] { "run", "--agents", "-3" }, "got -3", TestName = "agents negative")]
    [TestCase(new[] { "run", "--agents", "x" }, "'x' is not one", TestName = "agents not a number")]
    [TestCase(new[] { "run", "--agents", "100000" }, "got 100000", TestName = "agents too many")]
    [TestCase(new[] { "run", "--mode", "fast" }, "got 'fast'", TestName = "bad mode")]
    [TestCase(new[] { "run", "--mode", "1" }, "got '1'", TestName = "numeric mode")]
    [TestCase(new[] { "run", "--templates", "/definitely/not/here" }, "/definitely/not/here", TestName = "missing templates dir")]
    [TestCase(new[] { "run", "--vars", "no-such-vars.json" }, "no-such-vars.json", TestName = "missing vars file")]
    [TestCase(new[] { "scale", "--agents", "1,x" }, "'x' in '1,x'", TestName = "list with junk")]
    [TestCase(new[] { "scale", "--agents", "1,,2" }, "'' in '1,,2'", TestName = "list with empty entry")]
    [TestCase(new[] { "scale", "--agents", "0,2" }, "got 0", TestName = "list with zero")]
    [TestCase(new[] { "scale", "--agents", "2,2" }, "lists 2 twice", TestName = "list with repeat")]
    [TestCase(new[] { "scale", "--agents", "1.5" }, "'1.5'", TestName = "list with fraction")]
    [TestCase(new[] { "scale", "--agents" }, "--agents", TestName = "list missing")]
    [TestCase(new[] { "run", "--memory-budget", "0" }, "got 0", TestName = "memory budget zero")]
    [TestCase(new[] { "run", "--adaptive", "4..2" }, "got 4..2", TestName = "adaptive range reversed")]
    [TestCase(new[] { "run", "--adaptive", "0..3" }, "got 0..3", TestName = "adaptive range from zero")]
    [TestCase(new[] { "scale", "--adaptive", "1..300" }, "got 1..300", TestName = "adaptive range too large")]
    [TestCase(new[] { "scale", "--adaptive", "8" }, "'8' is not one", TestName = "adaptive not a range")]
    [TestCase(new[] { "inspect", "--watch", "--cleanup" }, "cannot be combined", TestName = "watch with cleanup")]
    [TestCase(new[] { "gc", "--timeout", "0" }, "got 0", TestName = "gc timeout zero")]
    [TestCase(new[] { "bench", "a", "b" }, "'b'", TestName = "bench two filters")]
    public async Task BadArgumentsPrintUsageOnStderrAndExit2(string[] args, string expectedInError)
    {
        var services = new FakeServices();

        var run = await CliRun.InvokeAsync(services, args);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("Usage:"), run.ToString());
            Assert.That(run.Error, Does.Contain(expectedInError), run.ToString());
            Assert.That(run.Out, Is.Empty, run.ToString());
            Assert.That(services.EngineRequests, Is.Zero, "the engine must not be asked for on bad arguments");
            Assert.That(services.Processes, Is.Empty);
        });
    }

    [TestCase("--help")]
    [TestCase("run", "--help")]
    [TestCase("scale", "-h")]
    public async Task HelpGoesToStdoutAndExits0(params string[] args)
    {
        var run = await CliRun.InvokeAsync(new FakeServices(), args);

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("Usage:"), run.ToString());
            Assert.That(run.Error, Is.Empty, run.ToString());
        });
    }

    [TestCase("1", new[] { 1 })]
    [TestCase("1,2,4,8,16", new[] { 1, 2, 4, 8, 16 })]
    [TestCase(" 4 , 2 ", new[] { 4, 2 })]
    [TestCase("256", new[] { 256 })]
    public void AgentListParsesValidLists(string text, int[] expected)
    {
        var parsed = Commands.CommonOptions.TryParseAgentList(text, out var error);

        Assert.That(parsed, Is.EqualTo(expected), error);
    }

    [TestCase("", "not a number")]
    [TestCase("1,-2", "not a number")]
    [TestCase("257", "between 1 and 256")]
    [TestCase("1;2", "not a number")]
    [TestCase("4,4", "twice")]
    public void AgentListRejectsJunkWithAMessage(string text, string expectedInError)
    {
        var parsed = Commands.CommonOptions.TryParseAgentList(text, out var error);

        Assert.Multiple(() =>
        {
            Assert.That(parsed, Is.Null);
            Assert.That(error, Does.Contain(expectedInError));
        });
    }

    [Test]
    public async Task GcOnAMissingRegionIsAClearFailureNotACrash()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        // The real GC coordinator over the per-user region directory, where no region has this name.
        var code = await Cli.InvokeAsync(["gc", "no-such-job"], Cli.CreateDefaultServices(), output, error);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(1), error.ToString());
            Assert.That(error.ToString(), Does.Contain("no region named 'no-such-job'").And.Not.Contain("   at "));
        });
    }
}
