using System.Diagnostics.Metrics;

namespace Unjucks.Templates.Tests;

/// <summary>
/// What <c>dotnet-counters monitor --counters Unjucks.Agents</c> shows during a render job is what its summary says:
/// a MeterListener (the in-process form of the same EventPipe counters) sees every task's queue time, the completed
/// count, the in-flight depth and the coordination overhead, and they agree with the report's session summary.
/// </summary>
[NonParallelizable] // the listener hears every "Unjucks.Agents" meter in the process
public sealed class SessionMetricsTests
{
    [Test]
    public async Task The_meter_shows_the_same_queue_time_depth_and_overhead_as_the_summary()
    {
        using var dir = new TempDir();
        var samples = SampleTree.ExtractTo(dir.Sub("samples"));
        var seen = new Seen();
        var lastP95 = TimeSpan.MinValue;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Unjucks.Agents")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen.Record(instrument.Name, value));
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen.Record(instrument.Name, value));
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => seen.Record(instrument.Name, value));
        listener.Start();

        // Each progress report (four a second, and once more after the last task while the session is still open)
        // polls the observable gauges, as dotnet-counters does on its interval.
        var progress = new Inline(p =>
        {
            listener.RecordObservableInstruments();
            seen.Progress(p.InFlight);
            lastP95 = p.LatencyP95;
        });
        // The gauge polled every 2 ms too, as a dotnet-counters with a short interval would: the job's depth shows
        // however fast it runs.
        using var stopPolling = new CancellationTokenSource();
        var polling = Task.Run(async () =>
        {
            while (!stopPolling.IsCancellationRequested)
            {
                listener.RecordObservableInstruments();
                seen.Poll();
                await Task.Delay(2);
            }
        });
        var report = await RenderJob.RunAsync(new RenderJobOptions
        {
            TemplateDirectories = [samples.TemplatesDirectory],
            OutputDirectory = dir.Sub("out"),
            Variables = TemplateValues.LoadFile(samples.VariablesFile),
            Agents = 2,
            Rounds = 5,
            Strict = true,
        }, progress);
        await stopPolling.CancelAsync();
        await polling;

        var session = report.Session!;
        Assert.That(report.Failed, Is.Zero, report.Describe());
        Assert.Multiple(() =>
        {
            Assert.That(seen.Sum("unjucks.agents.tasks.completed"), Is.EqualTo(session.Completed).And.EqualTo(report.Rendered), "completed tasks");
            Assert.That(seen.Count("unjucks.agents.task.queue_time"), Is.EqualTo(report.Rendered), "one queue time per task");
            // The summary's mean comes from an HdrHistogram (3 significant digits); the listener's is exact.
            var meterMean = TimeSpan.FromSeconds(seen.Sum("unjucks.agents.task.queue_time") / seen.Count("unjucks.agents.task.queue_time"));
            Assert.That(meterMean.TotalMicroseconds, Is.EqualTo(session.QueueTimeMean.TotalMicroseconds).Within(1).Percent.Or.EqualTo(session.QueueTimeMean.TotalMicroseconds).Within(1.0), "mean queue time");
            Assert.That(seen.Last("unjucks.agents.coordination.overhead"), Is.EqualTo(session.CoordinationOverhead).Within(1e-9), "overhead at the end = the summary's");
            Assert.That(seen.Last("unjucks.agents.tasks.in_flight"), Is.Zero, "nothing in flight at the end");
            Assert.That(seen.MaxInFlight, Is.GreaterThan(0), "the depth gauge showed queued work while the job ran");
            Assert.That(seen.MaxReportedInFlight, Is.GreaterThan(0), "the job's progress showed the same depth while it ran");
            Assert.That(seen.MaxInFlight, Is.LessThanOrEqualTo(2 * RenderJobOptions.DefaultTasksInFlightPerAgent), "the window: 4 tasks per agent, 2 agents");
            Assert.That(seen.MaxReportedInFlight, Is.LessThanOrEqualTo(2 * RenderJobOptions.DefaultTasksInFlightPerAgent), "the window, as the progress shows it");
            Assert.That(seen.LastReportedInFlight, Is.Zero, "the last progress report: nothing in flight, as the gauge");
            var operations = report.Templates.Where(t => t.Status == TemplateStatus.Rendered).Select(t => t.Timings.Parse + t.Timings.Render + t.Timings.Write).Order().ToList();
            var p95 = operations[(int)Math.Ceiling(0.95 * operations.Count) - 1];
            Assert.That(lastP95.Ticks, Is.EqualTo(p95.Ticks).Within(1).Percent, "the live p95 at the end = the p95 of the report's operations (HdrHistogram, 3 digits)");
        });
    }

    [TestCase(0)]
    [TestCase(4097)]
    public async Task A_window_outside_1_to_4096_per_agent_is_refused_before_anything_runs(int perAgent)
    {
        using var dir = new TempDir();
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => RenderJob.RunAsync(new RenderJobOptions
        {
            TemplateDirectories = [dir.Path],
            OutputDirectory = dir.Sub("out"),
            TasksInFlightPerAgent = perAgent,
        }));
        Assert.That(e!.ParamName, Is.EqualTo(nameof(RenderJobOptions.TasksInFlightPerAgent)));
        Assert.That(Directory.Exists(dir.Sub("out")), Is.False, "nothing was created");
    }

    private sealed class Inline(Action<RenderJobProgress> report) : IProgress<RenderJobProgress>
    {
        public void Report(RenderJobProgress value) => report(value);
    }

    private sealed class Seen
    {
        private readonly Dictionary<string, List<double>> _values = new(StringComparer.Ordinal);

        public double MaxInFlight { get; private set; }

        public long MaxReportedInFlight { get; private set; }

        public long LastReportedInFlight { get; private set; } = -1;

        public void Record(string name, double value)
        {
            lock (_values)
            {
                if (!_values.TryGetValue(name, out var list))
                {
                    _values[name] = list = [];
                }

                list.Add(value);
            }
        }

        public void Poll()
        {
            lock (_values)
            {
                var gauge = _values.TryGetValue("unjucks.agents.tasks.in_flight", out var list) && list.Count > 0 ? list[^1] : 0;
                MaxInFlight = Math.Max(MaxInFlight, gauge);
            }
        }

        public void Progress(long inFlight)
        {
            lock (_values)
            {
                var gauge = _values.TryGetValue("unjucks.agents.tasks.in_flight", out var list) && list.Count > 0 ? list[^1] : 0;
                MaxInFlight = Math.Max(MaxInFlight, gauge);
                MaxReportedInFlight = Math.Max(MaxReportedInFlight, inFlight);
                LastReportedInFlight = inFlight;
            }
        }

        public int Count(string name)
        {
            lock (_values)
            {
                return _values.TryGetValue(name, out var list) ? list.Count : 0;
            }
        }

        public double Sum(string name)
        {
            lock (_values)
            {
                return _values.TryGetValue(name, out var list) ? list.Sum() : 0;
            }
        }

        public double Last(string name)
        {
            lock (_values)
            {
                return _values.TryGetValue(name, out var list) && list.Count > 0 ? list[^1] : double.NaN;
            }
        }
    }
}
