// Reads another .NET process's System.Runtime EventCounters through an EventPipe session.
//
// The session enables the "System.Runtime" EventSource (RuntimeEventSource) with the argument
// EventCounterIntervalSec=1; the runtime then writes one "EventCounters" event per counter per interval.
// Their payloads are self-describing EventSource events inside the nettrace stream, which we parse with
// Microsoft.Diagnostics.Tracing.TraceEvent (EventPipeEventSource): the nettrace format has changed between
// runtime versions (.NET 10 writes format V6), and TraceEvent is the parser the runtime team keeps in step
// with it (dotnet-counters uses it). Writing our own parser would mean owning that format.
//
// Failure windows: the first payloads arrive only after one interval (about a second), so callers poll this
// at most every few seconds, not per task. The target exiting mid-session ends the stream -> the wait ends ->
// GcInductionException. Every wait is bounded by the caller's timeout.
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace Unjucks.Agents.Gc;

/// <summary>One interval of a process's System.Runtime counters.</summary>
/// <param name="Pid">The process.</param>
/// <param name="GcHeapSizeMB">"gc-heap-size": managed heap size in MB (mean over the interval).</param>
/// <param name="WorkingSetMB">"working-set": working set in MB.</param>
/// <param name="Gen2GcCount">"gen-2-gc-count": gen-2 collections during the reported interval (an incrementing counter).</param>
/// <param name="All">Every counter of the interval by name (means for mean counters, increments for incrementing ones).</param>
public sealed record RuntimeCounterSnapshot(int Pid, double GcHeapSizeMB, double WorkingSetMB, double Gen2GcCount, IReadOnlyDictionary<string, double> All);

/// <summary>Reads a process's <c>System.Runtime</c> counters (the coordinator's view of an agent's memory).</summary>
public static class RuntimeCounters
{
    /// <summary>Counters that must be present before a snapshot is returned.</summary>
    public static readonly IReadOnlyList<string> Required = ["gc-heap-size", "working-set", "gen-2-gc-count"];

    /// <summary>
    /// Opens a counters session on <paramref name="pid"/>, waits for the first interval that reports
    /// <see cref="Required"/>, and closes the session.
    /// </summary>
    /// <param name="pid">A running .NET process of this user with diagnostics enabled.</param>
    /// <param name="timeout">Upper bound; allow at least 3 seconds (the first interval takes about one).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="GcInductionException">The process is gone, exited during the read, or did not report in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<RuntimeCounterSnapshot> ReadAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        GcInducer.ValidateTarget(pid, timeout);
        var providers = new[]
        {
            new EventPipeProvider("System.Runtime", EventLevel.Informational, 0xFFFF_FFFF,
                new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" }),
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var complete = new TaskCompletionSource<RuntimeCounterSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventPipeSession? session = null;
        EventPipeEventSource? source = null;
        Task? processing = null;
        try
        {
            var client = new DiagnosticsClient(pid);
            session = await client.StartEventPipeSessionAsync(providers, requestRundown: false, circularBufferMB: 16, deadline.Token).ConfigureAwait(false);
            source = new EventPipeEventSource(session.EventStream);
            source.Dynamic.All += e =>
            {
                if (e.EventName != "EventCounters" || !TryReadCounter(e, out string name, out double value))
                {
                    return;
                }

                values[name] = value; // only the processing thread touches `values` until `complete` is set.
                if (!complete.Task.IsCompleted && Required.All(values.ContainsKey))
                {
                    complete.TrySetResult(new RuntimeCounterSnapshot(pid, values["gc-heap-size"], values["working-set"], values["gen-2-gc-count"],
                        new Dictionary<string, double>(values, StringComparer.Ordinal)));
                }
            };
            var src = source;
            processing = Task.Factory.StartNew(() => src.Process(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

            // Either a full interval arrives, or the stream ends (target exited), or the deadline passes.
            Task first = await Task.WhenAny(complete.Task, processing).WaitAsync(deadline.Token).ConfigureAwait(false);
            if (first != complete.Task)
            {
                // A stream cut mid-block (the target died) makes the parser throw FormatException; keep it as the inner exception.
                throw new GcInductionException(pid, "the process ended the counters session before reporting its System.Runtime counters (it probably exited)",
                    processing.Exception?.GetBaseException());
            }

            await session.StopAsync(deadline.Token).ConfigureAwait(false);
            await processing.WaitAsync(deadline.Token).ConfigureAwait(false);
            return await complete.Task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not GcInductionException && GcInducer.Translate(e, pid, timeout, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            session?.Dispose(); // closes the stream, which ends Process() if it is still running.
            if (processing is not null)
            {
                // Bounded: the stream is closed above, so Process() returns promptly; never wait unbounded.
                await Task.WhenAny(processing, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
                _ = processing.Exception; // observed: a parse failure after a stop is expected and already reported.
            }

            source?.Dispose();
        }
    }

    private static bool TryReadCounter(TraceEvent e, out string name, out double value)
    {
        name = "";
        value = 0;
        if (e.PayloadValue(0) is not IDictionary<string, object> outer || !outer.TryGetValue("Payload", out object? inner) || inner is not IDictionary<string, object> fields)
        {
            return false;
        }

        if (!fields.TryGetValue("Name", out object? n) || n is not string s)
        {
            return false;
        }

        // Mean counters carry "Mean"; incrementing counters carry "Increment" (CounterType "Sum").
        string key = fields.TryGetValue("CounterType", out object? type) && type as string == "Sum" ? "Increment" : "Mean";
        if (!fields.TryGetValue(key, out object? v) || v is null)
        {
            return false;
        }

        name = s;
        value = Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }
}
