// SharedRegion: creates or opens a region file, checks its header, maps it, and hands out the structures.
//
// Ready protocol (see docs/shared-region-format.md): the creator makes the file with O_EXCL semantics
// (FileMode.CreateNew, mode 0600), reserves its space with posix_fallocate (the new bytes read as zero; a full
// /dev/shm is an IOException, never a SIGBUS), maps it, writes the header body and then LayoutVersion LAST with a
// release store. An opener reads the header; LayoutVersion == 0
// means "creator still busy", so it retries for up to ReadyTimeout and then reports "never became ready".
// A non-zero magic that is not ours fails at once, as does another major version.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Unjucks.SharedMemory.Layout;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

/// <summary>
/// A memory-mapped region shared by processes of one user on one machine: version-stamped state, named message
/// queues, named locks, an agent registry and a change sequence. Dispose unmaps it and unregisters this agent;
/// do not dispose while other threads still call into the region.
/// </summary>
public sealed unsafe partial class SharedRegion : IDisposable
{
    /// <summary>How long an opener waits for a creator to publish the header.</summary>
    internal static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(2);

    private readonly MappedRegionFile _mapping;
    private readonly ChangeSequence _changes;
    private readonly ConcurrentDictionary<string, SharedMessageQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SharedLock> _locks = new(StringComparer.Ordinal);
    private readonly NameDirectory _queueDirectory;
    private readonly NameDirectory _lockDirectory;
    private int _disposed;
    private int _blocking;

    private SharedRegion(string name, string path, MappedRegionFile mapping, RegionGeometry geometry)
    {
        Name = name;
        FilePath = path;
        _mapping = mapping;
        Geometry = geometry;
        byte* b = mapping.Base;
        Agents = new AgentRegistry(this, b + geometry.SectionOffsets[RegionLayout.RegistrySection], geometry.MaxAgents);
        _changes = new ChangeSequence(this, b + geometry.SectionOffsets[RegionLayout.ChangeSequenceSection]);
        State = new SharedStateTable(this, b + geometry.SectionOffsets[RegionLayout.StateSection], geometry);
        _queueDirectory = new NameDirectory(this, b + geometry.SectionOffsets[RegionLayout.QueuesSection], geometry.MaxQueues, "queue", nameof(SharedRegionOptions.MaxQueues));
        _lockDirectory = new NameDirectory(this, b + geometry.SectionOffsets[RegionLayout.LocksSection], geometry.MaxLocks, "lock", nameof(SharedRegionOptions.MaxLocks));
    }

    /// <summary>The region's name.</summary>
    public string Name { get; }

    /// <summary>Full path of the region file.</summary>
    public string FilePath { get; }

    /// <summary>The version-stamped key/value table.</summary>
    public SharedStateTable State { get; }

    /// <summary>The processes using this region.</summary>
    public AgentRegistry Agents { get; }

    /// <summary>Number of successful state changes so far (all processes); pass it to <see cref="WaitForChange"/>.</summary>
    public long ChangeSequence
    {
        get
        {
            ThrowIfDisposed();
            return _changes.Current;
        }
    }

    /// <summary>The sizes in force (the creator's, read back from the header).</summary>
    public SharedRegionOptions Options => new()
    {
        Directory = Path.GetDirectoryName(FilePath),
        StateSlots = Geometry.StateSlots,
        MaxKeyBytes = Geometry.MaxKeyBytes,
        MaxValueBytes = Geometry.MaxValueBytes,
        MaxQueues = Geometry.MaxQueues,
        QueueCapacity = Geometry.QueueCapacity,
        MessageBytes = Geometry.MessageBytes,
        MaxAgents = Geometry.MaxAgents,
        MaxLocks = Geometry.MaxLocks,
    };

    internal RegionGeometry Geometry { get; }

    internal byte* Base => _mapping.Base;

    internal ChangeSequence Changes => _changes;

    /// <summary>
    /// Opens the region <paramref name="name"/>, creating it with <paramref name="options"/> if it does not exist.
    /// An existing region keeps the sizes it was created with.
    /// </summary>
    public static SharedRegion CreateOrOpen(string name, SharedRegionOptions? options = null)
    {
        RegionFiles.ValidateName(name);
        options ??= new SharedRegionOptions();
        RegionGeometry geometry = RegionGeometry.FromOptions(options);
        string path = RegionFiles.RegionPath(RegionFiles.ResolveDirectory(options), name);
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(path, RegionFiles.CreateNewOptions());
            }
            catch (IOException) when (File.Exists(path))
            {
                try
                {
                    return OpenExisting(name, path, ReadyTimeout);
                }
                catch (FileNotFoundException) when (attempt < 3)
                {
                    continue; // deleted between our CreateNew and our open: try creating again
                }
            }

            return CreateNew(name, path, stream, geometry);
        }
    }

    /// <summary>Opens an existing region. Throws <see cref="FileNotFoundException"/> if it does not exist.</summary>
    public static SharedRegion Open(string name, SharedRegionOptions? options = null)
    {
        RegionFiles.ValidateName(name);
        string path = RegionFiles.RegionPath(RegionFiles.ResolveDirectory(options ?? new SharedRegionOptions()), name);
        return OpenExisting(name, path, ReadyTimeout);
    }

    /// <summary>Removes a region file (and its agent lock files). Processes that have it open keep their mapping.</summary>
    /// <returns>True if the region existed.</returns>
    public static bool Delete(string name, SharedRegionOptions? options = null)
    {
        RegionFiles.ValidateName(name);
        string path = RegionFiles.RegionPath(RegionFiles.ResolveDirectory(options ?? new SharedRegionOptions()), name);
        bool existed = File.Exists(path);
        File.Delete(path);
        string agents = RegionFiles.AgentsDirectory(path);
        if (Directory.Exists(agents))
        {
            try
            {
                Directory.Delete(agents, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // removed concurrently: fine
            }
        }

        return existed;
    }

    /// <summary>Names of the regions in the directory (default or <see cref="SharedRegionOptions.Directory"/>).</summary>
    public static IReadOnlyList<string> List(SharedRegionOptions? options = null)
    {
        string directory = RegionFiles.ResolveDirectory(options ?? new SharedRegionOptions());
        return Directory.EnumerateFiles(directory, "*" + RegionFiles.Extension)
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Order(StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>The named message queue, created on first use by any process.</summary>
    public SharedMessageQueue Queue(string name)
    {
        ThrowIfDisposed();
        if (_queues.TryGetValue(name, out SharedMessageQueue? queue))
        {
            return queue;
        }

        int index = _queueDirectory.FindOrCreate(name, InitializeQueue);
        return _queues.GetOrAdd(name, _ => new SharedMessageQueue(this, name, QueueBody(index), Geometry.QueueCapacity, Geometry.MessageBytes));
    }

    /// <summary>The named cross-process lock, created on first use by any process.</summary>
    public SharedLock Lock(string name)
    {
        ThrowIfDisposed();
        if (_locks.TryGetValue(name, out SharedLock? existing))
        {
            return existing;
        }

        int index = _lockDirectory.FindOrCreate(name, static (_, _) => { });
        return _locks.GetOrAdd(name, _ => new SharedLock(this, name, _lockDirectory.Entry(index)));
    }

    /// <summary>
    /// Waits until <see cref="ChangeSequence"/> differs from <paramref name="lastSeen"/>: spins briefly, then
    /// parks on a futex. True if it changed, false on timeout; throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public bool WaitForChange(long lastSeen, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _changes.Wait(lastSeen, timeout, cancellationToken);
    }

    /// <summary>
    /// Unregisters this agent and unmaps the region. Locks still held through this instance are abandoned: the
    /// next acquirer gets them with <see cref="SharedLockHandle.PreviousOwnerDied"/> set. Pending async waits
    /// (<see cref="WaitForChangeAsync"/>, <see cref="SharedMessageQueue.DequeueAsync(Memory{byte}, CancellationToken)"/>, ...) end with
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) // full fence: blocking waiters see the flag on their next slice
        {
            return;
        }

        // Let threads parked on futex words inside the mapping leave before unmapping (each slice is <= 50 ms).
        var spinner = new SpinWait();
        long start = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _blocking) != 0 && Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(2)) // pairs with BlockingGuard
        {
            spinner.SpinOnce();
        }

        // Then the async waiter thread: it ends every parked async wait with ObjectDisposedException (giving back
        // their waiter counts) and exits. After the wait above no caller can start another (they see _disposed),
        // and after this no thread reads the mapping for an async wait.
        bool waiterStopped = StopWaiter();
        Agents.Unregister();
        if (waiterStopped)
        {
            _mapping.Dispose();
        }

        // else: a waiter thread that did not stop within 2 s may still read the words; the mapping stays (leaked)
        // rather than fault under it.
    }

    internal void ThrowIfDisposed()
    {
        // Acquire; pairs with the Interlocked.Exchange in Dispose (best effort: Dispose must not race with use).
        if (Volatile.Read(ref _disposed) != 0)
        {
            ThrowDisposed();
        }
    }

    internal BlockingGuard EnterBlocking()
    {
        Interlocked.Increment(ref _blocking); // full fence: Dispose either sees us or we see its flag below
        if (Volatile.Read(ref _disposed) != 0) // after our full-fence increment: pairs with Dispose's Exchange
        {
            Interlocked.Decrement(ref _blocking); // full fence; Dispose's poll sees it
            ThrowDisposed();
        }

        return new BlockingGuard(this);
    }

    internal static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "Timeout must be non-negative or Timeout.InfiniteTimeSpan.");
        }
    }

    internal static TimeSpan Remaining(TimeSpan timeout, long startTimestamp) =>
        timeout == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : timeout - Stopwatch.GetElapsedTime(startTimestamp);

    private static SharedRegion CreateNew(string name, string path, FileStream stream, RegionGeometry geometry)
    {
        MappedRegionFile? mapping = null;
        try
        {
            SpaceReservation.Reserve(stream, geometry.TotalBytes, path, "region", "set SharedRegionOptions.Directory to a folder with room");
            mapping = new MappedRegionFile(stream, geometry.TotalBytes);
            byte* b = mapping.Base;
            geometry.WriteHeaderBody(b, Environment.ProcessId, ProcessIdentity.SelfStartTime);
            // SAFETY: offset 8 is inside the mapped header; 4-byte aligned.
            // Release: publishes the header body (and the zeroed sections) to openers; pairs with the acquire
            // load of LayoutVersion in OpenExisting.
            Volatile.Write(ref Unsafe.AsRef<int>(b + RegionLayout.LayoutVersionOffset), RegionLayout.LayoutVersion);
            return new SharedRegion(name, path, mapping, geometry);
        }
        catch
        {
            mapping?.Dispose();
            stream.Dispose();
            File.Delete(path); // never leave a half-made region behind when we can help it
            throw;
        }
        finally
        {
            stream.Dispose(); // the mapping keeps its own reference to the file
        }
    }

    private static SharedRegion OpenExisting(string name, string path, TimeSpan readyTimeout)
    {
        using var stream = RegularFile.OpenExisting(path, "Region file");
        WaitUntilReady(stream, path, readyTimeout);
        long length = stream.Length;
        var mapping = new MappedRegionFile(stream, length);
        try
        {
            // SAFETY: the file is at least HeaderBytes long (checked in WaitUntilReady) and mapped whole.
            // Acquire: pairs with the creator's release store of LayoutVersion; the header body reads follow it.
            int version = Volatile.Read(ref Unsafe.AsRef<int>(mapping.Base + RegionLayout.LayoutVersionOffset));
            CheckVersion(version, path);
            RegionGeometry geometry = RegionGeometry.FromHeader(mapping.Base, length, path);
            return new SharedRegion(name, path, mapping, geometry);
        }
        catch
        {
            mapping.Dispose();
            throw;
        }
    }

    private static void WaitUntilReady(FileStream stream, string path, TimeSpan readyTimeout)
    {
        Span<byte> header = stackalloc byte[RegionLayout.HeaderBytes];
        long start = Stopwatch.GetTimestamp();
        var spinner = new SpinWait();
        while (true)
        {
            int read = RandomAccess.Read(stream.SafeFileHandle, header, 0);
            ulong magic = read >= 8 ? MemoryMarshal.Read<ulong>(header) : 0;
            int version = read >= 12 ? MemoryMarshal.Read<int>(header[RegionLayout.LayoutVersionOffset..]) : 0;
            if (magic != 0 && magic != RegionLayout.Magic)
            {
                throw new SharedRegionFormatException(
                    $"'{path}' is not a shared region: wrong magic 0x{magic:X16} (expected 0x{RegionLayout.Magic:X16}). Delete it or choose another name.");
            }

            if (version != 0 && magic == RegionLayout.Magic)
            {
                CheckVersion(version, path);
                if (read < RegionLayout.HeaderBytes)
                {
                    throw new SharedRegionFormatException(
                        $"Region '{path}' is truncated: {read} bytes, shorter than its {RegionLayout.HeaderBytes}-byte header. Delete it and create it again.");
                }

                return;
            }

            if (Stopwatch.GetElapsedTime(start) > readyTimeout)
            {
                string detail = read < RegionLayout.HeaderBytes ? $"the file has only {read} bytes" : "its layout version is still 0";
                throw new SharedRegionFormatException(
                    $"Region '{path}' never became ready within {readyTimeout.TotalSeconds:0.#} s ({detail}): its creator probably died while creating it. Delete it with SharedRegion.Delete and create it again.");
            }

            spinner.SpinOnce(); // spins, then yields, then sleeps 1 ms between polls
        }
    }

    private static void CheckVersion(int version, string path)
    {
        int major = version >>> 16;
        if (major != RegionLayout.MajorVersion)
        {
            throw new SharedRegionFormatException(
                $"Region '{path}' has layout version {major}.{version & 0xFFFF}; this library reads major version {RegionLayout.MajorVersion} only. Use a matching library version, or delete the region.");
        }
    }

    private byte* QueueBody(int index) =>
        Base + Geometry.SectionOffsets[RegionLayout.QueuesSection]
        + ((long)Geometry.MaxQueues * DirectoryEntryLayout.EntryBytes)
        + (index * Geometry.QueueBodyBytes);

    private void InitializeQueue(int index, byte* entry)
    {
        // Called by the process that creates the queue, before the directory entry is published as ready.
        SharedMessageQueue.Initialize(QueueBody(index), Geometry.QueueCapacity, Geometry.MessageBytes);
    }

    private static void ThrowDisposed() => throw new ObjectDisposedException(nameof(SharedRegion));

    /// <summary>Counts a thread that may park on a futex inside the mapping, so Dispose waits for it.</summary>
    internal readonly struct BlockingGuard : IDisposable
    {
        private readonly SharedRegion _region;

        internal BlockingGuard(SharedRegion region) => _region = region;

        public void Dispose() => Interlocked.Decrement(ref _region._blocking); // full fence; pairs with Dispose's poll
    }
}
