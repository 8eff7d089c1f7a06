namespace Unjucks.SharedMemory.Jobs;

/// <summary>A job segment file is not a valid, ready job segment of a layout version this code reads.</summary>
public sealed class JobSegmentFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="path"/> with the reason <paramref name="problem"/>.</summary>
    public JobSegmentFormatException(string path, string problem)
        : base($"Job segment '{path}' cannot be opened: {problem}. Delete the file and let the coordinator create the job again.")
    {
        FilePath = path;
    }

    /// <summary>The file that failed validation.</summary>
    public string FilePath { get; }
}
