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
    // Plain atomic read of a counter that only Report increments; staleness costs one skipped line at most.
    public long Version => Interlocked.Read(ref version);

    public void Report(JobSnapshot value)
    {
        // Release store: publishes the immutable snapshot; pairs with the acquire load in Current.
        Volatile.Write(ref current, value);

        // Counts reports after the snapshot is published, so a reader that sees the new version reads a snapshot
        // at least as new (Interlocked is a full fence: it orders the store above before the increment).
        Interlocked.Increment(ref version);
    }
}
