using Unjucks.Cli.Adapters;
using Unjucks.Cli.Engine;
using Unjucks.SharedMemory;

namespace Unjucks.Cli.Tests;

/// <summary>RegionInspector over real regions: listing, snapshots, read-only inspection, unreadable files.</summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // shared regions are Linux-only (futex, flock, /proc)
internal sealed class InspectRegionInspectorTests : InspectTestBase
{
    [Test]
    public void SnapshotShowsTheLiveAgentQueuesLocksStateSlotsAndChangeSequence()
    {
        SharedRegion region = CreateRegion("job-live");
        int slot = region.Agents.Register();
        region.Agents.AddOperations(5);
        region.State.Write("a", [1]);
        region.State.Write("b", [2]);
        long versionOfC = region.State.Write("c", [3]);
        Assert.That(region.State.TryDelete("c", versionOfC), Is.True); // a deleted key keeps its slot
        SharedMessageQueue queue = region.Queue("work");
        Assert.That(queue.TryEnqueue([1, 2]) && queue.TryEnqueue([3]), Is.True);
        region.Queue("empty");
        using SharedLockHandle held = region.Lock("config").Acquire(TimeSpan.FromSeconds(10));
        region.Lock("idle");

        RegionSnapshot? snapshot = Inspector().Snapshot("job-live");

        Assert.That(snapshot, Is.Not.Null);
        RegionAgent agent = snapshot!.Agents.Single();
        Assert.Multiple(() =>
        {
            Assert.That(snapshot.Region.Name, Is.EqualTo("job-live"));
            Assert.That(snapshot.Region.Path, Is.EqualTo(RegionPath("job-live")));
            Assert.That(snapshot.Region.CreatorPid, Is.EqualTo(Environment.ProcessId));
            Assert.That(snapshot.Region.CreatorAlive, Is.True);
            Assert.That((snapshot.Region.AgentsAlive, snapshot.Region.AgentSlots), Is.EqualTo((1, 1)));
            Assert.That(snapshot.Region.Problem, Is.Null);
            Assert.That(snapshot.Region.SizeBytes, Is.EqualTo(new FileInfo(RegionPath("job-live")).Length));
            Assert.That((agent.Slot, agent.Pid, agent.Alive, agent.State, agent.TasksDone), Is.EqualTo((slot, Environment.ProcessId, true, "active", 5L)));
            Assert.That(snapshot.Queues, Is.EqualTo(new[] { new QueueDepth("work", 2, 4), new QueueDepth("empty", 0, 4) }));
            Assert.That(snapshot.Locks, Is.EqualTo(new[] { new LockOwner("config", Environment.ProcessId, true), new LockOwner("idle", 0, false) }));
            Assert.That((snapshot.StateSlotsUsed, snapshot.StateSlotsTotal), Is.EqualTo((3, 16)));
            Assert.That(snapshot.ChangeSequence, Is.EqualTo(4), "three writes and one delete");
        });
    }

    [Test]
    public void InspectingRegistersNothingAndChangesNoByte()
    {
        SharedRegion region = CreateRegion("quiet");
        region.Agents.Register();
        region.State.Write("k", [7]);
        region.Queue("q").TryEnqueue([1]);
        region.Lock("l");
        var before = FileState("quiet");

        var inspector = Inspector();
        var listed = inspector.ListRegions();
        var snapshot = inspector.Snapshot("quiet");
        var removed = inspector.CleanupDeadRegions("quiet");

        var after = FileState("quiet");
        Assert.Multiple(() =>
        {
            Assert.That(listed.Single().AgentSlots, Is.EqualTo(1));
            Assert.That(snapshot!.Agents, Has.Count.EqualTo(1), "the inspector did not register itself");
            Assert.That(removed, Is.Empty, "a live region is never removed");
            Assert.That(after.AgentFiles, Is.EqualTo(before.AgentFiles), "no agent lock file created");
            int firstDifference = Enumerable.Range(0, Math.Min(before.Bytes.Length, after.Bytes.Length)).FirstOrDefault(i => before.Bytes[i] != after.Bytes[i], -1);
            Assert.That((after.Bytes.Length, firstDifference), Is.EqualTo((before.Bytes.Length, -1)), "the region file changed at byte offset shown");
            Assert.That(region.Agents.GetAgents(), Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void ListShowsEveryRegionOldestFirstWithLivenessAndAChildAgent()
    {
        CreateRegion("first");
        Thread.Sleep(5); // distinct creation times (milliseconds in the header)
        CreateRegion("second");
        using var child = StartAgent("second");

        var regions = Inspector().ListRegions();

        Assert.Multiple(() =>
        {
            Assert.That(regions.Select(r => r.Name), Is.EqualTo(new[] { "first", "second" }));
            Assert.That(regions.Select(r => (r.CreatorPid, r.CreatorAlive, r.AgentsAlive, r.AgentSlots, r.IsDead)),
                Is.EqualTo(new[] { (Environment.ProcessId, true, 0, 0, false), (Environment.ProcessId, true, 1, 1, false) }));
        });

        var agent = Inspector().Snapshot("second")!.Agents.Single();
        Assert.That((agent.Slot, agent.Pid, agent.Alive, agent.State), Is.EqualTo((child.Slot, child.Id, true, "active")));
    }

    [Test]
    public void AKilledAgentShowsDeadAndTheLockItHeldShowsADeadOwner()
    {
        CreateRegion("crash");
        using var child = StartAgent("crash");
        SharedRegion mine = OpenRegion("crash");
        child.Kill();

        var snapshot = Inspector().Snapshot("crash")!;

        var agent = snapshot.Agents.Single();
        Assert.Multiple(() =>
        {
            Assert.That((agent.Pid, agent.Alive, agent.State), Is.EqualTo((child.Id, false, "dead")));
            Assert.That((snapshot.Region.AgentsAlive, snapshot.Region.AgentSlots), Is.EqualTo((0, 1)));
            Assert.That(mine.Agents.IsRegistered, Is.False);
        });
    }

    [Test]
    public void HeartbeatAgeIsTimeSinceRegistrationWhenNeverBeatAndTimeSinceTheCounterLastMovedWhenWatched()
    {
        SharedRegion region = CreateRegion("beats");
        region.Agents.Register();
        DateTimeOffset registeredAt = region.Agents.GetRegisteredAt(region.Agents.CurrentSlot);
        var clock = new ManualClock(registeredAt + TimeSpan.FromSeconds(3));
        var inspector = new RegionInspector(RegionDirectory, clock);

        TimeSpan neverBeat = inspector.Snapshot("beats")!.Agents.Single().HeartbeatAge;
        region.Agents.Heartbeat();
        clock.Advance(TimeSpan.FromSeconds(1));
        TimeSpan justMoved = inspector.Snapshot("beats")!.Agents.Single().HeartbeatAge;
        clock.Advance(TimeSpan.FromSeconds(2));
        TimeSpan stillAfter2s = inspector.Snapshot("beats")!.Agents.Single().HeartbeatAge;

        Assert.That((neverBeat, justMoved, stillAfter2s), Is.EqualTo((TimeSpan.FromSeconds(3), TimeSpan.Zero, TimeSpan.FromSeconds(2))));
    }

    [Test]
    public void SnapshotOfAnUnknownNameIsNullAndAMissingDirectoryListsNothing()
    {
        string missing = Path.Combine(RegionDirectory, "not-there");
        Assert.Multiple(() =>
        {
            Assert.That(Inspector().Snapshot("nobody"), Is.Null);
            Assert.That(new RegionInspector(missing).ListRegions(), Is.Empty);
            Assert.That(Directory.Exists(missing), Is.False, "listing creates no directory");
        });
    }

    [TestCase("random", "wrong magic")]
    [TestCase("empty", "never became ready")]
    [TestCase("other-major", "layout version 9.0")]
    [TestCase("truncated", "truncated")]
    public void AnUnreadableFileIsReportedInTheListAndSnapshotSaysWhy(string kind, string expected)
    {
        CreateRegion("good");
        string path = RegionPath("bad");
        WriteBadRegion(path, kind);

        var inspector = Inspector();
        var regions = inspector.ListRegions();
        var error = Assert.Throws<CliException>(() => inspector.Snapshot("bad"));

        RegionInfo bad = regions.Single(r => r.Name == "bad");
        Assert.Multiple(() =>
        {
            Assert.That(bad.Problem, Does.Contain(expected));
            Assert.That((bad.CreatorPid, bad.AgentsAlive, bad.Path), Is.EqualTo((0, 0, path)));
            Assert.That(regions.Single(r => r.Name == "good").Problem, Is.Null, "other regions unaffected");
            Assert.That(error!.Message, Does.StartWith("region 'bad' cannot be inspected:").And.Contain(expected));
        });
    }

    [Test]
    public void AFileWritableByOthersIsReportedNotOpened()
    {
        string path = RegionPath("loose");
        File.WriteAllBytes(path, new byte[4096]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite);

        RegionInfo loose = Inspector().ListRegions().Single();

        Assert.That(loose.Problem, Does.Contain("writable by group or others"));
    }

    /// <summary>Writes a region file that is broken in the way <paramref name="kind"/> says (mode 0600).</summary>
    internal static void WriteBadRegion(string path, string kind)
    {
        byte[] bytes = kind switch
        {
            "random" => RandomBytes(8192),
            "empty" => [],
            "other-major" => Header(version: (9 << 16) | 0, length: 8192),
            "truncated" => Header(version: 2 << 16, length: 100),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        File.WriteAllBytes(path, bytes);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(42).NextBytes(bytes);
        bytes[0] = (byte)'X'; // never our magic by chance
        return bytes;
    }

    private static byte[] Header(int version, int length)
    {
        var bytes = new byte[length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 0x52534B43554A4E55UL); // "UNJUCKSR"
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), version);
        return bytes;
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public void Advance(TimeSpan by) => _now += by;

    public override DateTimeOffset GetUtcNow() => _now;
}
