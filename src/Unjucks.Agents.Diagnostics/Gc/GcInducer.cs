// Induces a full, blocking GC in another .NET process through an EventPipe session.
//
// Mechanism (dotnet/runtime src/coreclr/vm/eventtrace.cpp, EtwCallbackCommon): when a session enables the
// Microsoft-Windows-DotNETRuntime provider with the GCHeapCollect keyword (0x800000, "ManagedHeapCollect"
// in the runtime), the provider's enable callback calls ETW::GCLog::ForceGC, a full blocking collection
// (reason "induced"), on the diagnostics server thread while the session is being enabled. dotnet-gcdump
// relies on the same trick (it enables GCHeapSnapshot, which includes GCHeapCollect). We also enable the GC
// keyword (0x1) at Informational so the session carries GCStart/GCEnd/GCHeapStats for anyone who records it.
// The runtime answers the "collect tracing" IPC command after the enable callbacks ran, so when
// StartEventPipeSessionAsync returns the induced GC has completed; we then stop the session (draining the
// stream so the runtime's writer never blocks on a full socket).
//
// Failure windows: the target exits before or during the session (ServerNotAvailableException, EOF, broken
// pipe) -> GcInductionException; the target hangs (e.g. suspended) -> the timeout cancels the IPC ->
// GcInductionException; a target started with DOTNET_EnableDiagnostics=0 has no diagnostics port ->
// GcInductionException saying so. No path waits without the timeout.
using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace Unjucks.Agents.Gc;

/// <summary>What one induced collection took.</summary>
/// <param name="Pid">The target process.</param>
/// <param name="SessionStart">Time until the session was enabled, which includes the target's blocking GC.</param>
/// <param name="Total">Time including stopping the session.</param>
public readonly record struct GcInduction(int Pid, TimeSpan SessionStart, TimeSpan Total);

/// <summary>Induces full garbage collections in other .NET processes (the coordinator's coordinated-GC primitive).</summary>
public static class GcInducer
{
    /// <summary>The runtime provider's GC keyword.</summary>
    public const long GcKeyword = 0x1;

    /// <summary>The runtime provider's GCHeapCollect keyword: enabling it makes the target run a full blocking GC.</summary>
    public const long GcHeapCollectKeyword = 0x800000;

    internal const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    /// <summary>
    /// Makes process <paramref name="pid"/> run a full blocking GC by opening an EventPipe session on it with the
    /// GCHeapCollect keyword, then closes the session.
    /// </summary>
    /// <param name="pid">A running .NET process of this user with diagnostics enabled.</param>
    /// <param name="timeout">Upper bound for the whole exchange.</param>
    /// <param name="cancellationToken">Cancels the exchange.</param>
    /// <exception cref="GcInductionException">The process is gone, refused the session, or did not answer in time.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Task<GcInduction> InduceFullGcAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        InduceAsync(pid, timeout, TimeSpan.Zero, cancellationToken);

    /// <summary>Test hook: keeps the session open for <paramref name="keepOpen"/> before stopping it.</summary>
    internal static async Task<GcInduction> InduceAsync(int pid, TimeSpan timeout, TimeSpan keepOpen, CancellationToken cancellationToken)
    {
        ValidateTarget(pid, timeout);
        var providers = new[]
        {
            new EventPipeProvider(RuntimeProvider, EventLevel.Informational, GcKeyword | GcHeapCollectKeyword),
        };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        long start = Stopwatch.GetTimestamp();
        EventPipeSession? session = null;
        try
        {
            var client = new DiagnosticsClient(pid);
            session = await client.StartEventPipeSessionAsync(providers, requestRundown: false, circularBufferMB: 16, deadline.Token).ConfigureAwait(false);
            TimeSpan started = Stopwatch.GetElapsedTime(start);
            Task drain = session.EventStream.CopyToAsync(Stream.Null, deadline.Token);
            if (keepOpen > TimeSpan.Zero)
            {
                // The stream ending before we stop means the target went away; do not sit out the whole delay.
                if (await Task.WhenAny(drain, Task.Delay(keepOpen, deadline.Token)).ConfigureAwait(false) == drain)
                {
                    await drain.ConfigureAwait(false); // a broken connection surfaces as IOException, translated below.
                    throw new GcInductionException(pid, "the process closed the EventPipe session before it was stopped (it probably exited)");
                }
            }

            await session.StopAsync(deadline.Token).ConfigureAwait(false);
            await drain.WaitAsync(deadline.Token).ConfigureAwait(false); // the runtime closes the stream after the stop.
            return new GcInduction(pid, started, Stopwatch.GetElapsedTime(start));
        }
        catch (Exception e) when (e is not GcInductionException && Translate(e, pid, timeout, cancellationToken) is { } translated)
        {
            throw translated;
        }
        finally
        {
            session?.Dispose();
        }
    }

    internal static void ValidateTarget(int pid, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        if (timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Give a positive, finite timeout so a hung target cannot hang the coordinator.");
        }
    }

    /// <summary>Maps the diagnostics client's failures to <see cref="GcInductionException"/>; null = rethrow as is.</summary>
    internal static Exception? Translate(Exception e, int pid, TimeSpan timeout, CancellationToken callerToken)
    {
        if (e is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            return null; // the caller cancelled: let OperationCanceledException through.
        }

        return e switch
        {
            OperationCanceledException or TimeoutException => new GcInductionException(pid, $"the process did not complete the EventPipe exchange within {timeout}", e),
            ServerNotAvailableException => new GcInductionException(pid, "the process is not running, exited, or has no diagnostics port (started with DOTNET_EnableDiagnostics=0?)", e),
            DiagnosticsClientException => new GcInductionException(pid, "the process refused the EventPipe session", e),
            IOException or EndOfStreamException or ObjectDisposedException or UnauthorizedAccessException =>
                new GcInductionException(pid, "the connection to the process broke (it probably exited during the session)", e),
            _ => null,
        };
    }
}
