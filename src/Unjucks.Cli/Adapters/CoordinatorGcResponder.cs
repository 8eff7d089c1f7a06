// CoordinatorGcResponder: the processes-mode coordinator's part in a coordinated GC round ('unjucks-perf gc NAME').
// The coordinator is registered in its session's region like its agents, so a round names it as a target too; the
// agents answer at their safe points (JobAgentHost), and this loop answers for the coordinator: every 25 ms it calls
// GcPauseResponder.AtSafePoint (two acquire loads when no round is pending; during a round it acknowledges and waits
// for the resume, on this loop's own thread: placement and monitoring go on). Without it a round would wait for the
// coordinator until its acknowledgement timeout and report it "timed out".
using Unjucks.Agents.Gc;
using Unjucks.SharedMemory;

namespace Unjucks.Cli.Adapters;

/// <summary>Answers coordinated-GC pause requests for this process while a processes-mode job runs.</summary>
internal sealed class CoordinatorGcResponder : IAsyncDisposable
{
    private static readonly TimeSpan Period = TimeSpan.FromMilliseconds(25);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public CoordinatorGcResponder(SharedRegion region)
    {
        var responder = new GcPauseResponder(region);
        _loop = Task.Run(() => RunAsync(responder, _stop.Token), CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped during a pause: the responder published its release with reason "cancelled".
        }

        _stop.Dispose();
    }

    private static async Task RunAsync(GcPauseResponder responder, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
        {
            try
            {
                responder.AtSafePoint(stop);
            }
            catch (InvalidDataException)
            {
                // Something else wrote the region's GC request key: not a round this tool runs; ignore it.
            }
        }
    }
}
