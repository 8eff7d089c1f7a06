using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>
/// Shared set-up of the tests that run a <see cref="JobCoordinator"/> over real tests/Unjucks.AgentTestHost processes:
/// a private directory per test (removed afterwards), the tests' coordinator options, and starting a coordinator
/// with the host launcher.
/// </summary>
public abstract class AgentProcessTestBase
{
    /// <summary>This test's private directory (0700) for the session's region, control file and job segments.</summary>
    protected string Dir { get; private set; } = null!;

    [SetUp]
    public void CreateDirectory() => Dir = AgentTestHostLauncher.NewDirectory();

    [TearDown]
    public void RemoveDirectory()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The tests' options (<see cref="AgentTestHostLauncher.Options"/>) for <paramref name="agents"/> agents in <see cref="Dir"/>.</summary>
    private protected JobCoordinatorOptions Options(int agents) => AgentTestHostLauncher.Options(agents, Dir);

    /// <summary>Starts a coordinator with <see cref="Options(int)"/> whose agents run the test host in <paramref name="mode"/>.</summary>
    private protected Task<JobCoordinator> StartCoordinatorAsync(int agents, CancellationToken ct, int workUs = 0, string mode = "f") =>
        StartCoordinatorAsync(Options(agents), ct, workUs, mode);

    /// <summary>Starts a coordinator with <paramref name="options"/> whose agents run the test host in <paramref name="mode"/>.</summary>
    private protected static Task<JobCoordinator> StartCoordinatorAsync(JobCoordinatorOptions options, CancellationToken ct, int workUs = 0, string mode = "f") =>
        JobCoordinator.StartAsync(options, AgentTestHostLauncher.Launcher(mode, workUs), ct);
}
