using System.Collections.Concurrent;
using Unjucks.Cli;
using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Tests;

/// <summary>
/// A job engine that renders nothing: it reports a few snapshots and returns a summary computed from the request,
/// recording every request it got.
/// </summary>
internal sealed class FakeJobEngine : IJobEngine
{
    public const int TemplateCount = 120;

    public ConcurrentQueue<JobRequest> Requests { get; } = new();

    /// <summary>Throughput for a given agent count; default 100 x N x 0.9^(log2 N).</summary>
    public Func<int, double> OperationsPerSecond { get; set; } = n => 100.0 * n * Math.Pow(0.9, Math.Log2(n));

    /// <summary>Failures to report for a request; default none.</summary>
    public Func<JobRequest, IReadOnlyList<TemplateFailure>> Failures { get; set; } = _ => [];

    public int SnapshotsPerRun { get; set; } = 3;

    public Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Requests.Enqueue(request);
        var failures = Failures(request);
        for (var i = 1; i <= SnapshotsPerRun; i++)
        {
            progress?.Report(Snapshot(request.AgentsStarted, TemplateCount * i / SnapshotsPerRun, TemplateCount, failures.Count));
        }

        // An adaptive request "settles" at the best count of its range under OperationsPerSecond, starting at its
        // minimum, and its run is 5 % slower than that count's for the exploration.
        var concurrency = request.Concurrency;
        var settled = concurrency is null ? request.Agents
            : Enumerable.Range(concurrency.MinAgents, concurrency.MaxAgents - concurrency.MinAgents + 1).MaxBy(OperationsPerSecond);
        var ops = concurrency is null ? OperationsPerSecond(request.Agents) : OperationsPerSecond(settled) * 0.95;
        IReadOnlyList<Unjucks.Agents.ActiveAgentsChange> history = concurrency is null ? [] :
        [
            new(TimeSpan.Zero, 0, concurrency.MinAgents, "initial count"),
            new(TimeSpan.FromSeconds(2), concurrency.MinAgents, settled, $"settled at {settled}"),
        ];
        return Task.FromResult(new JobSummary(
            request.AgentsStarted,
            request.Mode,
            TemplateCount,
            TemplateCount - failures.Count,
            failures,
            ops,
            new LatencySummary(TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2 + request.Agents), TimeSpan.FromMilliseconds(5)),
            MemoryMegabytes: 10 + request.Agents,
            CoordinationOverheadPercent: 0.25,
            LoadCoefficientOfVariation: 0.04,
            AverageQueueTime: TimeSpan.FromMicroseconds(30),
            MessageLatency: TimeSpan.FromMicroseconds(3),
            new TimeSplit(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100)),
            TimeSpan.FromSeconds(TemplateCount / ops),
            request.OutputDirectory)
        {
            ActiveAgents = settled,
            ActiveAgentsHistory = history,
            Concurrency = concurrency,
            MemoryBudgetBytes = request.MemoryBudgetBytes ?? 0,
            MemoryMeasuredPeakBytes = request.MemoryBudgetBytes is null ? 0 : 400L << 20,
            GcRounds = request.MemoryBudgetBytes is null ? 0 : 1,
        });
    }

    public static JobSnapshot Snapshot(int agents, long completed, long total, long failed = 0, params JobAlert[] alerts) => new(
        TimeSpan.FromMilliseconds(1500),
        Enumerable.Range(0, agents).Select(slot => new AgentSnapshot(slot, 40000 + slot, slot == agents - 1 && agents > 1 ? "stealing" : "running", true, completed / agents, slot)).ToList(),
        completed,
        total,
        failed,
        OperationsPerSecond: 321.5,
        LatencyP95: TimeSpan.FromMilliseconds(4.25),
        QueueDepth: total - completed,
        MemoryBytes: 48L * 1024 * 1024,
        alerts);
}

internal sealed class FakeRegionInspector : IRegionInspector
{
    public List<RegionInfo> Regions { get; } = [];

    public Dictionary<string, RegionSnapshot> Snapshots { get; } = [];

    public List<RemovedRegion> Removable { get; } = [];

    public string? CleanupName { get; private set; }

    public int SnapshotCalls { get; private set; }

    /// <summary>Called after each snapshot with the number of calls so far (lets a test cancel a watch).</summary>
    public Action<int>? AfterSnapshot { get; set; }

    public IReadOnlyList<RegionInfo> ListRegions() => Regions;

    public RegionSnapshot? Snapshot(string name)
    {
        SnapshotCalls++;
        var result = Snapshots.GetValueOrDefault(name);
        AfterSnapshot?.Invoke(SnapshotCalls);
        return result;
    }

    public IReadOnlyList<RemovedRegion> CleanupDeadRegions(string? name)
    {
        CleanupName = name;
        return Removable.Where(r => name is null || r.Name == name).ToList();
    }

    public static RegionInfo Region(string name, bool creatorAlive, int agentsAlive) =>
        new(name, "/dev/shm/unjucks-0/" + name, 4L * 1024 * 1024, 31337, creatorAlive, agentsAlive, 4,
            new DateTimeOffset(2026, 11, 28, 8, 0, 0, TimeSpan.Zero));

    public static RegionSnapshot SampleSnapshot(string name) => new(
        Region(name, true, 2),
        [
            new RegionAgent(0, 51001, true, TimeSpan.FromMilliseconds(12), "running", 77, 1, 3),
            new RegionAgent(1, 51002, false, TimeSpan.FromSeconds(9), "dead", 12, 0, 0),
        ],
        [new QueueDepth("ready", 5, 1024), new QueueDepth("deque[0]", 9, 0)],
        [new LockOwner("registry", 51001, true), new LockOwner("outputs", 0, false), new LockOwner("leases", 51002, false)],
        StateSlotsUsed: 17,
        StateSlotsTotal: 4096,
        ChangeSequence: 987654);
}

internal sealed class FakeGcCoordinator : IGcCoordinator
{
    public List<string> Rounds { get; } = [];

    public GcOutcome SecondAgentOutcome { get; set; } = GcOutcome.Acknowledged;

    public Task<GcRoundReport> RunRoundAsync(string regionName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Rounds.Add(regionName);
        return Task.FromResult(new GcRoundReport(regionName, TimeSpan.FromMilliseconds(42),
        [
            new AgentGcReport(0, 51001, 64L * 1024 * 1024, 16L * 1024 * 1024, TimeSpan.FromMilliseconds(3.5), GcOutcome.Acknowledged),
            new AgentGcReport(1, 51002, 32L * 1024 * 1024, 32L * 1024 * 1024, TimeSpan.Zero, SecondAgentOutcome),
        ]));
    }
}

/// <summary>Surroundings for tests: fakes, a current directory of the test's choosing, no terminal.</summary>
internal sealed class FakeServices : ICliServices
{
    public FakeJobEngine Engine { get; } = new();

    public FakeRegionInspector Inspector { get; } = new();

    public FakeGcCoordinator Gc { get; } = new();

    public List<ChildProcess> Processes { get; } = [];

    public int ProcessExitCode { get; set; }

    public int EngineRequests { get; private set; }

    public IJobEngine CreateJobEngine()
    {
        EngineRequests++;
        return Engine;
    }

    public IRegionInspector CreateRegionInspector() => Inspector;

    public IGcCoordinator CreateGcCoordinator() => Gc;

    public bool OutputIsTerminal { get; set; }

    public string CurrentDirectory { get; set; } = Path.GetTempPath();

    public string ToolDirectory { get; set; } = Path.GetTempPath();

    public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken)
    {
        Processes.Add(process);
        return Task.FromResult(ProcessExitCode);
    }
}

/// <summary>
/// The real job engine (processes and threads, as in DefaultServices) with a current directory of the test's choosing
/// and no terminal.
/// </summary>
internal sealed class RealEngineServices(string currentDirectory) : ICliServices
{
    private readonly DefaultServices _real = new();

    public IJobEngine CreateJobEngine() => _real.CreateJobEngine();

    public IRegionInspector CreateRegionInspector() => _real.CreateRegionInspector();

    public IGcCoordinator CreateGcCoordinator() => _real.CreateGcCoordinator();

    public bool OutputIsTerminal => false;

    public string CurrentDirectory => currentDirectory;

    public string ToolDirectory => AppContext.BaseDirectory;

    public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the engine tests start no child processes.");
}

/// <summary>Runs the tool in-process and captures what it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Error)
{
    public static async Task<CliRun> InvokeAsync(FakeServices services, params string[] args) =>
        await InvokeAsync(services, CancellationToken.None, args);

    public static async Task<CliRun> InvokeAsync(ICliServices services, CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.InvokeAsync(args, services, output, error, cancellationToken).WaitAsync(TimeSpan.FromMinutes(1));
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>A temporary directory deleted at dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unjucks-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
