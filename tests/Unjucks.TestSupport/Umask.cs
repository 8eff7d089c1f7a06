using System.Runtime.InteropServices;

namespace Unjucks.TestSupport;

/// <summary>umask(2) for the tests: <c>using (Umask.Set(0o002)) { ... }</c> restores the previous mask. The mask is
/// the whole process's, so only tests that run alone (NonParallelizable) may change it.</summary>
public sealed partial class Umask : IDisposable
{
    private readonly uint _previous;

    private Umask(uint previous) => _previous = previous;

    /// <summary>Sets the process's file-creation mask until the result is disposed.</summary>
    /// <param name="mask">The mask, e.g. 0x12 for 022.</param>
    public static Umask Set(uint mask) => new(SetMask(mask));

    /// <summary>Restores the mask that was in force before <see cref="Set"/>.</summary>
    public void Dispose() => SetMask(_previous);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetMask(uint mask);
}
