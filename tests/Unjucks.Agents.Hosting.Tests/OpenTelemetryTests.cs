using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Hosting.Tests;

/// <summary>The documented OpenTelemetry setup (AddMeter("Unjucks.Agents"), AddSource("Unjucks.Agents")) with the
/// in-memory exporter: the session's instruments, and each task's activity a child of the submitter's, continued
/// in the agent process (which traces with its own OpenTelemetry SDK and reports what its activity's parent was).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class OpenTelemetryTests
{
    private static readonly ActivitySource Submitter = new("Unjucks.Agents.Hosting.Tests");

    [Test]
    [CancelAfter(120_000)]
    public async Task TheInMemoryExporterSeesTheInstrumentsAndTheCrossProcessParentChildActivities(CancellationToken ct)
    {
        const int tasks = 6;
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var folder = SessionFolder.Create();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The setup the docs show, with the in-memory exporter in place of a real one.
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddSource("Unjucks.Agents", Submitter.Name).AddInMemoryExporter(spans))
            .WithMetrics(m => m.AddMeter("Unjucks.Agents").AddInMemoryExporter(metrics));
        builder.Services.AddAgentSession(o =>
        {
            o.Agents = 2;
            o.Directory = folder.Path;
            o.AgentProcess = ChildProcess.StartInfo("Unjucks.HostedTestAgent", []);
            o.AgentProcess.Environment["UNJUCKS_TEST_AGENT_TRACING"] = "1";
        });
        using IHost host = builder.Build();
        await host.StartAsync(ct);
        AgentSession session = host.Services.GetRequiredService<AgentSession>();

        ActivityTraceId trace;
        ActivitySpanId submitterSpan;
        var results = new List<string>();
        using (Activity submit = Submitter.StartActivity("submit the job")!)
        {
            trace = submit.TraceId;
            submitterSpan = submit.SpanId;
            var handles = new List<AgentTaskHandle>();
            for (int i = 0; i < tasks; i++)
            {
                handles.Add(await session.SubmitAsync(Encoding.UTF8.GetBytes($"task {i}"), cancellationToken: ct));
            }

            foreach (AgentTaskHandle handle in handles)
            {
                results.Add(Encoding.UTF8.GetString((await handle.Result.WaitAsync(ct)).Span));
            }

            Assert.That(Activity.Current, Is.SameAs(submit), "submitting leaves the submitter's activity current");
        }

        long completed = await CompletedTasksAsync(host, metrics, tasks);
        await host.StopAsync(ct);

        Activity[] producers;
        lock (spans)
        {
            producers = [.. spans.Where(a => a.Source.Name == "Unjucks.Agents" && a.OperationName == "unjucks.agents.task")];
        }

        var agentSides = results.Select(r => TraceOf().Match(r)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(completed, Is.EqualTo(tasks), "unjucks.agents.tasks.completed counted every task once");
            Assert.That(producers, Has.Length.EqualTo(tasks), "one producer activity per task");
            Assert.That(producers.All(p => p.Kind == ActivityKind.Producer && p.TraceId == trace && p.ParentSpanId == submitterSpan), Is.True,
                "each task's activity is a child of the submitter's");
            Assert.That(agentSides.All(m => m.Success), Is.True, "each agent ran its handler inside an activity: " + string.Join("\n", results));
            Assert.That(agentSides.Select(m => m.Groups[1].Value), Is.All.EqualTo(trace.ToHexString()), "the agent's activity is in the submitter's trace");
            Assert.That(agentSides.Select(m => m.Groups[2].Value), Is.EquivalentTo(producers.Select(p => p.SpanId.ToHexString())),
                "each agent activity's parent is its task's producer activity, across the process boundary");
            Assert.That(folder.Leftovers(), Is.Empty);
        });
    }

    /// <summary>Collects until unjucks.agents.tasks.completed reaches <paramref name="expected"/> (the counter is
    /// added as the result commits, which may trail the result's delivery), for at most 20 s; returns the last sum.</summary>
    private static async Task<long> CompletedTasksAsync(IHost host, List<Metric> metrics, int expected)
    {
        var provider = host.Services.GetRequiredService<MeterProvider>();
        long sum = 0;
        for (DateTime until = DateTime.UtcNow.AddSeconds(20); sum < expected && DateTime.UtcNow < until; await Task.Delay(50))
        {
            metrics.Clear();
            provider.ForceFlush();
            sum = 0;
            foreach (Metric metric in metrics.Where(m => m.Name == "unjucks.agents.tasks.completed"))
            {
                foreach (ref readonly MetricPoint point in metric.GetMetricPoints())
                {
                    sum += point.GetSumLong();
                }
            }
        }

        return sum;
    }

    [GeneratedRegex(@" trace=([0-9a-f]{32}) parent=([0-9a-f]{16})$")]
    private static partial Regex TraceOf();
}
