namespace Unjucks.Cli.Tests;

/// <summary>
/// Inputs that parse but cannot be used: each is exit 2 with one line saying what to fix, before anything renders,
/// and nothing is left behind (the real engine in processes mode).
/// </summary>
[TestFixture]
public sealed class BadInputTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task AnOutFolderThatIsAFileIsExit2()
    {
        using var work = new TempDirectory();
        File.WriteAllText(Path.Combine(work.Path, "taken"), "a file");

        var run = await RunAsync(work, "--out", "taken");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--out 'taken' is a file, not a folder"), run.ToString());
        Assert.That(File.ReadAllText(Path.Combine(work.Path, "taken")), Is.EqualTo("a file"), "the file is left as it was");
    }

    [Test]
    public async Task AnOutFolderNobodyCanWriteIsExit2()
    {
        using var work = new TempDirectory();

        // /proc/self is a folder no user, root included, can create files in.
        var run = await RunAsync(work, "--out", "/proc/self");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--out '/proc/self' is not a folder this user can write to"), run.ToString());
    }

    [Test]
    public async Task AnOutFolderUnderAFileIsExit2()
    {
        using var work = new TempDirectory();
        File.WriteAllText(Path.Combine(work.Path, "file"), "x");

        var run = await RunAsync(work, "--out", "file/sub");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--out 'file/sub' is not a folder this user can write to"), run.ToString());
    }

    [Test]
    public async Task ScaleWithAReportFolderThatIsAFileIsExit2BeforeMeasuring()
    {
        using var work = new TempDirectory();
        File.WriteAllText(Path.Combine(work.Path, "taken"), "a file");

        var run = await CliRun.InvokeAsync(new RealEngineServices(work.Path), None, "scale", "--agents", "1", "--out", "taken", "--render-dir", work.Path);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("--out 'taken' is a file, not a folder"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain("ops/s"), "nothing was measured");
    }

    [TestCase("", "the document is empty", TestName = "empty vars")]
    [TestCase("# nothing but a comment\n", "the document is empty", TestName = "comment-only vars")]
    [TestCase("{ \"name\": ", "not valid YAML or JSON", TestName = "malformed vars")]
    [TestCase("[1, 2]", "root must be a map", TestName = "list vars")]
    [TestCase("deps: 1", "'deps' is reserved", TestName = "reserved vars")]
    public async Task AnUnusableVariablesFileIsExit2(string text, string expected)
    {
        using var work = new TempDirectory();
        File.WriteAllText(Path.Combine(work.Path, "vars.json"), text);

        var run = await RunAsync(work, "--vars", "vars.json", "--out", "out");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("cannot use the variables file").And.Contain(expected), run.ToString());
        Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(work.Path, "out")), Is.Empty, "nothing rendered");
    }

    [Test]
    public async Task AVariablesFileThatIsNotUtf8IsExit2()
    {
        using var work = new TempDirectory();
        File.WriteAllBytes(Path.Combine(work.Path, "vars.yaml"), [.. "name: caf"u8, 0xE9, .. "\n"u8]);

        var run = await RunAsync(work, "--vars", "vars.yaml", "--out", "out");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("not valid UTF-8"), run.ToString());
    }

    private static async Task<CliRun> RunAsync(TempDirectory work, params string[] args)
    {
        var before = SessionEntriesOfThisProcess();
        var run = await CliRun.InvokeAsync(new RealEngineServices(work.Path), None, ["run", "--agents", "2", .. args]);
        Assert.That(SessionEntriesOfThisProcess(), Is.EqualTo(before), "session files left behind");
        return run;
    }

    /// <summary>Session files and claims folders named for this process in the default session folder.</summary>
    private static string[] SessionEntriesOfThisProcess()
    {
        var directory = Unjucks.SharedMemory.SharedRegionOptions.DefaultDirectory;
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return [.. Directory.EnumerateFileSystemEntries(directory)
            .Where(e => Path.GetFileName(e).StartsWith($"s{pid}-", StringComparison.Ordinal) || Path.GetFileName(e).StartsWith($"claims-{pid}-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }
}
