using System.Globalization;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.SharedMemory;

namespace Unjucks.Cli.Tests;

/// <summary>
/// <c>gc</c> end to end: the real coordinator (<see cref="GcCoordinatorAdapter"/>) over real regions of a private
/// directory, with real agent processes (tests/Unjucks.GcTestAgent in "gc-loop" mode).
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // shared regions are Linux-only (futex, flock, /proc)
internal sealed class GcCommandRealRegionTests
{
    private readonly List<GcTestAgentChild> _children = [];
    private readonly List<SharedRegion> _regions = [];
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        _directory = Path.Combine(root, "unjucks-gccli-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [TearDown]
    public void CleanUp()
    {
        try
        {
            foreach (var child in _children)
            {
                child.Dispose();
            }

            foreach (var region in _regions)
            {
                region.Dispose();
            }
        }
        finally
        {
            _children.Clear();
            _regions.Clear();
            Directory.Delete(_directory, recursive: true); // always, so that a failing test leaves nothing behind
        }
    }

    [Test]
    public async Task GcOverTwoCooperativeAgentsCollectsBothAndExits0()
    {
        CreateRegion("idle"); // the test process is its creator, no agent: not a running job
        CreateRegion("job");
        var agents = new[] { await StartAgentAsync("job", cooperative: true), await StartAgentAsync("job", cooperative: true) };
        var before = new int[agents.Length];
        for (int i = 0; i < agents.Length; i++)
        {
            await agents[i].WaitForIterationsAsync(5);
            before[i] = await agents[i].Gen2Async();
        }

        // No NAME: "job" is the only region with live agents.
        var run = await CliRun.InvokeAsync(Services(), CancellationToken.None, "gc", "--timeout", "30");

        var after = new int[agents.Length];
        for (int i = 0; i < agents.Length; i++)
        {
            after[i] = await agents[i].Gen2Async();
        }

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("GC round on job").And.Contain("2 acknowledged, 0 timed out"), run.ToString());
            foreach (var agent in agents)
            {
                string pid = agent.Pid.ToString(CultureInfo.InvariantCulture);
                Assert.That(lines.Count(l => l.Contains(pid, StringComparison.Ordinal)), Is.EqualTo(1), $"one row for agent {pid}\n{run}");
                Assert.That(lines.FirstOrDefault(l => l.Contains(pid, StringComparison.Ordinal)), Does.Contain("acknowledged").And.Contain(" MB").And.Contain("%"), run.ToString());
            }

            for (int i = 0; i < agents.Length; i++)
            {
                Assert.That(after[i], Is.GreaterThan(before[i]), $"agent {agents[i].Pid}'s own gen-2 count (before {before[i]}, after {after[i]})");
            }
        });
    }

    [Test]
    public async Task GcWithADeafAgentReportsItTimedOutAndExits1()
    {
        CreateRegion("job");
        var coop = await StartAgentAsync("job", cooperative: true);
        var deaf = await StartAgentAsync("job", cooperative: false);
        await coop.WaitForIterationsAsync(5);
        await deaf.WaitForIterationsAsync(5);
        int deafBefore = await deaf.Gen2Async();

        // CliRun's one-minute guard fails the test if the round waited for the deaf agent.
        var run = await CliRun.InvokeAsync(Services(), CancellationToken.None, "gc", "job", "--timeout", "2");

        int deafAfter = await deaf.Gen2Async();
        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Out, Does.Contain("1 acknowledged, 1 timed out"), run.ToString());
            Assert.That(lines.FirstOrDefault(l => l.Contains(deaf.Pid.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)), Does.Contain("timed out"), run.ToString());
            Assert.That(lines.FirstOrDefault(l => l.Contains(coop.Pid.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)), Does.Contain("acknowledged"), run.ToString());
            Assert.That(deafAfter, Is.EqualTo(deafBefore), "a deaf agent is not collected");
        });
    }

    [Test]
    public async Task GcWithAnAgentKilledMidRoundReportsItFailedAndExits1()
    {
        CreateRegion("job");
        var coop = await StartAgentAsync("job", cooperative: true);
        var deaf = await StartAgentAsync("job", cooperative: false);
        await coop.WaitForIterationsAsync(5);
        await deaf.WaitForIterationsAsync(5);

        // A 10-minute acknowledgement timeout: the round ends early only because the killed agent is dropped.
        var round = CliRun.InvokeAsync(Services(), CancellationToken.None, "gc", "job", "--timeout", "600");
        WaitForKey(_regions[0], "gc/ack/" + coop.Slot.ToString(CultureInfo.InvariantCulture)); // the round is on, targets chosen
        deaf.Kill();
        var run = await round;

        var lines = run.Out.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Out, Does.Contain("1 acknowledged, 0 timed out, 1 failed"), run.ToString());
            Assert.That(lines.FirstOrDefault(l => l.Contains(deaf.Pid.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)), Does.Contain("failed: agent slot"), run.ToString());
        });
    }

    [Test]
    public async Task GcOnAnUnknownRegionExits1WithAClearMessage()
    {
        CreateRegion("job");

        var run = await CliRun.InvokeAsync(Services(), CancellationToken.None, "gc", "nope");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("no region named 'nope'").And.Contain("'unjucks-perf inspect' lists"), run.ToString());
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(run.Out, Is.Empty, run.ToString());
        });
    }

    [Test]
    public async Task GcOnARegionWithoutLiveAgentsExits1AndSaysSo()
    {
        CreateRegion("empty");

        var named = await CliRun.InvokeAsync(Services(), CancellationToken.None, "gc", "empty");
        var unnamed = await CliRun.InvokeAsync(Services(), CancellationToken.None, "gc");

        Assert.Multiple(() =>
        {
            Assert.That(named.ExitCode, Is.EqualTo(1), named.ToString());
            Assert.That(named.Error, Does.Contain("region 'empty' has no live agent to collect"), named.ToString());
            Assert.That(unnamed.ExitCode, Is.EqualTo(1), unnamed.ToString());
            Assert.That(unnamed.Error, Does.Contain("no running job found (no live agent in empty)"), unnamed.ToString());
        });
    }

    /// <summary>Waits (on the region's change sequence, one-minute hang guard) until state key <paramref name="key"/> exists.</summary>
    private static void WaitForKey(SharedRegion region, string key)
    {
        var buffer = new byte[region.State.MaxValueBytes];
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            long sequence = region.ChangeSequence;
            if (region.State.TryRead(key, buffer, out _, out _))
            {
                return;
            }

            Assert.That(System.Diagnostics.Stopwatch.GetElapsedTime(start), Is.LessThan(TimeSpan.FromMinutes(1)), $"hang guard: state key '{key}' never appeared");
            region.WaitForChange(sequence, TimeSpan.FromMilliseconds(100));
        }
    }

    private GcRegionServices Services() => new(_directory);

    private void CreateRegion(string name) =>
        _regions.Add(SharedRegion.CreateOrOpen(name, new SharedRegionOptions
        {
            Directory = _directory,
            StateSlots = 32,
            MaxKeyBytes = 32,
            MaxValueBytes = 64, // the GC records need 64
            MaxQueues = 1,
            QueueCapacity = 2,
            MessageBytes = 16,
            MaxAgents = 8,
            MaxLocks = 1,
        }));

    private async Task<GcTestAgentChild> StartAgentAsync(string region, bool cooperative)
    {
        var child = await GcTestAgentChild.StartAsync(_directory, region, cooperative);
        _children.Add(child);
        return child;
    }
}

/// <summary>The real region inspector and GC coordinator pointed at a test's directory; no terminal.</summary>
internal sealed class GcRegionServices(string regionDirectory) : ICliServices
{
    public IJobEngine CreateJobEngine() => throw new NotSupportedException("the gc tests run no job.");

    public IRegionInspector CreateRegionInspector() => new RegionInspector(regionDirectory);

    public IGcCoordinator CreateGcCoordinator() => new GcCoordinatorAdapter(regionDirectory);

    public bool OutputIsTerminal => false;

    public string CurrentDirectory => regionDirectory;

    public string ToolDirectory => AppContext.BaseDirectory;

    public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the gc tests start no child processes through the tool.");
}
