using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests;

/// <summary>Gives each test a private directory (0700) for its regions and removes it afterwards.</summary>
public abstract class RegionTestBase
{
    protected string Directory { get; private set; } = "";

    protected SharedRegionOptions Options { get; private set; } = new();

    private readonly List<SharedRegion> _regions = [];
    private readonly List<AgentProcess> _agents = [];

    [SetUp]
    public void CreateDirectory()
    {
        string root = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        Directory = Path.Combine(root, "unjucks-test-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Options = SmallOptions();
    }

    [TearDown]
    public void RemoveDirectory()
    {
        foreach (AgentProcess agent in _agents)
        {
            agent.Dispose();
        }

        foreach (SharedRegion region in _regions)
        {
            region.Dispose();
        }

        _agents.Clear();
        _regions.Clear();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Small sizes so tests are quick and wrap around; override per test with `with`.</summary>
    protected SharedRegionOptions SmallOptions() => new()
    {
        Directory = Directory,
        StateSlots = 64,
        MaxKeyBytes = 32,
        MaxValueBytes = 64,
        MaxQueues = 4,
        QueueCapacity = 16,
        MessageBytes = 16,
        MaxAgents = 16,
        MaxLocks = 8,
    };

    protected static string NewName() => "r-" + Guid.NewGuid().ToString("N");

    /// <summary>Creates (or opens) a region that TearDown disposes.</summary>
    protected SharedRegion Region(string? name = null, SharedRegionOptions? options = null)
    {
        SharedRegion region = SharedRegion.CreateOrOpen(name ?? NewName(), options ?? Options);
        _regions.Add(region);
        return region;
    }

    /// <summary>Starts a TestAgent child process that TearDown kills if it still runs.</summary>
    protected AgentProcess StartAgent(SharedRegion region, params string[] args)
    {
        var agent = AgentProcess.Start([args[0], Directory, region.Name, .. args[1..]]);
        _agents.Add(agent);
        return agent;
    }

    /// <summary>Checks that a fresh region in the same directory still works (other regions unaffected).</summary>
    protected void AssertAnotherRegionWorks()
    {
        SharedRegion other = Region();
        long version = other.State.Write("alive", [1, 2, 3]);
        Span<byte> buffer = stackalloc byte[8];
        Assert.That(other.State.TryRead("alive", buffer, out int length, out long read), Is.True);
        Assert.That((length, read, buffer[2]), Is.EqualTo((3, version, (byte)3)));
    }
}

/// <summary>A TestAgent child process (<c>dotnet Unjucks.SharedMemory.TestAgent.dll ...</c>, through <see cref="ChildProcess"/>).</summary>
public sealed class AgentProcess : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
    private readonly ChildProcess _process;

    private AgentProcess(ChildProcess process) => _process = process;

    public int Id => _process.Id;

    public static AgentProcess Start(IEnumerable<string> arguments) =>
        new(ChildProcess.Start("Unjucks.SharedMemory.TestAgent", arguments));

    /// <summary>Reads the next stdout line (hang guard 60 s; a hang or an early exit fails with the agent's stderr).</summary>
    public string ReadLine() => _process.ReadLine(HangGuard);

    public void ExpectLine(string expected) => Assert.That(ReadLine(), Is.EqualTo(expected));

    /// <summary>Waits for a normal exit and returns stdout's remaining lines; fails on a non-zero exit code.</summary>
    public string WaitForSuccess() => _process.WaitForSuccess(HangGuard);

    /// <summary>SIGKILL, then wait until the process is gone (its flocks are released by then).</summary>
    public void Kill() => _process.Kill();

    public void Dispose() => _process.Dispose();
}
