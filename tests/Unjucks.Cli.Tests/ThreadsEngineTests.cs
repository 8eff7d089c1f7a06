using System.Text.Json;
using SkiaSharp;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>
/// The real engine in threads mode (the agent-process engine with agents as threads of this process), through the
/// command line and directly (small jobs: 2 busy cores).
/// </summary>
[TestFixture]
public sealed class ThreadsEngineTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task BundledSamplesWithOneAndFourAgentsGiveByteIdenticalTrees()
    {
        using var work = new TempDirectory();
        var services = new RealEngineServices(work.Path);

        var one = await CliRun.InvokeAsync(services, None, "run", "--agents", "1", "--mode", "threads", "--repeat", "2", "--out", "one");
        var four = await CliRun.InvokeAsync(services, None, "run", "--agents", "4", "--mode", "threads", "--repeat", "2", "--out", "four");

        Assert.That(one.ExitCode, Is.Zero, one.ToString());
        Assert.That(four.ExitCode, Is.Zero, four.ToString());
        var oneFiles = RelativeFiles(Path.Combine(work.Path, "one"));
        var fourFiles = RelativeFiles(Path.Combine(work.Path, "four"));
        Assert.That(fourFiles, Is.EqualTo(oneFiles), "the same files, by relative path");
        Assert.That(oneFiles.Count(f => f.StartsWith("round-01/", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(200), "every sample template gives a file");
        Assert.That(oneFiles.Count(f => f.StartsWith("round-02/", StringComparison.Ordinal)), Is.EqualTo(oneFiles.Count / 2), "both rounds are complete");
        Assert.That(oneFiles.Any(f => !f.StartsWith("round-0", StringComparison.Ordinal)), Is.False, "nothing outside the round folders");

        var differ = oneFiles.Where(f => !File.ReadAllBytes(Path.Combine(work.Path, "one", f)).AsSpan()
            .SequenceEqual(File.ReadAllBytes(Path.Combine(work.Path, "four", f)))).ToList();
        Assert.That(differ, Is.Empty, "files whose bytes differ between 1 and 4 agents");
        var roundsDiffer = oneFiles.Where(f => f.StartsWith("round-01/", StringComparison.Ordinal))
            .Where(f => !File.ReadAllBytes(Path.Combine(work.Path, "one", f)).AsSpan()
                .SequenceEqual(File.ReadAllBytes(Path.Combine(work.Path, "one", "round-02" + f["round-01".Length..])))).ToList();
        Assert.That(roundsDiffer, Is.Empty, "files whose bytes differ between round 1 and round 2");
        Assert.That(four.Out, Does.Contain("442 total (221 templates x 2 rounds), 442 rendered, 0 failed"), four.ToString());
    }

    [Test]
    public async Task BrokenTemplateAndTraversalAreReportedExit1AndTheRestRender()
    {
        using var work = new TempDirectory();
        var templates = Path.Combine(work.Path, "tpl");
        Write(templates, "ok/a.liquid", "---\nto: a.txt\n---\nHello {{ name }}!\n");
        Write(templates, "ok/b.liquid", "---\nto: nested/b.txt\ndependsOn:\n  - ok/a\n---\nB sees [{{ deps.ok_a.output }}]\n");
        Write(templates, "broken/syntax.liquid", "---\nto: syntax.txt\n---\nline two\n{% if name %}never closed\n");
        Write(templates, "broken/after.liquid", "---\nto: after.txt\ndependsOn:\n  - broken/syntax\n---\nnot rendered\n");
        Write(templates, "paths/escape.liquid", "---\nto: ../escape.txt\n---\nmust not be written\n");
        File.WriteAllText(Path.Combine(work.Path, "vars.json"), "{ \"name\": \"world\" }");
        var services = new RealEngineServices(work.Path);

        var run = await CliRun.InvokeAsync(services, None,
            "run", "--agents", "2", "--mode", "threads", "--templates", "tpl", "--vars", "vars.json", "--out", "out");

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        var output = Path.Combine(work.Path, "out");
        Assert.Multiple(() =>
        {
            Assert.That(RelativeFiles(output), Is.EqualTo(new[] { "a.txt", "nested/b.txt" }), "only the good templates wrote files");
            Assert.That(File.ReadAllText(Path.Combine(output, "a.txt")), Is.EqualTo("Hello world!\n"));
            Assert.That(File.ReadAllText(Path.Combine(output, "nested/b.txt")), Is.EqualTo("B sees [Hello world!\n]\n"));
            Assert.That(File.Exists(Path.Combine(work.Path, "escape.txt")), Is.False, "the traversal was refused");
            Assert.That(run.Out, Does.Contain("5 total, 2 rendered, 3 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("broken/syntax.liquid"), run.ToString());
            Assert.That(run.Out, Does.Contain("paths/escape.liquid"), run.ToString());
            Assert.That(run.Out, Does.Contain("3 template(s) failed; the other outputs are in " + output), run.ToString());
        });

        // The engine's summary, exactly: one failure per template, with its kind.
        var snapshots = new System.Collections.Concurrent.ConcurrentQueue<JobSnapshot>();
        var summary = await new TemplateJobEngine().RunAsync(
            new JobRequest(2, [templates], Path.Combine(work.Path, "out2"), RenderMode.Threads, Path.Combine(work.Path, "vars.json")),
            new CollectingProgress(snapshots), None);
        var failures = summary.Failures.ToDictionary(f => f.Template, f => f.Message);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Total, Is.EqualTo(5));
            Assert.That(summary.Succeeded, Is.EqualTo(2));
            Assert.That(failures.Keys, Is.EquivalentTo(new[] { "broken/syntax.liquid", "broken/after.liquid", "paths/escape.liquid" }));
            Assert.That(failures.GetValueOrDefault("broken/syntax.liquid"), Does.StartWith("Syntax"));
            Assert.That(failures.GetValueOrDefault("broken/after.liquid"), Does.StartWith("DependencyFailed").And.Contain("broken/syntax"));
            Assert.That(failures.GetValueOrDefault("paths/escape.liquid"), Does.StartWith("OutputPath"));
            Assert.That(snapshots.Last().Failed, Is.EqualTo(3), "the final snapshot counts the dependency failure too");
            Assert.That(snapshots.Last().Completed, Is.EqualTo(5));
        });
    }

    [Test]
    public async Task ScaleOneTwoInThreadsWritesItsThreeFilesAndThePngDecodes()
    {
        using var work = new TempDirectory();
        var services = new RealEngineServices(work.Path);

        var run = await CliRun.InvokeAsync(services, None,
            "scale", "--agents", "1,2", "--mode", "threads", "--rounds", "1", "--out", "report", "--render-dir", work.Path);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var report = Path.Combine(work.Path, "report");
        Assert.That(File.ReadAllText(Path.Combine(report, "scaling.md")), Does.Contain("| Agents | Operations/sec | Latency P95 | Memory MB | Efficiency |"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "scaling.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.That(rows.Select(r => r.GetProperty("agents").GetInt32()), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(rows.Select(r => r.GetProperty("failed").GetInt64()), Is.EqualTo(new[] { 0L, 0L }));
        Assert.That(rows.Select(r => r.GetProperty("templates").GetInt64()), Is.All.GreaterThanOrEqualTo(200));
        Assert.That(rows.Select(r => r.GetProperty("operationsPerSecond").GetDouble()), Is.All.GreaterThan(0));
        using var bitmap = SKBitmap.Decode(Path.Combine(report, "scaling.png"));
        Assert.That(bitmap, Is.Not.Null, "scaling.png decodes");
        Assert.That(bitmap.Width * bitmap.Height, Is.GreaterThan(0));
        Assert.That(Directory.GetDirectories(work.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "report" }), "the render folders were deleted");
    }

    [Test]
    public async Task SnapshotsCountEveryOperationOncePerAgentAndTheSummaryAgrees()
    {
        using var work = new TempDirectory();
        var snapshots = new System.Collections.Concurrent.ConcurrentQueue<JobSnapshot>();

        var summary = await new TemplateJobEngine().RunAsync(
            new JobRequest(3, [], work.Path, RenderMode.Threads, null, Repeat: 2), new CollectingProgress(snapshots), None);

        var last = snapshots.Last();
        Assert.Multiple(() =>
        {
            Assert.That(summary.Failures, Is.Empty, string.Join("\n", summary.Failures));
            Assert.That(summary.Mode, Is.EqualTo(RenderMode.Threads));
            Assert.That(summary.Repeat, Is.EqualTo(2));
            Assert.That(summary.Total, Is.EqualTo(summary.Succeeded));
            Assert.That(summary.Total % 2, Is.Zero, "two rounds of the same tree");
            Assert.That(last.Completed, Is.EqualTo(summary.Total), "the last snapshot is the final state");
            Assert.That(last.Total, Is.EqualTo(summary.Total));
            Assert.That(last.QueueDepth, Is.Zero);
            Assert.That(last.Agents.Select(a => a.Slot), Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(last.Agents.Select(a => a.Pid), Is.All.EqualTo(Environment.ProcessId), "threads run in this process");
            Assert.That(last.Agents.Sum(a => a.TasksDone), Is.EqualTo(summary.Total), "each operation is one engine task, committed once");
            Assert.That(snapshots.Select(s => s.Completed), Is.Ordered, "progress never goes back");
            Assert.That(summary.OperationsPerSecond, Is.GreaterThan(0));
            Assert.That(summary.Latency.P95, Is.GreaterThanOrEqualTo(summary.Latency.P50));
            Assert.That(summary.TimeSplit.Render, Is.GreaterThan(TimeSpan.Zero));
        });
        Assert.That(Directory.GetDirectories(work.Path).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "round-01", "round-02" }));
    }

    [Test]
    public void CancellingWhileRenderingCancelsTheJob()
    {
        using var work = new TempDirectory();
        using var cancellation = new CancellationTokenSource();
        var progress = new CollectingProgress(new(), s =>
        {
            if (s.Total > 0)
            {
                cancellation.Cancel(); // the first snapshot during the render phase
            }
        });

        // 50 rounds on one agent last far longer than the first 250 ms snapshot.
        Assert.That(
            async () => await new TemplateJobEngine().RunAsync(
                new JobRequest(1, [], work.Path, RenderMode.Threads, null, Repeat: 50), progress, cancellation.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    private sealed class CollectingProgress(System.Collections.Concurrent.ConcurrentQueue<JobSnapshot> into, Action<JobSnapshot>? then = null)
        : IProgress<JobSnapshot>
    {
        public void Report(JobSnapshot value)
        {
            into.Enqueue(value);
            then?.Invoke(value);
        }
    }

    private static void Write(string root, string relative, string text)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private static List<string> RelativeFiles(string root) => Directory.Exists(root)
        ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList()
        : [];
}
