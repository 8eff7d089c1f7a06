// One render job per output folder: a job holds flock(LOCK_EX) on "<out>/.unjucks-render.lock" (OwnerLockFile)
// from before discovery until its last output is written, so a second job into the same folder fails at once
// instead of silently mixing two trees. The kernel drops the lock of a killed job, so a crash never blocks the
// folder; the file itself is removed when the job ends. Creating the lock file is also the job's first write
// into the folder, so a folder the user cannot write to fails here, before any agent starts.
using Unjucks.SharedMemory.Native;

namespace Unjucks.Templates;

/// <summary>Another render job (a live process) is writing into the same output folder.</summary>
public sealed class OutputFolderInUseException : IOException
{
    /// <summary>Creates the exception for <paramref name="outputDirectory"/>, held by process <paramref name="holderProcessId"/>.</summary>
    /// <param name="outputDirectory">The contended output folder.</param>
    /// <param name="holderProcessId">The pid of the job that holds it (0 when it had not written its pid yet).</param>
    public OutputFolderInUseException(string outputDirectory, int holderProcessId)
        : base(holderProcessId > 0
            ? $"output folder '{outputDirectory}' is in use by another render job (pid {holderProcessId}); wait for it to end or choose another output folder."
            : $"output folder '{outputDirectory}' is in use by another render job; wait for it to end or choose another output folder.")
    {
        OutputDirectory = outputDirectory;
        HolderProcessId = holderProcessId;
    }

    /// <summary>The contended output folder.</summary>
    public string OutputDirectory { get; }

    /// <summary>The pid of the job that holds the folder (0 when unknown).</summary>
    public int HolderProcessId { get; }
}

/// <summary>The held lock of one job on its output folder; dispose to release it.</summary>
internal sealed class OutputFolderLock : IDisposable
{
    /// <summary>The lock file's name inside the output folder (never a template output: see <see cref="OutputPaths"/>).</summary>
    internal const string FileName = ".unjucks-render.lock";

    private readonly OwnerLockFile _file;

    private OutputFolderLock(OwnerLockFile file) => _file = file;

    /// <summary>Takes the lock on <paramref name="outputDirectory"/> (which must exist).</summary>
    /// <exception cref="OutputFolderInUseException">Another live job holds it.</exception>
    /// <exception cref="UnauthorizedAccessException">This user cannot create files in the folder.</exception>
    internal static OutputFolderLock Acquire(string outputDirectory)
    {
        var file = OwnerLockFile.TryAcquire(Path.Combine(outputDirectory, FileName), out int holder)
            ?? throw new OutputFolderInUseException(outputDirectory, holder);
        return new OutputFolderLock(file);
    }

    public void Dispose() => _file.Dispose();
}
