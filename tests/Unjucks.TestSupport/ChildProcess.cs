using System.Diagnostics;
using System.Reflection;
using System.Text;
using NUnit.Framework;

namespace Unjucks.TestSupport;

/// <summary>
/// A child process <c>dotnet &lt;dll&gt; args...</c> started by a test: stdout (and optionally stdin) redirected,
/// stderr redirected and collected in the background so it can be quoted when something goes wrong. Reads are
/// hang-guarded: a line that does not come in time, or an output that ends early, fails the test with the child's
/// stderr in the message. <see cref="Kill"/> is SIGKILL (no cleanup runs in the child); <see cref="Dispose"/> kills
/// a child that still runs.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly TimeSpan KillGuard = TimeSpan.FromSeconds(60); // hang guard on a busy machine.
    private readonly Process _process;
    private readonly string _name;
    private readonly StringBuilder _stderr = new();

    private ChildProcess(Process process, string name)
    {
        _process = process;
        _name = name;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>The child's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the child has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The child's exit code (only after it exited).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the child wrote to stderr so far.</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>dotnet &lt;dll of project <paramref name="project"/>&gt; <paramref name="arguments"/></c>; the dll is found by
    /// <see cref="LocateDll"/>. With <paramref name="redirectInput"/> the child's stdin is a pipe (<see cref="WriteLineAsync"/>).
    /// </summary>
    public static ChildProcess Start(string project, IEnumerable<string> arguments, bool redirectInput = false)
    {
        ProcessStartInfo start = StartInfo(project, arguments);
        start.RedirectStandardInput = redirectInput;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {project}");
        return new ChildProcess(process, project);
    }

    /// <summary>A start info for <c>dotnet &lt;dll of <paramref name="project"/>&gt; <paramref name="arguments"/></c>, redirecting nothing.</summary>
    public static ProcessStartInfo StartInfo(string project, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(DotnetHost());
        start.ArgumentList.Add(LocateDll(project));
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>
    /// The dll of the executable test project <paramref name="project"/> (e.g. "Unjucks.GcTestAgent"): beside the test
    /// assembly (with its runtimeconfig), else, walking up from there, in <c>&lt;Name&gt;/bin/&lt;Config&gt;/&lt;tfm&gt;</c>,
    /// <c>tests/&lt;Name&gt;/bin/&lt;Config&gt;/&lt;tfm&gt;</c> or the artifacts layout <c>artifacts/bin/&lt;Name&gt;/&lt;config&gt;</c>.
    /// Test projects build such children through a ProjectReference (often with ReferenceOutputAssembly=false).
    /// </summary>
    public static string LocateDll(string project)
    {
        string dll = project + ".dll";
        string here = AppContext.BaseDirectory;
        string beside = Path.Combine(here, dll);
        if (File.Exists(beside) && File.Exists(Path.ChangeExtension(beside, ".runtimeconfig.json")))
        {
            return beside;
        }

        // This library is built with the test project that references it, so its configuration is the tests'.
        string configuration = typeof(ChildProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        string tfm = new DirectoryInfo(here).Name; // bin/<Configuration>/<tfm>/
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[]
            {
                Path.Combine(dir.FullName, project, "bin", configuration, tfm, dll),
                Path.Combine(dir.FullName, "tests", project, "bin", configuration, tfm, dll),
                Path.Combine(dir.FullName, "artifacts", "bin", project, configuration.ToLowerInvariant(), dll), // UseArtifactsOutput layout
            })
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException(
            $"{dll} was not found beside {here} nor in tests/{project}/bin/{configuration}/{tfm}. Build the test project (it references {project}).", dll);
    }

    /// <summary>The dotnet host running these tests (DOTNET_HOST_PATH, this process when it is dotnet, else "dotnet" on PATH).</summary>
    public static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    /// <summary>The next stdout line; fails the test (quoting stderr) if none comes within <paramref name="timeout"/> or the output ended.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        Task<string?> read = _process.StandardOutput.ReadLineAsync();
        try
        {
            return Remember(await read.WaitAsync(timeout)) ?? FailEnded();
        }
        catch (TimeoutException)
        {
            return FailTimedOut(timeout);
        }
    }

    /// <summary>The next stdout line, or null once the output ended; fails the test if none comes within <paramref name="timeout"/>.</summary>
    public string? TryReadLine(TimeSpan timeout)
    {
        Task<string?> read = _process.StandardOutput.ReadLineAsync();
        return read.Wait(timeout) ? Remember(read.Result) : FailTimedOut(timeout);
    }

    /// <summary>The last stdout lines read through this object, for failure messages.</summary>
    private readonly Queue<string> _lastLines = new();

    private string? Remember(string? line)
    {
        if (line is not null)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > 30)
            {
                _lastLines.Dequeue();
            }
        }

        return line;
    }

    /// <summary>Blocking <see cref="ReadLineAsync"/>.</summary>
    public string ReadLine(TimeSpan timeout)
    {
        Task<string?> read = _process.StandardOutput.ReadLineAsync();
        return !read.Wait(timeout) ? FailTimedOut(timeout) : read.Result ?? FailEnded();
    }

    /// <summary>Writes <paramref name="line"/> to the child's stdin and flushes (needs redirectInput at start).</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the child to exit; fails the test (quoting stderr) after <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{Describe()} did not exit within {timeout.TotalSeconds:0} s; stderr: {StandardError}");
        }
    }

    /// <summary>Waits for a normal exit and returns stdout's remaining text; fails the test on a hang or a non-zero exit code (quoting stderr).</summary>
    public string WaitForSuccess(TimeSpan timeout)
    {
        Task<string> rest = _process.StandardOutput.ReadToEndAsync();
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"{Describe()} did not finish within {timeout.TotalSeconds:0} s; stderr: {StandardError}");
        }

        _process.WaitForExit(); // drains the stderr reader.
        Assert.That(_process.ExitCode, Is.Zero, () => $"{Describe()} failed: {StandardError}");
        return rest.Result;
    }

    /// <summary>SIGKILL (no cleanup runs in the child), then waits (hang guard 60 s) until the process is gone (its flocks are released by then).</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(KillGuard);
        RemoveRuntimeLeftovers();
    }

    /// <summary>
    /// A .NET process killed with SIGKILL leaves its runtime's debugger FIFOs and diagnostics socket in /tmp; so
    /// do its own children killed with it. Removes those of every process of this user that no longer runs, so
    /// that tests which kill leave nothing behind.
    /// </summary>
    public static void RemoveRuntimeLeftovers() => Unjucks.SharedMemory.Native.RuntimeIpcFiles.RemoveStale();

    /// <summary>Kills the child if it still runs, and releases the process handle.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private string Describe() => $"{_name} (pid {_process.Id})";

    private string FailEnded()
    {
        string code = "still running";
        if (_process.WaitForExit(1000))
        {
            _process.WaitForExit(); // drains the stderr reader.
            code = _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.Fail($"{Describe()} closed its output (exit code: {code}); stderr: {StandardError}");
        return "";
    }

    private string FailTimedOut(TimeSpan timeout)
    {
        Assert.Fail($"{Describe()} printed no line within {timeout.TotalSeconds:0} s; stderr: {StandardError}; last stdout lines read:\n{string.Join("\n", _lastLines)}");
        return "";
    }
}
