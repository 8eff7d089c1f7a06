using System.Globalization;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>
/// The summary's memory figure is the job's real footprint: an 8-agent run on 2 templates (a short job, where
/// sampling once at the end would miss the agents) reports a peak within 25 % of the peak summed PSS this test
/// measures on its own, every few milliseconds, over this process and every child process it has.
/// </summary>
[TestFixture]
public sealed class MemoryFigureTests
{
    [Test]
    public async Task EightAgentsOnTwoTemplatesReportTheirSummedPss()
    {
        using var work = new TempDirectory();
        var tree = Path.Combine(work.Path, "tpl");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "a.liquid"), "---\nto: a.txt\n---\na\n");
        File.WriteAllText(Path.Combine(tree, "b.liquid"), "---\nto: b.txt\ndependsOn:\n  - a\n---\nb\n");

        using var stop = new CancellationTokenSource();
        long peak = 0;
        int mostChildren = 0;
        var sampler = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var children = Children();
                mostChildren = Math.Max(mostChildren, children.Count);
                peak = Math.Max(peak, Pss(Environment.ProcessId) + children.Sum(Pss));
                Thread.Sleep(5);
            }
        }, TaskCreationOptions.LongRunning);

        JobSummary summary;
        try
        {
            summary = await new TemplateJobEngine().RunAsync(
                new JobRequest(8, [tree], Path.Combine(work.Path, "out"), RenderMode.Processes, null), null, CancellationToken.None)
                .WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }

        var measured = peak / (1024.0 * 1024.0);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"summary {summary.MemoryMegabytes:F1} MB, measured peak {measured:F1} MB"));
        Assert.Multiple(() =>
        {
            Assert.That(summary.Succeeded, Is.EqualTo(2), string.Join("\n", summary.Failures));
            Assert.That(mostChildren, Is.EqualTo(8), "the sampler saw the 8 agent processes");
            Assert.That(summary.MemoryMegabytes, Is.InRange(measured * 0.75, measured * 1.25),
                string.Create(CultureInfo.InvariantCulture, $"the summary says {summary.MemoryMegabytes:F1} MB, this test measured a peak of {measured:F1} MB"));
        });
    }

    /// <summary>The child processes of this process (every thread's children).</summary>
    private static List<int> Children()
    {
        var pids = new List<int>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                pids.AddRange(File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)));
            }
            catch (IOException)
            {
                // The thread ended while we read.
            }
        }

        return [.. pids.Distinct()];
    }

    /// <summary>PSS of one process from /proc/PID/smaps_rollup, bytes; 0 once it is gone.</summary>
    private static long Pss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/smaps_rollup").FirstOrDefault(l => l.StartsWith("Pss:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
