using System.Diagnostics;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>The code of docs/getting-started.md (samples/getting-started) runs and gets the exact results the
/// document states, across two processes, and leaves no region behind.</summary>
public sealed class GettingStartedSampleTests
{
    [Test]
    [CancelAfter(120_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task TheGettingStartedCodeGetsItsExactResultsAndLeavesNoRegionBehind(CancellationToken ct)
    {
        var start = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SampleDll());
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(ct);
        Task<string> stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        string output = await stdout;
        string errors = await stderr;
        string regions = Unjucks.SharedMemory.SharedRegionOptions.DefaultDirectory;
        Assert.Multiple(() =>
        {
            Assert.That(process.ExitCode, Is.EqualTo(0), $"stdout:\n{output}\nstderr:\n{errors}");
            Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
            {
                "in-process: queue sum 7998000, ring True, deque 1/2 (True), scheduler total 127992000",
                "shared state: counter 2000 after 1000 increments in each of two processes",
                "queue: the other process received 10000 messages, exit code 0 (0: sum checked)",
            }));
            Assert.That(Directory.Exists(regions) ? Directory.GetFiles(regions, $"getting-started*-{process.Id}*") : [], Is.Empty,
                "the sample left a region behind");
        });
    }

    /// <summary>samples/getting-started/bin/&lt;Configuration&gt;/&lt;tfm&gt;/getting-started.dll, found by walking up from the tests.</summary>
    private static string SampleDll()
    {
        string here = AppContext.BaseDirectory;
        string tfm = new DirectoryInfo(here).Name;
        string configuration = new DirectoryInfo(here).Parent!.Name;
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "getting-started", "bin", configuration, tfm, "getting-started.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"getting-started.dll was not found under samples/getting-started/bin/{configuration}/{tfm}; build the test project (it references the sample).");
    }
}
