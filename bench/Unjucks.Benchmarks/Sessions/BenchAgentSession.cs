using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.Versioning;
using Unjucks.Agents;
using Unjucks.Benchmarks.Harness;

namespace Unjucks.Benchmarks.Sessions;

/// <summary>
/// An <see cref="AgentSession"/> for the benchmarks, through the public API only: its agents are the published
/// helper Unjucks.AgentTestHost, whose session handler returns the payload (echo). Records the session's own
/// placement-to-pickup histogram (<c>unjucks.agents.task.pickup_latency</c>) with a <see cref="MeterListener"/>
/// and deletes the session's folder when disposed.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class BenchAgentSession : IAsyncDisposable
{
    private readonly string _directory;
    private readonly MeterListener _listener = new();
    private readonly List<double> _pickupSeconds = new();
    private readonly Lock _gate = new();

    private BenchAgentSession(string directory, AgentSession session)
    {
        _directory = directory;
        Session = session;
    }

    /// <summary>The session.</summary>
    public AgentSession Session { get; }

    /// <summary>Starts a session of <paramref name="agents"/> echo agents (<paramref name="maxTasksInFlight"/> 0: the default) and waits until every agent has answered once.</summary>
    public static BenchAgentSession Start(int agents, int maxTasksInFlight = 0)
    {
        string directory = Path.Combine(Path.GetTempPath(), "unjucks-bench-session-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AgentSession session = AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = agents,
            AgentProcess = HelperProcess.StartInfo("Unjucks.AgentTestHost", []),
            Directory = directory,
            MaxTasksInFlight = maxTasksInFlight,
        }).GetAwaiter().GetResult();
        var bench = new BenchAgentSession(directory, session);
        bench.Warm(agents);
        bench.Listen();
        return bench;
    }

    /// <summary>Placement-to-pickup percentiles recorded since the start (after warm-up), in microseconds.</summary>
    public string DescribePickup(string what)
    {
        double[] sorted;
        lock (_gate)
        {
            sorted = _pickupSeconds.Order().ToArray();
        }

        if (sorted.Length == 0)
        {
            return $"{what}: no pickups recorded";
        }

        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1e6;
        return string.Create(CultureInfo.InvariantCulture,
            $"{what}: placement-to-pickup over {sorted.Length:N0} tasks p50 {At(0.50):F1} µs, p90 {At(0.90):F1} µs, p99 {At(0.99):F1} µs");
    }

    /// <summary>Stops the agents and deletes the session's folder.</summary>
    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await Session.DisposeAsync().ConfigureAwait(false);
        Directory.Delete(_directory, recursive: true);
    }

    private void Warm(int agents)
    {
        // Enough tasks that every agent registers and runs some (JIT, first faults) before anything is measured.
        var handles = new List<AgentTaskHandle>();
        for (int i = 0; i < 200 * agents; i++)
        {
            handles.Add(Session.SubmitAsync(new byte[64]).AsTask().GetAwaiter().GetResult());
        }

        Task.WhenAll(handles.Select(h => h.Result)).GetAwaiter().GetResult();
    }

    private void Listen()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Unjucks.Agents" && instrument.Name == "unjucks.agents.task.pickup_latency")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (_gate)
            {
                _pickupSeconds.Add(value);
            }
        });
        _listener.Start();
    }
}
