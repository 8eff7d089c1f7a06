namespace Unjucks.SharedMemory;

/// <summary>
/// A region file is not a valid shared region for this library: wrong magic, another major layout version,
/// truncated, a section table out of bounds, or its creator never finished initialising it.
/// </summary>
public sealed class SharedRegionFormatException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public SharedRegionFormatException()
        : base("The shared region file is not in a format this library can read.")
    {
    }

    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    public SharedRegionFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public SharedRegionFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A fixed-capacity part of a shared region is exhausted (state slots, queues, locks or agent slots). The
/// message names the <see cref="SharedRegionOptions"/> property to raise when the region is next created.
/// </summary>
public sealed class SharedRegionFullException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public SharedRegionFullException()
        : base("The shared region is full.")
    {
    }

    /// <summary>Creates the exception with a message saying what is full and what to raise.</summary>
    public SharedRegionFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public SharedRegionFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The <see cref="SharedMessageQueue"/> was completed (<see cref="SharedMessageQueue.Complete"/>, by any process):
/// an enqueue is refused, and a dequeue that finds no message left ends with this instead of waiting. The
/// counterpart of System.Threading.Channels' ChannelClosedException.
/// </summary>
public sealed class SharedQueueCompletedException : InvalidOperationException
{
    /// <summary>Creates the exception with a default message.</summary>
    public SharedQueueCompletedException()
        : base("The shared queue was completed.")
    {
    }

    /// <summary>Creates the exception with a message naming the queue.</summary>
    public SharedQueueCompletedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public SharedQueueCompletedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
