using System.Buffers.Binary;
using System.Text.Json;
using SkiaSharp;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Tests;

[TestFixture]
public sealed class ScaleCommandTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Test]
    public async Task ScaleOneTwoWritesMarkdownJsonAndAPngThatOpens()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        services.Engine.OperationsPerSecond = n => n == 1 ? 100 : 180;

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1,2", "--out", "report", "--render-dir", "scratch", "--mode", "threads");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var report = Path.Combine(work.Path, "report");

        // The engine ran once per agent count, each into its own output folder, now cleaned up.
        var requests = services.Engine.Requests.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(requests.Select(r => r.Agents), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(requests.Select(r => r.Mode), Is.All.EqualTo(RenderMode.Threads));
            Assert.That(requests.Select(r => r.OutputDirectory).Distinct().Count(), Is.EqualTo(2));
            Assert.That(requests.Select(r => r.OutputDirectory), Is.All.StartsWith(Path.Combine(work.Path, "scratch")));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(work.Path, "scratch")), Is.Empty, "scratch outputs are removed");
        });

        // JSON: two rows, efficiency = ops(N) / (N * ops(1)) = 180 / 200 = 0.9.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "scaling.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(json.RootElement.GetProperty("mode").GetString(), Is.EqualTo("threads"));
            Assert.That(json.RootElement.GetProperty("renderDirectoryIsTmpfs").GetBoolean(), Is.False);
            Assert.That(rows, Has.Length.EqualTo(2));
            Assert.That(rows.Select(r => r.GetProperty("agents").GetInt32()), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(rows.Select(r => r.GetProperty("operationsPerSecond").GetDouble()), Is.EqualTo(new[] { 100.0, 180.0 }));
            Assert.That(rows[0].GetProperty("efficiency").GetDouble(), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(rows[1].GetProperty("efficiency").GetDouble(), Is.EqualTo(0.9).Within(1e-12));
            Assert.That(rows[1].GetProperty("latencyP95Ms").GetDouble(), Is.EqualTo(4.0).Within(1e-9));
            Assert.That(rows[1].GetProperty("memoryMb").GetDouble(), Is.EqualTo(12.0));
            Assert.That(rows[1].GetProperty("averageQueueTimeUs").GetDouble(), Is.EqualTo(30.0).Within(1e-9));
            Assert.That(rows[1].GetProperty("messageLatencyUs").GetDouble(), Is.EqualTo(3.0).Within(1e-9));
            Assert.That(rows[1].GetProperty("coordinationOverheadPercent").GetDouble(), Is.EqualTo(0.25));
            Assert.That(rows[1].GetProperty("loadCoefficientOfVariation").GetDouble(), Is.EqualTo(0.04));
            Assert.That(rows[1].GetProperty("writeMs").GetDouble(), Is.EqualTo(100.0).Within(1e-9));
            Assert.That(rows[1].GetProperty("failed").GetInt64(), Is.Zero);
        });

        // Markdown: the seed's table with both rows, and the plot link.
        var markdown = File.ReadAllText(Path.Combine(report, "scaling.md"));
        Assert.Multiple(() =>
        {
            Assert.That(markdown, Does.Contain("| Agents | Operations/sec | Latency P95 | Memory MB | Efficiency |"));
            Assert.That(markdown, Does.Contain("| 1 | 100.0 | 3.00 ms | 11.0 | 100.0% |"), markdown);
            Assert.That(markdown, Does.Contain("| 2 | 180.0 | 4.00 ms | 12.0 | 90.0% |"), markdown);
            Assert.That(markdown, Does.Contain("Coordination overhead"));
            Assert.That(markdown, Does.Contain("| Agents | Discovery | Parse | Render | Write | Wall time |"));
            Assert.That(markdown, Does.Contain("![Operations/s and efficiency against agents](scaling.png)"));
        });

        // PNG: the signature, the IHDR dimensions, and a full decode.
        var png = File.ReadAllBytes(Path.Combine(report, "scaling.png"));
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(PngSignature), "PNG signature");
        Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"));
        var width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4));
        var height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4));
        using var bitmap = SKBitmap.Decode(png);
        Assert.Multiple(() =>
        {
            Assert.That((width, height), Is.EqualTo((Scaling.ScalingPlot.Width, Scaling.ScalingPlot.Height)));
            Assert.That(bitmap, Is.Not.Null, "the PNG decodes");
            Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)));
            Assert.That(CountDistinctColors(bitmap), Is.GreaterThan(3), "the plot is not blank");
        });

        // Terminal output: the tables and where the files went.
        Assert.Multiple(() =>
        {
            Assert.That(run.Out, Does.Contain("Operations/sec"));
            Assert.That(run.Out, Does.Contain("90.0%"));
            Assert.That(run.Out, Does.Contain("scale 1/2: 1 agent(s): 100.0 ops/s, p95 3.00 ms, 11.0 MB, 0 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain("scale 2/2: 2 agent(s): 180.0 ops/s, p95 4.00 ms, 12.0 MB, 0 failed"), run.ToString());
            Assert.That(run.Out, Does.Contain($"Wrote scaling.md, scaling.json and scaling.png to {report}"));
        });
    }

    [Test]
    public async Task WithoutOptionsRunsTheSeedsAgentCountsAndRendersOnTmpfsWhenThereIsOne()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };

        var run = await CliRun.InvokeAsync(services, "scale");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var requests = services.Engine.Requests.ToArray();
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.Path, "scaling", "scaling.json")));
        var tmpfs = Directory.Exists("/dev/shm");
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(requests.Select(r => r.Agents), Is.EqualTo(new[] { 1, 2, 4, 8, 16 }));
            Assert.That(requests.Select(r => r.Mode), Is.All.EqualTo(RenderMode.Processes));
            Assert.That(requests.Select(r => r.UsesBundledSamples), Is.All.True);
            Assert.That(json.RootElement.GetProperty("rows").GetArrayLength(), Is.EqualTo(5));
            Assert.That(json.RootElement.GetProperty("renderDirectoryIsTmpfs").GetBoolean(), Is.EqualTo(tmpfs));
            Assert.That(requests.Select(r => Directory.Exists(r.OutputDirectory)), Is.All.False, "scratch outputs are removed");
            if (tmpfs)
            {
                Assert.That(requests.Select(r => r.OutputDirectory), Is.All.StartsWith("/dev/shm/"));
            }
        });
    }

    [Test]
    public async Task FailuresInAnyRunExit1ButTheReportIsStillWritten()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        services.Engine.Failures = r => r.Agents == 2 ? [new TemplateFailure("a.liquid", "unknown variable 'title' (strict mode)")] : [];

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1,2", "--render-dir", "scratch");

        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("a.liquid: unknown variable 'title'"), run.ToString());
            Assert.That(File.Exists(Path.Combine(work.Path, "scaling", "scaling.json")), Is.True, "default report folder is ./scaling");
            Assert.That(File.Exists(Path.Combine(work.Path, "scaling", "scaling.md")), Is.True);
            Assert.That(File.Exists(Path.Combine(work.Path, "scaling", "scaling.png")), Is.True);
        });
    }

    [Test]
    public void EfficiencyUsesTheSmallestCountAsBaselineWhenOneIsMissing()
    {
        var engine = new FakeJobEngine { OperationsPerSecond = n => n switch { 2 => 200, 4 => 360, 8 => 560, _ => 0 } };
        var summaries = new[] { 8, 2, 4 }
            .Select(n => engine.RunAsync(new JobRequest(n, [], "/tmp/x", RenderMode.Processes, null), null, CancellationToken.None).Result)
            .ToList();

        var report = Scaling.ScalingReport.Build(
            summaries.Select(r => new Scaling.ScalingRuns(r.Agents, [r], [null])).ToList(), RenderMode.Processes, [], "/tmp/x", false, DateTimeOffset.UnixEpoch);

        Assert.Multiple(() =>
        {
            Assert.That(report.Rows.Select(r => r.Agents), Is.EqualTo(new[] { 2, 4, 8 }), "rows sorted by agents");
            Assert.That(report.Rows.Select(r => r.Efficiency), Is.EqualTo(new[] { 1.0, 0.9, 0.7 }).Within(1e-12));
        });
    }

    [Test]
    public async Task RepeatRunsEachCountNTimesAndReportsTheMedianRunWithItsSpreadAndTheLoadAverage()
    {
        using var work = new TempDirectory();
        var services = new FakeServices { CurrentDirectory = work.Path };
        var rates = new Dictionary<int, Queue<double>> { [1] = new([90, 110, 100]), [2] = new([150, 200, 180]) };
        services.Engine.OperationsPerSecond = n => rates[n].Dequeue();

        var run = await CliRun.InvokeAsync(services, "scale", "--agents", "1,2", "--repeat", "3", "--rounds", "2", "--out", "report", "--render-dir", "scratch");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var requests = services.Engine.Requests.ToArray();
        Assert.That(requests.Select(r => r.Agents), Is.EqualTo(new[] { 1, 1, 1, 2, 2, 2 }), "each count three times, in order");
        Assert.That(requests.Select(r => r.Repeat), Is.All.EqualTo(2), "--rounds is the rounds of each run");
        Assert.That(requests.Select(r => r.OutputDirectory).Distinct().Count(), Is.EqualTo(6), "every run into its own folder");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(work.Path, "report", "scaling.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(rows.Select(r => r.GetProperty("runs").GetInt32()), Is.EqualTo(new[] { 3, 3 }));
            Assert.That(rows.Select(r => r.GetProperty("operationsPerSecond").GetDouble()), Is.EqualTo(new[] { 100.0, 180.0 }), "the median runs");
            Assert.That(rows.Select(r => r.GetProperty("operationsPerSecondMin").GetDouble()), Is.EqualTo(new[] { 90.0, 150.0 }));
            Assert.That(rows.Select(r => r.GetProperty("operationsPerSecondMax").GetDouble()), Is.EqualTo(new[] { 110.0, 200.0 }));
            Assert.That(rows[0].GetProperty("spreadPercent").GetDouble(), Is.EqualTo(20.0).Within(1e-9), "(110 - 90) / 100");
            Assert.That(rows[1].GetProperty("spreadPercent").GetDouble(), Is.EqualTo(50.0 / 180 * 100).Within(1e-9));
            Assert.That(rows[1].GetProperty("efficiency").GetDouble(), Is.EqualTo(0.9).Within(1e-12), "from the medians: 180 / (2 x 100)");
            Assert.That(rows.Select(r => r.GetProperty("loadAverage").GetDouble()), Is.All.GreaterThanOrEqualTo(0.0), "/proc/loadavg read after the runs");
            Assert.That(json.RootElement.GetProperty("loadAverageAtStart").GetDouble(), Is.GreaterThanOrEqualTo(0.0));
        });
        var markdown = File.ReadAllText(Path.Combine(work.Path, "report", "scaling.md"));
        Assert.That(markdown, Does.Contain("Runs per agent count: 3").And.Contain("| 1 | 3 | 90.0 | 110.0 | 20.0% |").And.Contain("--rounds 2 --repeat 3"));
    }

    private static int CountDistinctColors(SKBitmap bitmap)
    {
        var colors = new HashSet<uint>();
        for (var y = 0; y < bitmap.Height; y += 7)
        {
            for (var x = 0; x < bitmap.Width; x += 7)
            {
                colors.Add((uint)bitmap.GetPixel(x, y));
            }
        }

        return colors.Count;
    }
}
