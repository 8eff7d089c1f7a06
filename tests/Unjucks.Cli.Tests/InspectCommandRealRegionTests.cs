namespace Unjucks.Cli.Tests;

/// <summary>The <c>inspect</c> command end to end: the real inspector over a test directory of real regions.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // shared regions are Linux-only (futex, flock, /proc)
internal sealed class InspectCommandRealRegionTests : InspectTestBase
{
    [Test]
    public async Task InspectNameShowsTheAgentItsQueueAndLock()
    {
        var region = CreateRegion("job-7");
        region.Agents.Register();
        region.Queue("ready").TryEnqueue([1]);
        using var held = region.Lock("graph").Acquire(TimeSpan.FromSeconds(10));

        var run = await CliRun.InvokeAsync(new RegionDirectoryServices(RegionDirectory), CancellationToken.None, "inspect", "job-7");

        string pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain($"creator {pid} alive").And.Contain("state slots 0/16 in use").And.Contain("change sequence 0"));
            Assert.That(lines.Any(l => l.Contains(pid, StringComparison.Ordinal) && l.Contains("active", StringComparison.Ordinal) && l.Contains("yes", StringComparison.Ordinal)), Is.True, run.ToString());
            Assert.That(lines.Any(l => l.Contains("ready", StringComparison.Ordinal) && l.Contains('1') && l.Contains('4')), Is.True, run.ToString());
            Assert.That(lines.Any(l => l.Contains("graph", StringComparison.Ordinal) && l.Contains(pid, StringComparison.Ordinal)), Is.True, run.ToString());
        });
    }

    [Test]
    public async Task InspectListsAnUnreadableFileAndInspectingItFailsWithOneClearLine()
    {
        CreateRegion("fine");
        InspectRegionInspectorTests.WriteBadRegion(System.IO.Path.Combine(RegionDirectory, "broken.region"), "random");
        var services = new RegionDirectoryServices(RegionDirectory);

        var list = await CliRun.InvokeAsync(services, CancellationToken.None, "inspect");
        var one = await CliRun.InvokeAsync(services, CancellationToken.None, "inspect", "broken");

        Assert.Multiple(() =>
        {
            Assert.That(list.ExitCode, Is.Zero, list.ToString());
            Assert.That(list.Out, Does.Contain("fine").And.Contain("unreadable").And.Contain("wrong magic"));
            Assert.That(one.ExitCode, Is.EqualTo(1), one.ToString());
            Assert.That(one.Error, Does.Contain("region 'broken' cannot be inspected").And.Contain("wrong magic"));
            Assert.That(one.Error, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [Test]
    public async Task InspectCleanupSaysWhatItRemoved()
    {
        CreateRegion("keep");
        using (var creator = StartCreator("gone"))
        {
            creator.Kill();
        }

        var services = new RegionDirectoryServices(RegionDirectory);
        var first = await CliRun.InvokeAsync(services, CancellationToken.None, "inspect", "--cleanup");
        var second = await CliRun.InvokeAsync(services, CancellationToken.None, "inspect", "--cleanup");

        Assert.Multiple(() =>
        {
            Assert.That(first.ExitCode, Is.Zero, first.ToString());
            Assert.That(first.Out, Does.Contain("Removed 1 dead region(s)").And.Contain("gone").And.Contain("is gone"));
            Assert.That(first.Out, Does.Not.Contain("keep"));
            Assert.That((second.ExitCode, second.Out.Trim()), Is.EqualTo((0, "No dead regions: nothing removed.")));
        });
    }

    [Test]
    public async Task WatchRefreshesUntilCancelled()
    {
        CreateRegion("watched").Agents.Register();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1)); // hang guard only
        using var output = new RefreshCounter(cancel, refreshesWanted: 3);
        using var error = new StringWriter();

        int code = await Cli.InvokeAsync(["inspect", "watched", "--watch"], new RegionDirectoryServices(RegionDirectory), output, error, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero, error.ToString());
            Assert.That(output.Refreshes, Is.EqualTo(3), "cancelled after the third refresh");
            Assert.That(output.ToString(), Does.Contain("watched").And.Contain("active"));
        });
    }

    /// <summary>Captures the watch's plain output and cancels it once it has refreshed the wanted number of times.</summary>
    private sealed class RefreshCounter(CancellationTokenSource cancel, int refreshesWanted) : StringWriter
    {
        public int Refreshes { get; private set; }

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.StartsWith("--- ", StringComparison.Ordinal) && ++Refreshes == refreshesWanted)
            {
                cancel.Cancel();
            }
        }
    }
}
