using System.Diagnostics;

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

/// <summary>A TestAgent child process (started with `dotnet Unjucks.SharedMemory.TestAgent.dll ...`).</summary>
public sealed class AgentProcess : IDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private AgentProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public static AgentProcess Start(IEnumerable<string> arguments)
    {
        string agentDll = Path.Combine(AppContext.BaseDirectory, "Unjucks.SharedMemory.TestAgent.dll");
        if (!File.Exists(agentDll))
        {
            throw new FileNotFoundException($"Test agent not found next to the tests at '{agentDll}'; build tests/Unjucks.SharedMemory.TestAgent.");
        }

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(agentDll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new AgentProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start the test agent."));
    }

    /// <summary>Reads the next stdout line (hang guard 60 s).</summary>
    public string ReadLine()
    {
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(HangGuard))
        {
            throw new TimeoutException("The test agent printed nothing for 60 s.");
        }

        return line.Result ?? throw new InvalidOperationException(
            $"The test agent exited early (code {ExitCodeOrNull()}): {_process.StandardError.ReadToEnd()}");
    }

    public void ExpectLine(string expected) => Assert.That(ReadLine(), Is.EqualTo(expected));

    /// <summary>Waits for a normal exit and returns stdout's remaining lines; fails on a non-zero exit code.</summary>
    public string WaitForSuccess()
    {
        Task<string> rest = _process.StandardOutput.ReadToEndAsync();
        Task<string> errors = _process.StandardError.ReadToEndAsync();
        if (!_process.WaitForExit(HangGuard))
        {
            _process.Kill();
            Assert.Fail("The test agent did not finish within 60 s.");
        }

        Assert.That(_process.ExitCode, Is.Zero, () => $"agent failed: {errors.Result}");
        return rest.Result;
    }

    /// <summary>SIGKILL, then wait until the process is gone (its flocks are released by then).</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private int? ExitCodeOrNull() => _process.WaitForExit(1000) ? _process.ExitCode : null;

    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
