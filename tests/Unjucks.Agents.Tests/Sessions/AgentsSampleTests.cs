using System.Diagnostics;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>The getting-started sample (samples/agents) runs as a user would run it: coordinator and agents from one
/// program, dependencies and results across processes, the right package at the end, nothing left behind.</summary>
public sealed class AgentsSampleTests
{
    [Test]
    [CancelAfter(120_000)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task TheSampleBuildsTheRightPackageOnAgentProcessesAndLeavesNothingBehind(CancellationToken ct)
    {
        var start = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SampleDll());
        start.ArgumentList.Add("2");
        start.ArgumentList.Add("60");
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
        string sessionFolder = $"/dev/shm/unjucks-{EffectiveUserId()}";
        Assert.Multiple(() =>
        {
            Assert.That(process.ExitCode, Is.EqualTo(0), $"stdout:\n{output}\nstderr:\n{errors}");
            Assert.That(output, Does.StartWith("package "), "the sample prints the package it built");
            Assert.That(output, Does.Contain("63 tasks on 2 agents").And.Contain("0 restarts, 0 failed"));
            Assert.That(Directory.Exists(sessionFolder) ? Directory.GetFiles(sessionFolder, $"s{process.Id}-*") : [], Is.Empty,
                "the sample's session left files behind");
        });
    }

    /// <summary>The effective uid (the second number of /proc/self/status's Uid line), which names the default session folder.</summary>
    private static string EffectiveUserId() =>
        File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal))
            .Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[2];

    /// <summary>samples/agents/bin/&lt;Configuration&gt;/&lt;tfm&gt;/agents-sample.dll, found by walking up from the tests.</summary>
    private static string SampleDll()
    {
        string here = AppContext.BaseDirectory;
        string tfm = new DirectoryInfo(here).Name;
        string configuration = new DirectoryInfo(here).Parent!.Name;
        for (var dir = new DirectoryInfo(here); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "samples", "agents", "bin", configuration, tfm, "agents-sample.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"agents-sample.dll was not found under samples/agents/bin/{configuration}/{tfm}; build the test project (it references the sample).");
    }
}
