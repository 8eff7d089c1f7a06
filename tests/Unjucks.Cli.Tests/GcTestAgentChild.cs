using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Unjucks.Cli.Tests;

/// <summary>
/// A tests/Unjucks.GcTestAgent child in "gc-loop" mode: it opens a region, registers, loops allocating garbage and
/// (coop) serves GC pauses at its safe point or (deaf) never does; on stdin it answers "gen2" with its own
/// <c>GC.CollectionCount(2)</c> and "iter" with its loop count. The dll is found in the agent project's bin folder
/// (this test project builds it through a ProjectReference with ReferenceOutputAssembly=false).
/// </summary>
internal sealed class GcTestAgentChild : IDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30); // hang guard on a busy machine
    private readonly Process _process;
    private bool _disposed;

    private GcTestAgentChild(Process process, int slot)
    {
        _process = process;
        Slot = slot;
    }

    public int Pid => _process.Id;

    /// <summary>The child's agent slot in the region.</summary>
    public int Slot { get; }

    public static async Task<GcTestAgentChild> StartAsync(string directory, string regionName, bool cooperative)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { AgentDll(), "gc-loop", directory, regionName, cooperative ? "coop" : "deaf" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the GC test agent");
        try
        {
            string line = await ReadLineAsync(process);
            string[] parts = line.Split(' ');
            Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo("ready").And.ItemAt(1).EqualTo(process.Id.ToString(CultureInfo.InvariantCulture)),
                $"the agent's first line was '{line}'");
            return new GcTestAgentChild(process, int.Parse(parts[2], CultureInfo.InvariantCulture));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The child's own <c>GC.CollectionCount(2)</c>.</summary>
    public async Task<int> Gen2Async()
    {
        string[] parts = await AskAsync("gen2");
        return int.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the child's loop has run more than <paramref name="iterations"/> times (it is past start-up).</summary>
    public async Task WaitForIterationsAsync(long iterations)
    {
        var start = Stopwatch.GetTimestamp();
        while (long.Parse((await AskAsync("iter"))[1], CultureInfo.InvariantCulture) <= iterations)
        {
            Assert.That(Stopwatch.GetElapsedTime(start), Is.LessThan(ReplyTimeout), $"hang guard: agent {Pid}'s loop never passed {iterations} iterations");
            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL, then wait until the process is gone (the kernel has released its registration's flock).</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(30_000);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
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

    private async Task<string[]> AskAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        string line = await ReadLineAsync(_process);
        string[] parts = line.Split(' ');
        Assert.That(parts, Has.Length.EqualTo(3).And.ItemAt(0).EqualTo(command), $"agent {Pid} answered '{line}' to '{command}'");
        return parts;
    }

    private static async Task<string> ReadLineAsync(Process process)
    {
        using var cancel = new CancellationTokenSource(ReplyTimeout);
        string? line = await process.StandardOutput.ReadLineAsync(cancel.Token);
        return line ?? throw new InvalidOperationException($"the GC test agent (pid {process.Id}) closed its output (exited?)");
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

    /// <summary>tests/Unjucks.GcTestAgent/bin/&lt;configuration&gt;/&lt;tfm&gt;/Unjucks.GcTestAgent.dll, searched upwards from the tests.</summary>
    private static string AgentDll()
    {
        const string dll = "Unjucks.GcTestAgent.dll";
        string here = AppContext.BaseDirectory;
        string configuration = typeof(GcTestAgentChild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string tfm = new DirectoryInfo(here).Name; // bin/<configuration>/<tfm>/
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[]
            {
                Path.Combine(dir.FullName, "Unjucks.GcTestAgent", "bin", configuration, tfm, dll),
                Path.Combine(dir.FullName, "tests", "Unjucks.GcTestAgent", "bin", configuration, tfm, dll),
            })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException(
            $"{dll} was not found in tests/Unjucks.GcTestAgent/bin/{configuration}/{tfm} above {here}. Build tests/Unjucks.Cli.Tests (it builds the agent).", dll);
    }
}
