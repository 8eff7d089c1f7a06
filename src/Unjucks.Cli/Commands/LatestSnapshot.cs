using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Commands;

/// <summary>
/// Keeps the most recent snapshot the engine reported, for the view loop to render at its own pace. Unlike
/// <see cref="Progress{T}"/> it posts nothing and never blocks the engine's reporting thread.
/// </summary>
internal sealed class LatestSnapshot : IProgress<JobSnapshot>
{
    private JobSnapshot? current;
    private long version;

    /// <summary>The last snapshot reported, or null before the first.</summary>
    // Acquire load: pairs with the Volatile.Write in Report, so the snapshot's fields (set before it was
    // published) are visible to the view thread.
    public JobSnapshot? Current => Volatile.Read(ref current);

    /// <summary>Bumps on every report; the plain view prints only when it changed.</summary>
    // Interlocked.Read is a full fence on 64-bit; pairs with the Interlocked.Increment in Report: a reader that sees
    // version v and then reads Current gets report v's snapshot or a newer one. Staleness costs one skipped line.
    public long Version => Interlocked.Read(ref version);

    public void Report(JobSnapshot value)
    {
        // Release store: publishes the immutable snapshot; pairs with the acquire load in Current.
        Volatile.Write(ref current, value);

        // Counts the report after the snapshot is published (Interlocked is a full fence: the store above cannot
        // move after it); pairs with Interlocked.Read in Version.
        Interlocked.Increment(ref version);
    }
}
