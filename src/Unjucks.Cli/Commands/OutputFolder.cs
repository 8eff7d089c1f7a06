namespace Unjucks.Cli.Commands;

/// <summary>The checks on <c>--out</c> made before anything starts: each failure is exit 2 with what to do.</summary>
internal static class OutputFolder
{
    /// <summary>Creates <paramref name="directory"/> if missing and proves this user can create files in it.</summary>
    /// <param name="directory">The full path.</param>
    /// <param name="given">The path as the user gave it, for the message.</param>
    /// <exception cref="CliException">It is a file, cannot be created, or is not writable (exit 2).</exception>
    public static void Prepare(string directory, string given)
    {
        if (File.Exists(directory))
        {
            throw Usage($"--out '{given}' is a file, not a folder; give a folder (it is created if missing).");
        }

        try
        {
            Directory.CreateDirectory(directory);
            // The only sure test of "can I write here" is writing: root ignores mode bits, a read-only mount does not.
            using var probe = File.Create(Path.Combine(directory, $".unjucks-perf-probe-{Guid.NewGuid():N}"), 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Usage($"--out '{given}' is not a folder this user can write to ({e.Message}); choose another or fix its permissions.");
        }
    }

    private static CliException Usage(string message) => new(message, ExitCodes.Usage);
}
