using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>
/// A running tests/Unjucks.GcTestAgent child: <c>dotnet Unjucks.GcTestAgent.dll</c>, driven over stdin/stdout.
/// The dll is found next to the test assembly, or in the child project's bin folder for this configuration
/// (the test project builds it through a ProjectReference with ReferenceOutputAssembly=false).
/// </summary>
internal sealed class GcTestAgentProcess : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30); // hang guard on a busy machine.
    private readonly Process _process;

    private GcTestAgentProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The child's agent slot in the region ("gc-loop" mode only; -1 otherwise).</summary>
    public int Slot { get; private set; } = -1;

    public static Task<GcTestAgentProcess> StartAsync() => StartCoreAsync([], expectSlot: false);

    /// <summary>Starts a "gc-loop" child on region <paramref name="regionName"/> in <paramref name="directory"/>: cooperative or deaf.</summary>
    public static Task<GcTestAgentProcess> StartLoopAsync(string directory, string regionName, bool cooperative) =>
        StartCoreAsync(["gc-loop", directory, regionName, cooperative ? "coop" : "deaf"], expectSlot: true);

    private static async Task<GcTestAgentProcess> StartCoreAsync(string[] args, bool expectSlot)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(AgentDll());
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the GC test agent");
        var agent = new GcTestAgentProcess(process);
        try
        {
            string line = await agent.ReadLineAsync();
            string ready = "ready " + process.Id.ToString(CultureInfo.InvariantCulture);
            if (expectSlot)
            {
                Assert.That(line, Does.StartWith(ready + " "), "the agent's first line");
                agent.Slot = int.Parse(line[(ready.Length + 1)..], CultureInfo.InvariantCulture);
            }
            else
            {
                Assert.That(line, Is.EqualTo(ready), "the agent's first line");
            }

            return agent;
        }
        catch
        {
            agent.Dispose();
            throw;
        }
    }

    /// <summary>"gc-loop" mode: the loop's iteration count and the responder's PausesServed.</summary>
    public async Task<(long Iterations, long PausesServed)> IterAsync()
    {
        await _process.StandardInput.WriteLineAsync("iter");
        await _process.StandardInput.FlushAsync();
        string line = await ReadLineAsync();
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("iter"), $"unexpected reply '{line}'");
        return (long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Asks the child for its own <c>GC.CollectionCount(2)</c> and <c>GC.GetTotalMemory(false)</c>.</summary>
    public async Task<(int Gen2, long TotalBytes)> Gen2Async()
    {
        await _process.StandardInput.WriteLineAsync("gen2");
        await _process.StandardInput.FlushAsync();
        string line = await ReadLineAsync();
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("gen2"), $"unexpected reply '{line}'");
        return (int.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(30_000);
    }

    public async Task ExitAsync()
    {
        await _process.StandardInput.WriteLineAsync("exit");
        await _process.StandardInput.FlushAsync();
        using var cts = new CancellationTokenSource(ReplyTimeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(30_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(ReplyTimeout);
        string? line = await _process.StandardOutput.ReadLineAsync(cts.Token);
        return line ?? throw new InvalidOperationException($"the GC test agent (pid {_process.Id}) closed its output (exited?)");
    }

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

    private static string AgentDll()
    {
        const string dll = "Unjucks.GcTestAgent.dll";
        string here = AppContext.BaseDirectory;
        string beside = Path.Combine(here, dll);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        string configuration = typeof(GcTestAgentProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string tfm = new DirectoryInfo(here).Name; // bin/<Configuration>/<tfm>/
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "Unjucks.GcTestAgent", "bin", configuration, tfm, dll);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            candidate = Path.Combine(dir.FullName, "tests", "Unjucks.GcTestAgent", "bin", configuration, tfm, dll);
            if (File.Exists(candidate))
            {
                return candidate;
            }

            candidate = Path.Combine(dir.FullName, "artifacts", "bin", "Unjucks.GcTestAgent", configuration.ToLowerInvariant(), dll); // UseArtifactsOutput layout
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            $"{dll} was not found beside {here} nor in tests/Unjucks.GcTestAgent/bin/{configuration}/{tfm}. Build the solution (the test project references the agent project).", dll);
    }
}
