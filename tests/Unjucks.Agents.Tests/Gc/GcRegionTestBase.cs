using Unjucks.Agents.Gc;
using Unjucks.SharedMemory;

namespace Unjucks.Agents.Tests.Gc;

/// <summary>Gives each test a private region directory (0700) and a region; removes both and any children afterwards.</summary>
public abstract class GcRegionTestBase
{
    /// <summary>Hang guard for any wait in these tests; never asserted as a duration.</summary>
    protected static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private readonly List<GcTestAgentProcess> _children = [];
    private readonly List<SharedRegion> _regions = [];

    protected string Directory { get; private set; } = "";

    protected string RegionName { get; private set; } = "";

    protected SharedRegion Region { get; private set; } = null!;

    protected SharedRegionOptions Options => new()
    {
        Directory = Directory,
        StateSlots = 64,
        MaxKeyBytes = 32,
        MaxValueBytes = 64,
        MaxQueues = 1,
        QueueCapacity = 2,
        MessageBytes = 16,
        MaxAgents = 16,
        MaxLocks = 1,
    };

    [SetUp]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void CreateRegion()
    {
        string root = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        Directory = Path.Combine(root, "unjucks-gc-test-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        RegionName = "gc-" + Guid.NewGuid().ToString("N");
        Region = OpenRegion();
    }

    [TearDown]
    public void RemoveRegion()
    {
        foreach (GcTestAgentProcess child in _children)
        {
            child.Dispose();
        }

        foreach (SharedRegion region in _regions)
        {
            region.Dispose();
        }

        Region.Dispose(); // also in _regions; Dispose is idempotent
        _children.Clear();
        _regions.Clear();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>Another instance (another registration) on the test's region; disposed at tear-down (again: idempotent).</summary>
    protected SharedRegion OpenRegion()
    {
        var region = SharedRegion.CreateOrOpen(RegionName, Options);
        _regions.Add(region);
        return region;
    }

    private protected async Task<GcTestAgentProcess> StartAgentAsync(bool cooperative)
    {
        var child = await GcTestAgentProcess.StartLoopAsync(Directory, RegionName, cooperative);
        _children.Add(child);
        return child;
    }

    /// <summary>Waits until the child's loop has run (so it is past start-up and at its safe points).</summary>
    private protected static async Task<long> WaitForIterationsAsync(GcTestAgentProcess child, long moreThan)
    {
        using var guard = new CancellationTokenSource(HangGuard);
        while (true)
        {
            var (iterations, _) = await child.IterAsync();
            if (iterations > moreThan)
            {
                return iterations;
            }

            await Task.Delay(20, guard.Token);
        }
    }

    /// <summary>Waits (on the change sequence) until the ack key of <paramref name="slot"/> satisfies <paramref name="done"/>.</summary>
    internal GcPauseAck WaitForAck(int slot, Func<GcPauseAck, bool> done)
    {
        string key = GcPauseLayout.AckKey(slot);
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            long sequence = Region.ChangeSequence;
            if (GcRegionRecords.TryReadAck(Region, key, out GcPauseAck ack) && done(ack))
            {
                return ack;
            }

            Assert.That(System.Diagnostics.Stopwatch.GetElapsedTime(start), Is.LessThan(HangGuard), $"hang guard: the ack of slot {slot} never satisfied the condition");
            Region.WaitForChange(sequence, TimeSpan.FromMilliseconds(100));
        }
    }

    /// <summary>Writes a Requested record as the coordinator <paramref name="coordinator"/> (a registration of this test process).</summary>
    internal static long WriteRequest(SharedRegion coordinator, TimeSpan budget)
    {
        int slot = coordinator.Agents.CurrentSlot;
        AgentInfo me = coordinator.Agents.GetInfo(slot);
        bool present = GcRegionRecords.TryReadRequest(coordinator, out _, out long version);
        var request = new GcPauseRequest(GcRequestState.Requested, version + 1, me.ProcessId, slot, me.Generation, (int)budget.TotalMilliseconds);
        Assert.That(GcRegionRecords.TryWriteRequest(coordinator, request, present ? version : 0, out long written), Is.True, "request write");
        return written;
    }
}
