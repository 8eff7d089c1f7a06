using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.SharedMemory;
using TestChild = Unjucks.TestSupport.ChildProcess;

namespace Unjucks.Cli.Tests;

/// <summary>
/// Base of the inspect tests: a private region directory per test, small regions, TestAgent children, all cleaned up.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal abstract class InspectTestBase
{
    private readonly List<SharedRegion> _regions = [];
    private readonly List<RegionAgentProcess> _children = [];
    private TempDirectory? _directory;

    /// <summary>The test's region directory.</summary>
    protected string RegionDirectory => _directory!.Path;

    /// <summary>Small sizes: a few KiB per region instead of 7 MB.</summary>
    protected SharedRegionOptions Options => new()
    {
        Directory = RegionDirectory,
        StateSlots = 16,
        QueueCapacity = 4,
        MaxQueues = 2,
        MaxAgents = 4,
        MaxLocks = 2,
    };

    [SetUp]
    public void CreateDirectory() => _directory = new TempDirectory();

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
            _directory?.Dispose(); // always, so that a failing test leaves no directory behind
        }
    }

    /// <summary>A region created (and so held open) by this test process; disposed at teardown.</summary>
    protected SharedRegion CreateRegion(string name)
    {
        var region = SharedRegion.CreateOrOpen(name, Options);
        _regions.Add(region);
        return region;
    }

    /// <summary>Opens an existing region without registering; disposed at teardown.</summary>
    protected SharedRegion OpenRegion(string name)
    {
        var region = SharedRegion.Open(name, Options);
        _regions.Add(region);
        return region;
    }

    protected RegionInspector Inspector() => new(RegionDirectory);

    /// <summary>A TestAgent child that creates region <paramref name="name"/> (so it is its creator) and registers.</summary>
    protected RegionAgentProcess StartCreator(string name) => Start("create-register", name);

    /// <summary>A TestAgent child that opens the existing region <paramref name="name"/> and registers.</summary>
    protected RegionAgentProcess StartAgent(string name) => Start("register", name);

    protected string RegionPath(string name) => Path.Combine(RegionDirectory, name + ".region");

    /// <summary>The region file's bytes and the names in its agents directory: what "changed nothing" compares.</summary>
    protected (byte[] Bytes, string[] AgentFiles) FileState(string name)
    {
        string agents = RegionPath(name) + ".agents";
        string[] files = Directory.Exists(agents) ? [.. Directory.EnumerateFileSystemEntries(agents).Order(StringComparer.Ordinal)] : [];
        return (File.ReadAllBytes(RegionPath(name)), files);
    }

    private RegionAgentProcess Start(string command, string name)
    {
        var child = RegionAgentProcess.Start(command, RegionDirectory, name);
        _children.Add(child);
        return child;
    }
}

/// <summary>
/// A tests/Unjucks.SharedMemory.TestAgent child registered in a region (it prints "registered SLOT"); started, located,
/// read and killed by <see cref="TestChild"/>.
/// </summary>
internal sealed class RegionAgentProcess : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
    private readonly TestChild _process;
    private bool _disposed;

    private RegionAgentProcess(TestChild process) => _process = process;

    public int Id => _process.Id;

    public int Slot { get; private set; }

    public static RegionAgentProcess Start(string command, string directory, string region)
    {
        var child = new RegionAgentProcess(TestChild.Start("Unjucks.SharedMemory.TestAgent", [command, directory, region]));
        try
        {
            string text = child._process.ReadLine(HangGuard); // a hang or an early exit fails with the agent's stderr
            if (!text.StartsWith("registered ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"The test agent did not register (stdout '{text}', stderr {child._process.StandardError}).");
            }

            child.Slot = int.Parse(text["registered ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            return child;
        }
        catch
        {
            child.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL, then wait until the process is gone (the kernel has released its flock and mapping).</summary>
    public void Kill() => _process.Kill();

    public void Dispose()
    {
        if (_disposed)
        {
            return; // a test's `using` and the fixture's teardown both dispose
        }

        _disposed = true;
        _process.Dispose();
    }
}

/// <summary>The real surroundings, with the region inspector pointed at a test's directory and no terminal.</summary>
internal sealed class RegionDirectoryServices(string regionDirectory) : ICliServices
{
    private readonly DefaultServices _real = new();

    public IJobEngine CreateJobEngine() => _real.CreateJobEngine();

    public IRegionInspector CreateRegionInspector() => new RegionInspector(regionDirectory);

    public IGcCoordinator CreateGcCoordinator() => _real.CreateGcCoordinator();

    public bool OutputIsTerminal => false;

    public string CurrentDirectory => regionDirectory;

    public string ToolDirectory => AppContext.BaseDirectory;

    public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken) =>
        throw new NotSupportedException("the inspect tests start no child processes through the tool.");
}
