using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using SkiaSharp;
using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

/// <summary>
/// The real engine in processes mode (the default), through the command line: real agent processes (this build's
/// unjucks-perf.dll under the dotnet host), small jobs (2 busy cores). Hang guards only.
/// </summary>
[TestFixture]
public sealed class ProcessesEngineTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task OneAndFourAgentProcessesAndThreadsGiveByteIdenticalTrees()
    {
        using var work = new TempDirectory();
        var services = new RealEngineServices(work.Path);

        var one = await CliRun.InvokeAsync(services, None, "run", "--agents", "1", "--repeat", "2", "--out", "one");
        var four = await CliRun.InvokeAsync(services, None, "run", "--agents", "4", "--repeat", "2", "--out", "four");
        var threads = await CliRun.InvokeAsync(services, None, "run", "--agents", "2", "--mode", "threads", "--repeat", "2", "--out", "threads");

        Assert.That(one.ExitCode, Is.Zero, one.ToString());
        Assert.That(four.ExitCode, Is.Zero, four.ToString());
        Assert.That(threads.ExitCode, Is.Zero, threads.ToString());
        Assert.That(four.Out, Does.Contain("with 4 agent(s) as processes into"), four.ToString());
        Assert.That(four.Out, Does.Contain("442 total (221 templates x 2 rounds), 442 rendered, 0 failed"), four.ToString());
        Assert.That(one.Out, Does.Contain("442 total (221 templates x 2 rounds), 442 rendered, 0 failed"), one.ToString());

        var expected = Tree.Files(Path.Combine(work.Path, "threads"));
        Assert.That(expected, Has.Count.EqualTo(442), "221 sample templates x 2 rounds");
        Assert.That(Tree.Files(Path.Combine(work.Path, "one")), Is.EqualTo(expected), "1 agent process: the same files as threads mode");
        Assert.That(Tree.Files(Path.Combine(work.Path, "four")), Is.EqualTo(expected), "4 agent processes: the same files as threads mode");
        Assert.That(Tree.Differing(Path.Combine(work.Path, "threads"), Path.Combine(work.Path, "one"), expected), Is.Empty, "bytes differ: threads vs 1 process");
        Assert.That(Tree.Differing(Path.Combine(work.Path, "threads"), Path.Combine(work.Path, "four"), expected), Is.Empty, "bytes differ: threads vs 4 processes");
    }

    [Test]
    public async Task AnAgentKilledMidRunLeavesEveryOutputExactlyOnceAndExits0()
    {
        using var work = new TempDirectory();
        var killer = new KillOneAgent();
        var services = new KillingServices(work.Path, killer);

        var run = await CliRun.InvokeAsync(services, None, "run", "--agents", "3", "--repeat", "4", "--out", "killed");
        var reference = await CliRun.InvokeAsync(new RealEngineServices(work.Path), None, "run", "--mode", "threads", "--repeat", "4", "--out", "reference");

        Assert.That(killer.KilledPid, Is.Not.Null, "the job ended before an agent could be killed (no snapshot with live agents and work left)");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(reference.ExitCode, Is.Zero, reference.ToString());
        Assert.That(run.Out, Does.Contain("884 total (221 templates x 4 rounds), 884 rendered, 0 failed"), run.ToString());
        var expected = Tree.Files(Path.Combine(work.Path, "reference"));
        var actual = Tree.Files(Path.Combine(work.Path, "killed"));
        Assert.That(actual.Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)), Is.Empty, "temporary files left behind");
        Assert.That(actual, Is.EqualTo(expected), "every output exists, once, and nothing else");
        Assert.That(Tree.Differing(Path.Combine(work.Path, "reference"), Path.Combine(work.Path, "killed"), expected), Is.Empty, "outputs whose bytes differ");
        Assert.That(killer.DeadInALaterSnapshot, Is.True, $"no snapshot after the kill showed agent pid {killer.KilledPid} dead");
    }

    [Test]
    public async Task ABrokenTreeReportsEachFailureAndExits1AndTheRestRender()
    {
        using var work = new TempDirectory();
        var templates = Path.Combine(work.Path, "tpl");
        Write(templates, "ok/a.liquid", "---\nto: a.txt\n---\nHello {{ name }}!\n");
        Write(templates, "ok/b.liquid", "---\nto: nested/b.txt\ndependsOn:\n  - ok/a\n---\nB sees [{{ deps.ok_a.output }}] at {{ deps.ok_a.path }}\n");
        Write(templates, "broken/syntax.liquid", "---\nto: syntax.txt\n---\nline two\n{% if name %}never closed\n");
        Write(templates, "broken/after.liquid", "---\nto: after.txt\ndependsOn:\n  - broken/syntax\n---\nnot rendered\n");
        Write(templates, "broken/missing.liquid", "---\ndependsOn:\n  - nowhere/x\n---\nnot rendered\n");
        Write(templates, "paths/escape.liquid", "---\nto: ../escape.txt\n---\nmust not be written\n");
        File.WriteAllText(Path.Combine(work.Path, "vars.json"), "{ \"name\": \"world\" }");
        var services = new RealEngineServices(work.Path);

        var run = await CliRun.InvokeAsync(services, None,
            "run", "--agents", "2", "--templates", "tpl", "--vars", "vars.json", "--out", "out");

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        var output = Path.Combine(work.Path, "out");
        Assert.Multiple(() =>
        {
            Assert.That(Tree.Files(output), Is.EqualTo(new[] { "a.txt", "nested/b.txt" }), "only the good templates wrote files");
            Assert.That(File.ReadAllText(Path.Combine(output, "nested/b.txt")), Is.EqualTo("B sees [Hello world!\n] at a.txt\n"), "the dependency's output and path reached the dependent");
            Assert.That(File.Exists(Path.Combine(work.Path, "escape.txt")), Is.False, "the traversal was refused");
            Assert.That(run.Out, Does.Contain("6 total, 2 rendered, 4 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("4 template(s) failed; the other outputs are in " + output), run.ToString());
        });

        // The engine's summary, exactly: one failure per template, with its kind, line and the agent's message.
        var summary = await new TemplateJobEngine().RunAsync(
            new JobRequest(2, [templates], Path.Combine(work.Path, "out2"), RenderMode.Processes, Path.Combine(work.Path, "vars.json")), null, None)
            .WaitAsync(TimeSpan.FromMinutes(1));
        var failures = summary.Failures.ToDictionary(f => f.Template, f => f.Message);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Mode, Is.EqualTo(RenderMode.Processes));
            Assert.That(summary.Total, Is.EqualTo(6));
            Assert.That(summary.Succeeded, Is.EqualTo(2));
            Assert.That(failures.Keys, Is.EquivalentTo(new[] { "broken/syntax.liquid", "broken/after.liquid", "broken/missing.liquid", "paths/escape.liquid" }));
            Assert.That(failures.GetValueOrDefault("broken/syntax.liquid"), Does.StartWith("Syntax (line ").And.Contain("Liquid syntax error"), "rendered in an agent, decoded here");
            Assert.That(failures.GetValueOrDefault("broken/after.liquid"), Does.StartWith("DependencyFailed").And.Contain("broken/syntax"));
            Assert.That(failures.GetValueOrDefault("broken/missing.liquid"), Does.StartWith("MissingDependency").And.Contain("nowhere/x"));
            Assert.That(failures.GetValueOrDefault("paths/escape.liquid"), Does.StartWith("OutputPath"));
        });
    }

    [TestCase(RenderMode.Processes)]
    [TestCase(RenderMode.Threads)]
    public async Task TemplatesWritingOnePathOnDifferentAgentsConflictInsteadOfOverwriting(RenderMode mode)
    {
        // 12 templates render the same `to:`; with 2 agents both agents render some of them. Claims kept per
        // agent would let one template per agent write (and the later overwrite the earlier); the job's shared
        // claims let exactly one write and report the other 11.
        using var work = new TempDirectory();
        var templates = Path.Combine(work.Path, "tpl");
        const int n = 12;
        for (var i = 0; i < n; i++)
        {
            Write(templates, $"t{i:D2}.liquid", $"---\nto: same.txt\n---\nwritten by t{i:D2}\n");
        }

        Write(templates, "other.liquid", "---\nto: other.txt\n---\nfine\n");
        var claimsBefore = ClaimDirectories();

        var summary = await new TemplateJobEngine().RunAsync(
            new JobRequest(2, [templates], Path.Combine(work.Path, "out"), mode, null), null, None)
            .WaitAsync(TimeSpan.FromMinutes(2));

        var conflicts = summary.Failures.Where(f => f.Message.StartsWith("OutputConflict", StringComparison.Ordinal)).ToList();
        var writers = Enumerable.Range(0, n).Select(i => $"t{i:D2}.liquid").Except(summary.Failures.Select(f => f.Template)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(summary.Total, Is.EqualTo(n + 1));
            Assert.That(summary.Failures, Has.Count.EqualTo(n - 1), string.Join("\n", summary.Failures));
            Assert.That(conflicts, Has.Count.EqualTo(n - 1), "every failure is an output conflict");
            Assert.That(writers, Has.Count.EqualTo(1), "exactly one template may write same.txt");
        });
        var winner = Path.GetFileNameWithoutExtension(writers.Single());
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(Path.Combine(work.Path, "out", "same.txt")), Is.EqualTo($"written by {winner}\n"), "the file is the winner's, not overwritten");
            Assert.That(conflicts.Select(c => c.Message), Has.All.Contain($"'{winner}'"), "each conflict names the template that has the path");
            Assert.That(File.ReadAllText(Path.Combine(work.Path, "out", "other.txt")), Is.EqualTo("fine\n"));
            Assert.That(ClaimDirectories().Except(claimsBefore), Is.Empty, "the job's claims directory was left behind");
        });
    }

    private static List<string> ClaimDirectories()
    {
        var root = Unjucks.SharedMemory.SharedRegionOptions.DefaultDirectory;
        return Directory.Exists(root) ? [.. Directory.GetDirectories(root, "claims-*")] : [];
    }

    [Test]
    public async Task ScaleOneTwoInProcessesWritesItsThreeFilesAndThePngDecodes()
    {
        using var work = new TempDirectory();
        var services = new RealEngineServices(work.Path);

        var run = await CliRun.InvokeAsync(services, None,
            "scale", "--agents", "1,2", "--mode", "processes", "--rounds", "1", "--out", "report", "--render-dir", work.Path);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var report = Path.Combine(work.Path, "report");
        Assert.That(File.ReadAllText(Path.Combine(report, "scaling.md")), Does.Contain("| Agents | Operations/sec | Latency P95 | Memory MB | Efficiency |"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "scaling.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.That(rows.Select(r => r.GetProperty("agents").GetInt32()), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(rows.Select(r => r.GetProperty("failed").GetInt64()), Is.EqualTo(new[] { 0L, 0L }));
        Assert.That(rows.Select(r => r.GetProperty("templates").GetInt64()), Is.All.EqualTo(221L));
        Assert.That(rows.Select(r => r.GetProperty("operationsPerSecond").GetDouble()), Is.All.GreaterThan(0));
        using var bitmap = SKBitmap.Decode(Path.Combine(report, "scaling.png"));
        Assert.That(bitmap, Is.Not.Null, "scaling.png decodes");
        Assert.That(Directory.GetDirectories(work.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "report" }), "the render folders were deleted");
    }

    [Test]
    public async Task SnapshotsShowAgentProcessesAndTheSummaryCountsEachTaskOnce()
    {
        using var work = new TempDirectory();
        var snapshots = new ConcurrentQueue<JobSnapshot>();

        var summary = await new TemplateJobEngine().RunAsync(
            new JobRequest(2, [], work.Path, RenderMode.Processes, null, Repeat: 2), new Collecting(snapshots.Enqueue), None)
            .WaitAsync(TimeSpan.FromMinutes(1));

        var last = snapshots.Last();
        var pids = snapshots.SelectMany(s => s.Agents).Select(a => a.Pid).Where(p => p != 0).Distinct().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(summary.Failures, Is.Empty, string.Join("\n", summary.Failures));
            Assert.That(summary.Mode, Is.EqualTo(RenderMode.Processes));
            Assert.That(summary.Total, Is.EqualTo(442));
            Assert.That(summary.Succeeded, Is.EqualTo(442));
            Assert.That(last.Completed, Is.EqualTo(442), "the last snapshot is the final state");
            Assert.That(last.Agents.Sum(a => a.TasksDone), Is.EqualTo(442), "each task's Done record names one agent");
            Assert.That(last.Agents.Select(a => a.Slot), Is.EqualTo(new[] { 0, 1 }));
            Assert.That(pids, Has.Count.EqualTo(2).And.No.EqualTo(Environment.ProcessId), "two agent processes, not this one");
            Assert.That(snapshots.Select(s => s.Completed), Is.Ordered, "progress never goes back");
            Assert.That(summary.OperationsPerSecond, Is.GreaterThan(0));
            Assert.That(summary.Latency.P95, Is.GreaterThanOrEqualTo(summary.Latency.P50));
            Assert.That(summary.TimeSplit.Render, Is.GreaterThan(TimeSpan.Zero), "the agents' render time came back in the results");
            Assert.That(summary.TimeSplit.Write, Is.GreaterThan(TimeSpan.Zero), "the agents' write time came back in the results");
            Assert.That(summary.MemoryMegabytes, Is.GreaterThan(0));
        });
        Assert.That(Directory.GetDirectories(work.Path).Select(Path.GetFileName).Order(), Is.EqualTo(new[] { "round-01", "round-02" }));
        foreach (var pid in pids)
        {
            Assert.That(Exited(pid), Is.True, $"agent pid {pid} still runs after the job");
        }
    }

    [Test]
    public void CancellingWhileRenderingCancelsTheJobAndStopsTheAgents()
    {
        using var work = new TempDirectory();
        using var cancellation = new CancellationTokenSource();
        var pids = new ConcurrentBag<int>();
        var progress = new Collecting(s =>
        {
            foreach (var a in s.Agents.Where(a => a.Pid != 0))
            {
                pids.Add(a.Pid);
            }

            if (s.Total > 0 && s.Agents.Any(a => a.Pid != 0))
            {
                cancellation.Cancel();
            }
        });

        Assert.That(
            async () => await new TemplateJobEngine().RunAsync(
                new JobRequest(2, [], work.Path, RenderMode.Processes, null, Repeat: 50), progress, cancellation.Token).WaitAsync(TimeSpan.FromMinutes(1)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(pids, Is.Not.Empty, "a snapshot named the agents");
        foreach (var pid in pids.Distinct())
        {
            Assert.That(Exited(pid), Is.True, $"agent pid {pid} still runs after the cancelled job");
        }
    }

    private static bool Exited(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static void Write(string root, string relative, string text)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private sealed class Collecting(Action<JobSnapshot> then) : IProgress<JobSnapshot>
    {
        public void Report(JobSnapshot value) => then(value);
    }

    /// <summary>Kills one agent process (SIGKILL) from the first snapshot that shows live agents and work left.</summary>
    private sealed class KillOneAgent
    {
        private int _killed;

        public int? KilledPid { get; private set; }

        public bool DeadInALaterSnapshot { get; private set; }

        public void Observe(JobSnapshot snapshot)
        {
            if (KilledPid is int pid)
            {
                DeadInALaterSnapshot |= snapshot.Agents.Any(a => a.Pid == pid && !a.Alive);
                return;
            }

            var victim = snapshot.Agents.LastOrDefault(a => a.Pid != 0 && a.Alive);
            if (snapshot.Total == 0 || snapshot.Completed >= snapshot.Total || victim is null || Interlocked.Exchange(ref _killed, 1) != 0)
            {
                return;
            }

            using var process = Process.GetProcessById(victim.Pid);
            process.Kill(); // SIGKILL: no cleanup in the agent
            process.WaitForExit(TimeSpan.FromSeconds(10));
            KilledPid = victim.Pid;
        }
    }

    /// <summary>The real engine (processes mode, 50 ms snapshots) with a progress hook that kills an agent.</summary>
    private sealed class KillingServices(string currentDirectory, KillOneAgent killer) : ICliServices
    {
        public IJobEngine CreateJobEngine() => new Engine(killer);

        public IRegionInspector CreateRegionInspector() => throw new NotSupportedException();

        public IGcCoordinator CreateGcCoordinator() => throw new NotSupportedException();

        public bool OutputIsTerminal => false;

        public string CurrentDirectory => currentDirectory;

        public string ToolDirectory => AppContext.BaseDirectory;

        public Task<int> RunProcessAsync(ChildProcess process, CancellationToken cancellationToken) => throw new NotSupportedException();

        private sealed class Engine(KillOneAgent killer) : IJobEngine
        {
            private readonly TemplateJobEngine _inner = new();

            public Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken) =>
                _inner.RunAsync(request, new Collecting(s =>
                {
                    killer.Observe(s);
                    progress?.Report(s);
                }), cancellationToken);
        }
    }
}

/// <summary>Output trees: relative file lists (hidden files included) and byte comparison.</summary>
internal static class Tree
{
    public static List<string> Files(string root) => Directory.Exists(root)
        ? Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList()
        : [];

    public static List<string> Differing(string a, string b, IEnumerable<string> files) =>
        files.Where(f => !File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f)))).ToList();
}
