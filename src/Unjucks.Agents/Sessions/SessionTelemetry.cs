// The session's instruments, published for every session without the caller building anything: a Meter and an
// ActivitySource both named "Unjucks.Agents". One activity per task (kind Producer on the submitter's side, a
// child of Activity.Current there); its W3C trace parent travels in the task's slot and the agent's activity
// (kind Consumer) is its child, so a user's OpenTelemetry setup sees the agent's work under the submitter's.
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Unjucks.Agents.Sessions;

internal sealed class SessionTelemetry : IDisposable
{
    internal const string Name = "Unjucks.Agents";
    internal static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    internal SessionTelemetry(IMeterFactory? factory, Func<long> inFlight, Func<double> overhead, Func<int> agentsAlive,
        Func<long> memoryReserved, Func<int> waitingForMemory, Func<int> activeAgents, Func<long> memoryMeasured)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(Name)) ?? new Meter(Name);
        Completed = _meter.CreateCounter<long>("unjucks.agents.tasks.completed", "{task}", "Tasks that committed a result.");
        Failed = _meter.CreateCounter<long>("unjucks.agents.tasks.failed", "{task}", "Tasks that failed.");
        QueueTime = _meter.CreateHistogram<double>("unjucks.agents.task.queue_time", "s", "From task ready (dependencies committed) to its start on an agent.");
        PickupLatency = _meter.CreateHistogram<double>("unjucks.agents.task.pickup_latency", "s", "From placement on an agent to its lease.");
        Duration = _meter.CreateHistogram<double>("unjucks.agents.task.duration", "s", "From submission to result.");
        AgentDeaths = _meter.CreateCounter<long>("unjucks.agents.agent.deaths", "{agent}", "Agent processes that died.");
        AgentRestarts = _meter.CreateCounter<long>("unjucks.agents.agent.restarts", "{agent}", "Agent processes started to replace dead ones.");
        Steals = _meter.CreateCounter<long>("unjucks.agents.steals", "{task}", "Tasks run by another agent than the one they were placed on.");
        _meter.CreateObservableGauge("unjucks.agents.tasks.in_flight", inFlight, "{task}", "Tasks submitted and not yet ended.");
        _meter.CreateObservableGauge("unjucks.agents.coordination.overhead", overhead, "1", "Share of the work's time spent coordinating (see AgentSessionSummary.CoordinationOverhead).");
        _meter.CreateObservableGauge("unjucks.agents.agents.alive", agentsAlive, "{agent}", "Agent processes alive.");
        _meter.CreateObservableGauge("unjucks.agents.memory.reserved", memoryReserved, "By", "Bytes of the memory budget reserved by the tasks placed (AgentTaskOptions.EstimatedMemoryBytes).");
        _meter.CreateObservableGauge("unjucks.agents.tasks.waiting_for_memory", waitingForMemory, "{task}", "Ready tasks waiting for their memory reservation to fit the budget.");
        GcRounds = _meter.CreateCounter<long>("unjucks.agents.gc.rounds", "{round}", "Coordinated GC rounds started because memory reached 0.8 of the budget.");
        _meter.CreateObservableGauge("unjucks.agents.memory.measured", memoryMeasured, "By", "The agents' summed proportional set size (PSS) at the last reading (sessions with a memory budget).");
        _meter.CreateObservableGauge("unjucks.agents.agents.active", activeAgents, "{agent}", "Agents taking work (not on standby for the adaptive agent count, not down).");
    }

    internal Counter<long> Completed { get; }

    internal Counter<long> Failed { get; }

    internal Histogram<double> QueueTime { get; }

    internal Histogram<double> PickupLatency { get; }

    internal Histogram<double> Duration { get; }

    internal Counter<long> AgentDeaths { get; }

    internal Counter<long> AgentRestarts { get; }

    internal Counter<long> Steals { get; }

    internal Counter<long> GcRounds { get; }

    /// <summary>Starts the task's activity without making it current for the submitter (it ends elsewhere).</summary>
    internal static (Activity? Activity, string? TraceParent) StartTask(long id)
    {
        Activity? previous = Activity.Current;
        Activity? activity = Source.HasListeners() ? Source.StartActivity("unjucks.agents.task", ActivityKind.Producer) : null;
        if (activity is not null)
        {
            activity.SetTag("unjucks.task.id", id);
            Activity.Current = previous;
        }

        string? parent = activity?.Id ?? (previous?.IdFormat == ActivityIdFormat.W3C ? previous.Id : null);
        return (activity, parent);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
