// ChangeSequence's async wait loop, in a part that is not an unsafe context (async methods cannot be one).
namespace Unjucks.SharedMemory;

internal sealed partial class ChangeSequence
{
    private async ValueTask<bool> WaitSlowAsync(long lastSeen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using CancellationTokenSource? timer = SharedMessageQueue.TimerFor(timeout, cancellationToken);
        CancellationToken token = timer?.Token ?? cancellationToken;
        try
        {
            while (true)
            {
                ParkedWait? wait = Park(lastSeen, token);
                if (wait is null)
                {
                    return true;
                }

                try
                {
                    await wait.AsValueTask().ConfigureAwait(false);
                }
                finally
                {
                    wait.Registration.Dispose();
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // our timer, not the caller's token
        }
        catch (OperationCanceledException) when (timer is not null)
        {
            throw new OperationCanceledException(cancellationToken); // the caller's token, not the linked one
        }
    }
}
